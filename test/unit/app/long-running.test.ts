import { setFlagsFromString } from "node:v8";
import { collectGarbage, collectGarbageWhenIdle, keepCodeUnoptimized } from "../../../src/app/long-running";

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

describe("keepCodeUnoptimized", () => {
  /** V8's optimization status bits (runtime-test.cc): kTurboFanned = 1 << 6. */
  const TURBOFANNED = 1 << 6;
  /** A fresh function, asked to be optimized on its next call; its status after that call. */
  const statusAfterOptimizing = (): number => {
    setFlagsFromString("--allow-natives-syntax");
    const probe = new Function(
      `const f = (a, b) => a * b + 1;
       f(1, 2); f(3, 4);
       %PrepareFunctionForOptimization(f);
       f(5, 6);
       %OptimizeFunctionOnNextCall(f);
       f(7, 8);
       return %GetOptimizationStatus(f);`,
    ) as () => number;
    return probe();
  };

  afterAll(() => {
    // This Jest worker goes on with other files: give it its optimizer back.
    setFlagsFromString("--turbofan");
    setFlagsFromString("--no-allow-natives-syntax");
  });

  it("turns V8's optimizing compiler off at run time: a function asked to optimize stays unoptimized, as it would not without the call", () => {
    expect(statusAfterOptimizing() & TURBOFANNED).toBe(TURBOFANNED);
    keepCodeUnoptimized();
    expect(statusAfterOptimizing() & TURBOFANNED).toBe(0);
  });
});
