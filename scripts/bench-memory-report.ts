/**
 * Benchmark-only preload (`node --require dist/scripts/bench-memory-report.js`):
 * on SIGUSR2, writes the process's own view of its memory as one JSON line to
 * the file named by BENCH_MEMORY_REPORT. Only the schedule-idle benchmark loads
 * it, into the daemon it starts; the rdpcert bin never does, so production has
 * no such signal handler.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { getHeapStatistics, writeHeapSnapshot } from "node:v8";

const file = process.env.BENCH_MEMORY_REPORT;
const snapshots = process.env.BENCH_HEAP_SNAPSHOTS;
let reports = 0;
if (file) {
  process.on("SIGUSR2", () => {
    // Investigation: a heap snapshot at every report, to diff (BENCH_HEAP_SNAPSHOTS=DIR).
    if (snapshots) writeHeapSnapshot(join(snapshots, `${String(reports++).padStart(3, "0")}.heapsnapshot`));
    const usage = process.memoryUsage();
    const heap = getHeapStatistics();
    const resources = process.getActiveResourcesInfo();
    writeFileSync(
      file,
      `${JSON.stringify({
        rss: usage.rss,
        heapTotal: usage.heapTotal,
        heapUsed: usage.heapUsed,
        external: usage.external,
        arrayBuffers: usage.arrayBuffers,
        // V8's own malloc (compiler zones, code space bookkeeping), outside the JS heap.
        mallocedMemory: heap.malloced_memory,
        resources: resources.length,
      })}\n`,
    );
  });
}
