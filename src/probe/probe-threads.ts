import { join } from "node:path";
import type * as WorkerThreads from "node:worker_threads";
import type { Target } from "../core/target";
import { probeAll } from "./probe-all";
import { type ProbeOptions, type ProbeResult, type Prober, probe } from "./prober";

/**
 * A long target list probed by several threads: one handshake costs
 * Node about 1 ms of CPU, so a fleet scan on one thread is CPU-bound long before
 * the network is. Every thread claims the next target from one shared counter
 * (no thread idles while another has a queue), results land at their target's
 * index, so the order, the deadlines and the total concurrency are those of
 * probeAll on one thread.
 */

/** What one thread is given: the worker's workerData. */
export interface ThreadShare {
  readonly targets: readonly Target[];
  readonly options: ProbeOptions;
  /** This thread's probes in flight; the threads' shares add up to --concurrency. */
  readonly concurrency: number;
  /** Int32Array over a SharedArrayBuffer: [0] is the next unclaimed index. */
  readonly claimed: Int32Array;
}

/**
 * Threads for a scan: RDPCERT_PROBE_THREADS (default 1), never more than the
 * concurrency or the list. Not more by default: on the 2-core benchmark machine,
 * shared with the simulated fleet and other work, a second thread cost 10-15%
 * more CPU and 35 MB more peak RSS without a shorter scan (benchmark fleet-probe);
 * it pays only where cores are idle while one thread is CPU-bound.
 */
export function probeThreads(targetCount: number, concurrency: number, setting = process.env.RDPCERT_PROBE_THREADS): number {
  const asked = setting !== undefined && /^\d+$/.test(setting.trim()) ? Number(setting) : 1;
  return Math.max(1, Math.min(asked, concurrency, targetCount));
}

/** Probes the targets claimed one at a time from `share.claimed`, with `share.concurrency` in flight. */
export async function probeClaimed(share: ThreadShare, prober: Prober, onResult: (index: number, result: ProbeResult) => void): Promise<void> {
  const lane = async (): Promise<void> => {
    for (;;) {
      const index = Atomics.add(share.claimed, 0, 1);
      if (index >= share.targets.length) return;
      onResult(index, await prober(share.targets[index]!, share.options));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, share.concurrency) }, lane));
}

/** probeAll on `threads` threads: this one and threads - 1 workers (src/probe/probe-worker.ts). */
export async function probeAllThreaded(
  targets: readonly Target[],
  options: ProbeOptions,
  concurrency: number,
  threads: number,
  onResult?: (index: number, result: ProbeResult) => void,
): Promise<ProbeResult[]> {
  if (threads <= 1) return probeAll(targets, options, concurrency, probe, onResult);
  const results = new Array<ProbeResult | undefined>(targets.length);
  const claimed = new Int32Array(new SharedArrayBuffer(4));
  const store = (index: number, result: ProbeResult): void => {
    results[index] = result;
    onResult?.(index, result);
  };
  const lanes = Array.from({ length: threads }, (_, t) => Math.floor(concurrency / threads) + (t < concurrency % threads ? 1 : 0));
  await Promise.all([
    probeClaimed({ targets, options, concurrency: lanes[0]!, claimed }, probe, store),
    ...lanes.slice(1).map((lanesOfWorker) => inWorker({ targets, options, concurrency: lanesOfWorker, claimed }, store)),
  ]);
  // A worker that died (a bug) leaves the targets it had claimed without a result: probe them here.
  const missing = targets.flatMap((_, i) => (results[i] === undefined ? [i] : []));
  if (missing.length > 0) {
    const retried = await probeAll(
      missing.map((i) => targets[i]!),
      options,
      concurrency,
      probe,
    );
    missing.forEach((index, k) => store(index, retried[k]!));
  }
  return results as ProbeResult[];
}

function inWorker(share: ThreadShare, store: (index: number, result: ProbeResult) => void): Promise<void> {
  return new Promise((resolve) => {
    // SHARE_ENV: the prober's RES_OPTIONS (the resolver's deadline) must reach the process environment.
    // A young generation of 16 MB, not V8's 48: in a 10,000-listener scan the worker's
    // peak fell by 10 MB for about 3% more CPU (benchmark fleet-probe).
    // `../probe/`: this code runs from dist/src/probe/ or inside the bundle dist/src/cli/main.js (one level deep too).
    // node:worker_threads only with a second thread: a one-thread scan (the default) starts without it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const threads = require("node:worker_threads") as typeof WorkerThreads;
    const worker = new threads.Worker(join(__dirname, "..", "probe", "probe-worker.js"), {
      workerData: share,
      env: threads.SHARE_ENV,
      resourceLimits: { maxYoungGenerationSizeMb: 16 },
    });
    worker.on("message", (batch: ReadonlyArray<readonly [number, ProbeResult]> | "done") => {
      if (batch === "done") return resolve();
      for (const [index, result] of batch) store(index, revived(result));
    });
    worker.once("error", () => undefined);
    worker.once("exit", () => resolve());
  });
}

/** Structured clone turns a Buffer into a plain Uint8Array; everything else in a result (Dates included) survives. */
function revived(result: ProbeResult): ProbeResult {
  const der = result.certificateDer as Uint8Array | null;
  return der && !Buffer.isBuffer(der) ? { ...result, certificateDer: Buffer.from(der.buffer, der.byteOffset, der.byteLength) } : result;
}
