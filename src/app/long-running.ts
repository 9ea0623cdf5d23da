import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * For the processes that stay up (`schedule`, `exporter`), the idle RSS
 * under 80 MB and flat.
 *
 * V8 grows the young generation's semi-spaces from 1 MB to 16 MB each after a
 * burst of allocation and keeps them committed while the process idles (about
 * 30 MB of a daemon's resident memory, none of it live objects). V8 reads
 * --semi-space-growth-factor each time it would grow them, so setting it to 1 at
 * run time keeps them at 1 MB, unlike --max-semi-space-size, which it reads only
 * when the heap is created. The price is more frequent scavenges, which these
 * processes can afford (benchmarks exporter and schedule-idle). Called first
 * thing in the command's action, before the heavy modules load.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString("--semi-space-growth-factor=1");
}

/**
 * For `schedule` alone: no optimizing compiler (V8's Turbofan, and Maglev where
 * a later Node enables it); functions run in the interpreter and the Sparkplug
 * baseline tier. Over hundreds of passes V8 kept optimizing more functions as
 * they got hot: the optimized code grew the heap (committed 17.5 -> 19.2 MB
 * over 1,000 passes) and the compiler's scratch memory, allocated and freed on
 * V8's worker threads, stayed with glibc's per-thread arenas (0.1 -> 1 MB
 * each), so idle RSS grew about 430 kB per 100 passes, with live memory
 * (malloc in use, V8 heap used, descriptors) flat. Without the optimizing tier
 * it grows under 50 kB per 100 passes, at no measurable cost per pass (the
 * pass waits on the network and on files; benchmark schedule-idle). Set at run
 * time, first thing in the command's action; the exporter, which probes
 * thousands of listeners, keeps the optimizer.
 */
export function keepCodeUnoptimized(): void {
  setFlagsFromString("--no-turbofan");
  setFlagsFromString("--no-maglev");
}

let gc: (() => void) | undefined;

/**
 * Full garbage collections, for a daemon that has just gone idle. A pass
 * promotes its short-lived objects to the old generation, where they wait for
 * the next major GC; an idle process allocates nothing, so V8 never runs it,
 * and the daemon idled at 80-110 MB depending on where in that cycle its last
 * pass ended (live heap 11-15 MB). Two, as V8's own memory reducer does: the
 * second compacts the pages the first left sparse (old space 17 -> 10 MB
 * committed for 6 MB live, in a test). `gc` is exposed in a fresh context, as
 * Jest's leak detector does, since the process was not started with --expose-gc.
 */
export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
  gc();
}

/** collectGarbage() `delayMs` after the last call, unless called again meanwhile. */
export function collectGarbageWhenIdle(delayMs: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(collectGarbage, delayMs);
    timer.unref();
  };
}
