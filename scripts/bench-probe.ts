/**
 * Probe benchmarks, each against a baseline measured in the same run:
 * - whole-process wall time of `rdpcert probe --json` vs the floor script
 *   (bench-floor.ts), interleaved so machine noise hits both alike;
 * - throughput: 200 targets over several throwaway xrdp listeners with
 *   concurrency 32 vs concurrency 1, in-process with probeAll.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { buildSelfSigned, generateKey } from "../src/core/self-signed";
import type { Target } from "../src/core/target";
import { probeAll } from "../src/probe/probe-all";
import { probe } from "../src/probe/prober";
import { type XrdpServer, startXrdp } from "./xrdp-server";

const CLI = join(__dirname, "..", "src", "cli", "main.js");
const FLOOR = join(__dirname, "bench-floor.js");
const DAY = 86_400_000;

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const p90 = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.9) - 1]!;

async function listener(name: string): Promise<XrdpServer> {
  const now = Date.now();
  return startXrdp(buildSelfSigned(generateKey(), { commonName: name, notBefore: new Date(now - DAY), notAfter: new Date(now + 179 * DAY) }));
}

function timedRun(args: readonly string[]): { ms: number; stdout: string; status: number | null } {
  const started = performance.now();
  const run = spawnSync(process.execPath, args, { encoding: "utf8" });
  return { ms: performance.now() - started, stdout: run.stdout, status: run.status };
}

type Thumbprinted = (stdout: string) => string;
const probeThumbprint: Thumbprinted = (out) => (JSON.parse(out) as { results: { certificate: { thumbprint: string } }[] }).results[0]!.certificate.thumbprint;
const statusThumbprint: Thumbprinted = (out) => (JSON.parse(out) as { presented: { certificate: { thumbprint: string } } }).presented.certificate.thumbprint;

/** A CLI command's whole-process wall time against the floor, interleaved run by run. */
async function cliVersusFloor(
  name: string,
  args: (server: XrdpServer) => string[],
  thumbprintOf: Thumbprinted,
  target: number,
  runs: number,
): Promise<{ line: string; ratio: number }> {
  const server = await listener(`bench-${name.split(" ")[0]}`);
  try {
    const ours: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < runs + 3; i++) {
      const a = timedRun([CLI, ...args(server)]);
      const b = timedRun([FLOOR, "127.0.0.1", String(server.port)]);
      if (a.status !== 0 || b.status !== 0) throw new Error(`a run failed (rdpcert ${name} exit ${a.status}, floor exit ${b.status})`);
      if (thumbprintOf(a.stdout) !== (JSON.parse(b.stdout) as { thumbprint: string }).thumbprint)
        throw new Error(`rdpcert ${name} and the floor saw different certificates`);
      if (i < 3) continue; // warm-up: disk cache, JIT of the first spawns
      ours.push(a.ms);
      floor.push(b.ms);
    }
    const ratio = median(ours) / median(floor);
    const line =
      `${name} CLI wall time (${runs} runs each, interleaved): rdpcert ${name} median ${median(ours).toFixed(1)} ms (p90 ${p90(ours).toFixed(1)}), ` +
      `floor median ${median(floor).toFixed(1)} ms (p90 ${p90(floor).toFixed(1)}); ratio ${ratio.toFixed(2)}x (target <= ${target}x: ${ratio <= target ? "met" : "MISSED"})`;
    return { line, ratio };
  } finally {
    await server.stop();
  }
}

export const benchProbeCli = (runs = Number(process.env.BENCH_RUNS ?? 30)) =>
  cliVersusFloor("probe --json", (s) => ["probe", `127.0.0.1:${s.port}`, "--json"], probeThumbprint, 1.2, runs);

export const benchStatusCli = (runs = Number(process.env.BENCH_RUNS ?? 30)) =>
  cliVersusFloor(
    "status --json",
    (s) => ["status", "--json", "--backend", "xrdp", "--xrdp-ini", s.iniPath, "--state-dir", `${s.dir}/state`],
    statusThumbprint,
    1.3,
    runs,
  );

// 16 listeners: xrdp listens with a backlog of 2, so 8+ concurrent connects per listener overflow it
// and wait for SYN retransmits (1 s); a fleet spreads its probes over many hosts.
export async function benchProbeThroughput(count = 200, listeners = 16, concurrency = 32): Promise<{ line: string }> {
  const servers: XrdpServer[] = [];
  try {
    for (let i = 0; i < listeners; i++) servers.push(await listener(`bench-${i}`));
    const targets: Target[] = Array.from({ length: count }, (_, i) => {
      const s = servers[i % servers.length]!;
      return { input: `127.0.0.1:${s.port}`, host: "127.0.0.1", port: s.port };
    });
    const round = async (n: number): Promise<{ perSecond: number; failures: Map<string, number> }> => {
      const started = performance.now();
      const results = await probeAll(targets, { timeoutMs: 5000 }, n, probe);
      const seconds = (performance.now() - started) / 1000;
      const failures = new Map<string, number>();
      for (const r of results) if (r.error) failures.set(r.error.kind, (failures.get(r.error.kind) ?? 0) + 1);
      return { perSecond: results.filter((r) => !r.error).length / seconds, failures };
    };
    await round(concurrency);
    const parallel: number[] = [];
    const failures = new Map<string, number>();
    for (let i = 0; i < 3; i++) {
      const r = await round(concurrency);
      parallel.push(r.perSecond);
      for (const [k, v] of r.failures) failures.set(k, (failures.get(k) ?? 0) + v);
    }
    const serial = (await round(1)).perSecond;
    const failed = [...failures.values()].reduce((a, b) => a + b, 0);
    const failText = failed
      ? `; ${failed} failed over 3 rounds: ${[...failures].map(([k, v]) => `${k} ${v}`).join(", ")}`
      : `; ${count}/${count} ok in every round`;
    return {
      line: `throughput: ${count} targets over ${listeners} xrdp listeners, concurrency ${concurrency}: ${median(parallel).toFixed(0)} handshakes/s (median of 3); concurrency 1: ${serial.toFixed(0)}/s; speed-up ${(median(parallel) / serial).toFixed(1)}x${failText}`,
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}
