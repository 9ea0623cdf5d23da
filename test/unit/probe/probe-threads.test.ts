import { probeClaimed, probeThreads } from "../../../src/probe/probe-threads";
import type { Prober } from "../../../src/probe/prober";
import type { Target } from "../../../src/core/target";

describe("probeThreads", () => {
  it("is one thread unless RDPCERT_PROBE_THREADS asks for more, within the concurrency and the list", () => {
    expect(probeThreads(10_000, 512, undefined)).toBe(1);
    expect(probeThreads(10_000, 512, "2")).toBe(2);
    expect(probeThreads(10, 512, "3")).toBe(3);
    expect(probeThreads(10_000, 2, "3")).toBe(2);
    expect(probeThreads(2, 512, "3")).toBe(2);
    expect(probeThreads(10_000, 512, "0")).toBe(1);
    expect(probeThreads(10_000, 512, "many")).toBe(1);
  });
});

describe("probeClaimed", () => {
  it("lanes of two threads sharing one counter probe every target once, each result at its index", async () => {
    const targets: Target[] = Array.from({ length: 50 }, (_, i) => ({ input: `h${i}`, host: `h${i}`, port: 3389 }));
    const claimed = new Int32Array(new SharedArrayBuffer(4));
    const seen: number[] = [];
    let inFlight = 0;
    let most = 0;
    const prober: Prober = async (target) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return { target } as Awaited<ReturnType<Prober>>;
    };
    const onResult = (index: number, result: Awaited<ReturnType<Prober>>): void => {
      expect(result.target).toBe(targets[index]);
      seen.push(index);
    };
    await Promise.all([
      probeClaimed({ targets, options: { timeoutMs: 1 }, concurrency: 3, claimed }, prober, onResult),
      probeClaimed({ targets, options: { timeoutMs: 1 }, concurrency: 2, claimed }, prober, onResult),
    ]);
    expect(seen.sort((a, b) => a - b)).toEqual(targets.map((_, i) => i));
    expect(most).toBe(5);
  });
});
