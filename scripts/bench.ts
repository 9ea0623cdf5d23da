/**
 * `npm run bench`: every benchmark prints its figure against a baseline
 * measured in the same run (machines here are shared and noisy; no absolute
 * thresholds). Exits non-zero only when a benchmark could not run.
 */
import { benchProbeCli, benchProbeThroughput, benchStatusCli } from "./bench-probe";
import { benchRotate } from "./bench-rotate";
import { benchSchedule } from "./bench-schedule";
import { benchExporter, benchFleetProbe, benchScheduleIdle, fdLimitNote } from "./bench-fleet";

async function main(): Promise<number> {
  const only = process.argv[2];
  const benches: [string, () => Promise<{ line: string }>][] = [
    ["probe-cli", () => benchProbeCli()],
    ["status-cli", () => benchStatusCli()],
    ["probe-throughput", () => benchProbeThroughput()],
    ["rotate", () => benchRotate()],
    ["schedule", () => benchSchedule(Number(process.env.BENCH_CYCLES ?? 2000))],
    ["fleet-probe", async () => ({ line: `${fdLimitNote()}\n${(await benchFleetProbe()).line}` })],
    ["exporter", () => benchExporter()],
    ["schedule-idle", () => benchScheduleIdle()],
  ];
  let failed = 0;
  for (const [name, bench] of benches) {
    if (only && only !== name) continue;
    try {
      process.stdout.write(`${(await bench()).line}\n`);
    } catch (error) {
      failed++;
      process.stdout.write(`${name}: could not run: ${(error as Error).message}\n`);
    }
  }
  return failed ? 1 : 0;
}

main().then((code) => (process.exitCode = code));
