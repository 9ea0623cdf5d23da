import { collectGarbage, collectGarbageWhenIdle } from "../../../src/app/long-running";

describe("collectGarbage", () => {
  it("runs full collections in a process started without --expose-gc: an object only weakly held is gone after it", async () => {
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe("undefined");
    const weak = (() => new WeakRef({ payload: Buffer.alloc(1024) }))();
    // A WeakRef keeps its target alive until the current job ends.
    await new Promise((resolve) => setImmediate(resolve));
    expect(() => collectGarbage()).not.toThrow();
    expect(weak.deref()).toBeUndefined();
  });

  it("when idle: once, the delay after the last call", () => {
    jest.useFakeTimers();
    try {
      const whenIdle = collectGarbageWhenIdle(1000);
      whenIdle();
      jest.advanceTimersByTime(900);
      whenIdle();
      jest.advanceTimersByTime(900);
      expect(jest.getTimerCount()).toBe(1);
      jest.advanceTimersByTime(200);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
