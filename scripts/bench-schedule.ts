/**
 * Daemon memory benchmark: thousands of run passes through the real code path
 * (`executePass`, what `rdpcert schedule` calls on every tick: config-driven
 * wiring, logger with its JSON-lines file, inspection, probe, verdict) against
 * a throwaway xrdp. Reports RSS and heap after a warm-up and at the end; the
 * baseline is the same process after the warm-up, so the ratio shows growth.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { defaultConfig } from "../src/core/config";
import { buildSelfSigned, generateKey } from "../src/core/self-signed";
import { executePass } from "../src/app/run";
import { startXrdp } from "./xrdp-server";

const DAY = 86_400_000;
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function settle(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

export interface ScheduleBenchResult {
  readonly line: string;
  readonly rssGrowth: number;
}

export async function benchSchedule(cycles = Number(process.env.BENCH_CYCLES ?? 2000)): Promise<ScheduleBenchResult> {
  const now = Date.now();
  const server = await startXrdp(
    buildSelfSigned(generateKey(), { commonName: "bench-schedule", notBefore: new Date(now - DAY), notAfter: new Date(now + 179 * DAY) }),
  );
  const work = mkdtempSync(join(tmpdir(), "rdpcert-bench-schedule-"));
  const config = { ...defaultConfig(), xrdpIni: server.iniPath, stateDir: join(work, "state"), logDir: join(work, "log"), restartCommand: null };
  // The daemon logs every pass to the console; keep the benchmark's own output readable.
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    const pass = async (): Promise<void> => {
      const { result } = await executePass(config, { dryRun: false, quietConsole: true });
      if (result?.exitCode !== 0) throw new Error(`pass ended ${result?.outcome}: ${result?.reason}`);
    };
    // Allocator pools, JIT and caches settle within a few hundred passes; measure after that.
    const warmup = Number(process.env.BENCH_WARMUP ?? 500);
    for (let i = 0; i < warmup; i++) await pass();
    settle();
    const start = process.memoryUsage();
    const started = performance.now();
    for (let i = 0; i < cycles; i++) await pass();
    const elapsed = performance.now() - started;
    settle();
    const end = process.memoryUsage();
    const rssGrowth = end.rss / start.rss;
    const gcNote = (globalThis as { gc?: unknown }).gc ? "" : " (run with --expose-gc for settled figures)";
    const verdict = rssGrowth <= 1.1 ? "flat" : "GROWING";
    const line =
      `schedule daemon memory: ${cycles} run passes (after ${warmup} warm-up) against a throwaway xrdp in ${(elapsed / 1000).toFixed(1)} s (${(elapsed / cycles).toFixed(1)} ms/pass); ` +
      `RSS ${mb(start.rss)} after warm-up -> ${mb(end.rss)} at end (${rssGrowth.toFixed(2)}x), heap ${mb(start.heapUsed)} -> ${mb(end.heapUsed)}: ${verdict}${gcNote}`;
    return { line, rssGrowth };
  } finally {
    process.stderr.write = write;
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchSchedule().then(
    (r) => process.stdout.write(`${r.line}\n`),
    (error: Error) => {
      process.stderr.write(`bench-schedule: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
