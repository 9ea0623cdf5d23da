/**
 * Rotation benchmark: wall time from the start of `rdpcert rotate --yes` to the
 * verified new certificate on a throwaway xrdp, split into key generation,
 * writing, and verification polling (from the command's own --json steps).
 * Baseline in the same run: `rdpcert probe --json` against the same listener,
 * i.e. the cost of starting the CLI and one handshake.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { buildSelfSigned, generateKey } from "../src/core/self-signed";
import { startXrdp } from "./xrdp-server";

const CLI = join(__dirname, "..", "src", "cli", "main.js");
const DAY = 86_400_000;

interface Step {
  step: string;
  ms: number;
  detail: string | null;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export interface RotateBenchResult {
  readonly runs: number;
  readonly totalMs: number;
  readonly keygenMs: number;
  readonly writeMs: number;
  readonly verifyMs: number;
  readonly backupMs: number;
  readonly probeBaselineMs: number;
  readonly line: string;
}

export async function benchRotate(runs = Number(process.env.BENCH_ROTATE_RUNS ?? 10)): Promise<RotateBenchResult> {
  const now = Date.now();
  const server = await startXrdp(
    buildSelfSigned(generateKey(), { commonName: "bench-rotate", notBefore: new Date(now - 170 * DAY), notAfter: new Date(now + 10 * DAY) }),
  );
  try {
    const state = join(server.dir, "state");
    const totals: number[] = [];
    const keygen: number[] = [];
    const write: number[] = [];
    const verify: number[] = [];
    const backup: number[] = [];
    const probes: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const run = spawnSync(
        process.execPath,
        [CLI, "rotate", "--xrdp-ini", server.iniPath, "--state-dir", state, "--yes", "--no-restart", "--force", "--json"],
        { encoding: "utf8" },
      );
      const elapsed = performance.now() - started;
      const json = JSON.parse(run.stdout) as { outcome: string; steps: Step[] };
      if (json.outcome !== "rotated") throw new Error(`rotate run ${i} ended ${json.outcome}: ${run.stdout}${run.stderr}`);
      const replace = json.steps.find((s) => s.step === "replace")!;
      const generated = Number(/generated in (\d+) ms/.exec(replace.detail ?? "")?.[1] ?? NaN);
      totals.push(elapsed);
      keygen.push(generated);
      write.push(replace.ms - generated);
      verify.push(json.steps.find((s) => s.step === "verify")!.ms);
      backup.push(json.steps.find((s) => s.step === "backup")!.ms);

      const probeStarted = performance.now();
      const probe = spawnSync(process.execPath, [CLI, "probe", `127.0.0.1:${server.port}`, "--json"], { encoding: "utf8" });
      probes.push(performance.now() - probeStarted);
      if (probe.status !== 0) throw new Error(`probe baseline failed: ${probe.stdout}${probe.stderr}`);
    }
    const result = {
      runs,
      totalMs: median(totals),
      keygenMs: median(keygen),
      writeMs: median(write),
      verifyMs: median(verify),
      backupMs: median(backup),
      probeBaselineMs: median(probes),
    };
    const verdict = result.totalMs < 1000 ? "met" : "MISSED";
    const line =
      `rotate --yes to verified new certificate (xrdp, ${runs} runs, median): ${result.totalMs.toFixed(0)} ms total ` +
      `(key generation + signing ${result.keygenMs.toFixed(0)} ms, writing ${result.writeMs.toFixed(1)} ms, backup ${result.backupMs.toFixed(1)} ms, ` +
      `verification polling ${result.verifyMs.toFixed(1)} ms); ${(result.totalMs / result.probeBaselineMs).toFixed(2)}x the probe CLI baseline ` +
      `(${result.probeBaselineMs.toFixed(0)} ms); target < 1000 ms: ${verdict}`;
    return { ...result, line };
  } finally {
    await server.stop();
  }
}

if (require.main === module) {
  benchRotate().then(
    (r) => process.stdout.write(`${r.line}\n`),
    (error: Error) => {
      process.stderr.write(`bench-rotate: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
