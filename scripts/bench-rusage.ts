/**
 * Preloaded (node --require) into a benchmarked process: on exit, writes its own
 * resource usage (peak RSS, user and system CPU) as JSON to $RDPCERT_BENCH_RUSAGE.
 */
import { writeFileSync } from "node:fs";

const path = process.env.RDPCERT_BENCH_RUSAGE;
if (path) {
  process.on("exit", () => {
    const usage = process.resourceUsage();
    writeFileSync(path, JSON.stringify({ maxRssKb: usage.maxRSS, userUs: usage.userCPUTime, systemUs: usage.systemCPUTime }));
  });
}
