import { collectGarbage, collectGarbageWhenIdle } from "../../../src/app/long-running";

describe("collectGarbage", () => {
  it("runs full collections in a process started without --expose-gc", () => {
    expect(() => collectGarbage()).not.toThrow();
    expect(() => collectGarbage()).not.toThrow();
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
