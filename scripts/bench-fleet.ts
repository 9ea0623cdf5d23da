/**
 * Fleet-scale benchmarks, each beside a baseline measured in the same run:
 * - `rdpcert probe --targets` over a simulated fleet (scripts/fleet-sim.ts) at
 *   a simulated RTT, against the floor client (bench-fleet-floor.ts) on the same fleet;
 * - `rdpcert exporter` under a Prometheus-style load (every target scraped once
 *   per interval, spread evenly, X-Prometheus-Scrape-Timeout-Seconds set);
 * - idle RSS of `rdpcert exporter` and `rdpcert schedule` before and after
 *   thousands of probes / passes.
 * Every process runs with `prlimit --nofile=65536` (10,000 listeners and their
 * connections need more than the usual 1,024 or 20,000 descriptors).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { Agent, get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { buildSelfSigned, generateKey } from "../src/core/self-signed";
import { startXrdp } from "./xrdp-server";
import type { FleetKind } from "./fleet-sim";

const DIST = join(__dirname, "..");
const CLI = join(DIST, "src", "cli", "main.js");
/**
 * Descriptors: soft limit raised to the hard one (raising the hard limit needs
 * CAP_SYS_RESOURCE, which containers often lack); 10,000 listeners plus their
 * connections need well over the usual 1,024.
 */
const HARD_NOFILE = (() => {
  const run = spawnSync("prlimit", ["--nofile", "--output=HARD", "--noheadings", "--pid", String(process.pid)], { encoding: "utf8" });
  const n = Number(run.stdout.trim());
  return Number.isFinite(n) && n > 0 ? n : 1024;
})();
const NOFILE = `--nofile=${HARD_NOFILE}:${HARD_NOFILE}`;
export const fdLimitNote = (): string => `file descriptor limit: prlimit ${NOFILE} for every benchmarked process`;
const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Fleet {
  readonly targets: ReadonlyArray<{ host: string; kind: FleetKind }>;
  readonly port: number;
  /** The simulator's own CPU so far (user + system), ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

const CLOCK_TICKS = (() => {
  const n = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** utime + stime of a live process from /proc/PID/stat, ms (prlimit execs, so the pid is node's). */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

async function startFleet(count: number, rttMs: number): Promise<Fleet> {
  const child = spawn("prlimit", [NOFILE, process.execPath, join(DIST, "scripts", "fleet-sim.js"), String(count), String(rttMs)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  const ready = await new Promise<{ port: number; targets: Fleet["targets"] }>((resolve, reject) => {
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as { port: number; targets: Fleet["targets"] });
    });
    child.once("exit", (code) => reject(new Error(`fleet simulator exited with ${code}`)));
  });
  return { ...ready, cpuMs: () => processCpuMs(child.pid!), stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

interface Measured {
  readonly wallMs: number;
  readonly stdout: string;
  readonly code: number | null;
  readonly maxRssKb: number;
  readonly cpuMs: number;
}

/** Runs node ARGS under prlimit with the rusage preload; stdout kept in memory. */
async function measured(args: readonly string[], work: string, name: string, env: NodeJS.ProcessEnv = {}): Promise<Measured> {
  const usagePath = join(work, `${name}.rusage.json`);
  const started = performance.now();
  const child = spawn("prlimit", [NOFILE, process.execPath, "--require", join(DIST, "scripts", "bench-rusage.js"), ...args], {
    stdio: ["ignore", "pipe", "ignore"],
    env: { ...process.env, ...env, RDPCERT_BENCH_RUSAGE: usagePath },
  });
  const chunks: Buffer[] = [];
  child.stdout!.on("data", (c: Buffer) => chunks.push(c));
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  const wallMs = performance.now() - started;
  const usage = JSON.parse(readFileSync(usagePath, "utf8")) as { maxRssKb: number; userUs: number; systemUs: number };
  return { wallMs, stdout: Buffer.concat(chunks).toString(), code, maxRssKb: usage.maxRssKb, cpuMs: (usage.userUs + usage.systemUs) / 1000 };
}

function rssKb(pid: number, field: "VmRSS" | "VmHWM" = "VmRSS"): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) : NaN;
}

const goal = (ok: boolean): string => (ok ? "met" : "MISSED");

export async function benchFleetProbe(
  count = Number(process.env.BENCH_FLEET ?? 10_000),
  rttMs = 50,
  concurrency = Number(process.env.BENCH_FLEET_CONCURRENCY ?? 512),
  timeoutMs = 2000,
): Promise<{ line: string }> {
  const fleet = await startFleet(count, rttMs);
  const work = mkdtempSync(join(tmpdir(), "rdpcert-bench-fleet-"));
  try {
    const file = join(work, "targets.txt");
    writeFileSync(file, fleet.targets.map((t) => `${t.host}:${fleet.port}\n`).join(""));
    const floorArgs = [join(DIST, "scripts", "bench-fleet-floor.js"), file, String(concurrency), String(timeoutMs)];
    const simCpu = async <T>(run: () => Promise<T>): Promise<T & { simCpuMs: number }> => {
      const before = fleet.cpuMs();
      const result = await run();
      return { ...result, simCpuMs: fleet.cpuMs() - before };
    };
    const tcpFloor = await simCpu(() => measured([...floorArgs, "tcp"], work, "floor-tcp"));
    const floor = await simCpu(() => measured([...floorArgs, "tls"], work, "floor"));
    const probeArgs = [CLI, "probe", "--targets", file, "--concurrency", String(concurrency), "--timeout", String(timeoutMs), "--json"];
    const ours = await simCpu(() => measured(probeArgs, work, "probe", { RDPCERT_PROBE_THREADS: "1" }));
    const threaded = await simCpu(() => measured(probeArgs, work, "probe-threads", { RDPCERT_PROBE_THREADS: "2" }));
    const report = JSON.parse(ours.stdout) as { results: Array<{ status: string; error: { kind: string } | null }> };
    // Every listener's verdict must be the one its kind calls for, or the figures mean nothing.
    const expected: Record<FleetKind, (r: { status: string; error: { kind: string } | null }) => boolean> = {
      healthy: (r) => r.status === "ok",
      expiring: (r) => r.status === "warn",
      downgraded: (r) => r.error?.kind === "rdp-security-only",
      silent: (r) => r.error?.kind === "timeout",
    };
    const wrong = report.results.filter((r, i) => !expected[fleet.targets[i]!.kind](r)).length;
    const floorJson = JSON.parse(floor.stdout) as { ok: number; failed: number; medianMs: number };
    const perProbe = (m: Measured) => m.cpuMs / count;
    // The handshakes: listeners that answer TLS (healthy and expiring).
    const handshakes = fleet.targets.filter((t) => t.kind === "healthy" || t.kind === "expiring").length;
    const tlsShare = (floor.cpuMs - tcpFloor.cpuMs) / handshakes;
    const seconds = ours.wallMs / 1000;
    const line =
      `fleet probe: ${count} simulated listeners (80% healthy, 10% expiring, 5% downgraded, 5% silent; ECDSA P-256) at ${rttMs} ms RTT, ` +
      `concurrency ${concurrency}, --timeout ${timeoutMs}: rdpcert probe --targets --json ${seconds.toFixed(1)} s (goal < 20 s: ${goal(seconds < 20)}), ` +
      `${(count / seconds).toFixed(0)} probes/s, client CPU ${perProbe(ours).toFixed(3)} ms/probe (goal < 0.5: ${goal(perProbe(ours) < 0.5)}), ` +
      `peak RSS ${mb(ours.maxRssKb)} (goal < 200 MB: ${goal(ours.maxRssKb < 200 * 1024)}), ${count - wrong}/${count} verdicts as expected; ` +
      `simulator CPU meanwhile ${(ours.simCpuMs / count).toFixed(3)} ms/probe; ` +
      `floor (node: modules only, one shared TLS context, same fleet and concurrency) ${(floor.wallMs / 1000).toFixed(1)} s, ${perProbe(floor).toFixed(3)} ms CPU/probe, ${mb(floor.maxRssKb)}, median handshake ${floorJson.medianMs.toFixed(0)} ms ` +
      `(simulator ${(floor.simCpuMs / count).toFixed(3)} ms/probe); of that floor, TCP and X.224 alone ${perProbe(tcpFloor).toFixed(3)} ms/probe and Node's TLS client handshake ${tlsShare.toFixed(3)} ms each ` +
      `(${tlsShare >= 0.5 ? "alone over 0.5 ms: the CPU goal is out of reach for a Node client here" : "under 0.5 ms"}); ` +
      `ratios: wall ${(ours.wallMs / floor.wallMs).toFixed(2)}x, CPU ${(ours.cpuMs / floor.cpuMs).toFixed(2)}x, RSS ${(ours.maxRssKb / floor.maxRssKb).toFixed(2)}x; ` +
      `with RDPCERT_PROBE_THREADS=2: ${(threaded.wallMs / 1000).toFixed(1)} s (${(threaded.wallMs / ours.wallMs).toFixed(2)}x of one thread), ${perProbe(threaded).toFixed(3)} ms CPU/probe, peak RSS ${mb(threaded.maxRssKb)}, simulator ${(threaded.simCpuMs / count).toFixed(3)} ms/probe`;
    return { line };
  } finally {
    await fleet.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** `rdpcert exporter` on a free port under prlimit; resolves with its URL once it listens. */
async function startExporter(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn("prlimit", [NOFILE, process.execPath, CLI, "exporter", "--listen", "127.0.0.1:0"], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on("data", (c: Buffer) => {
      err += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`exporter exited with ${code}: ${err.trim()}`)));
  });
  return { child, url };
}

function scrape(agent: Agent, url: string, timeoutSeconds: number): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = get(url, { agent, headers: { "X-Prometheus-Scrape-Timeout-Seconds": String(timeoutSeconds) } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.setTimeout(timeoutSeconds * 1000, () => req.destroy(new Error("scrape timeout")));
    req.on("error", () => resolve({ status: 0, ms: performance.now() - started }));
  });
}

/** The exporter's own nodejs_heap_size_used_bytes, in MB. */
async function heapUsedMb(url: string): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    get(`${url}/metrics`, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
  const match = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text);
  return match ? Number(match[1]) / 1024 / 1024 : NaN;
}

const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;

export async function benchExporter(
  targets = 1000,
  intervalS = 10,
  timeoutS = 10,
  intervals = Number(process.env.BENCH_INTERVALS ?? 3),
  rttMs = 50,
): Promise<{ line: string }> {
  const fleet = await startFleet(targets, rttMs);
  const { child, url } = await startExporter();
  const pid = child.pid!;
  try {
    await pause(2000);
    const idleBefore = rssKb(pid);
    const heapBefore = await heapUsedMb(url);
    const agent = new Agent({ keepAlive: true, maxSockets: 512 });
    let peak = idleBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKb(pid))), 200);
    const started = performance.now();
    const pending: Array<Promise<{ status: number; ms: number }>> = [];
    // Prometheus spreads a job's targets evenly over the interval; each target once per interval.
    for (let k = 0; k < intervals; k++) {
      for (let t = 0; t < targets; t++) {
        const at = k * intervalS * 1000 + (t * intervalS * 1000) / targets;
        const wait = at - (performance.now() - started);
        if (wait > 0) await pause(wait);
        pending.push(scrape(agent, `${url}/probe?target=${fleet.targets[t]!.host}:${fleet.port}`, timeoutS));
      }
    }
    const results = await Promise.all(pending);
    clearInterval(sampler);
    agent.destroy();
    const hwm = rssKb(pid, "VmHWM");
    await pause(3000);
    const idleAfter = rssKb(pid);
    const heapAfter = await heapUsedMb(url);
    const inTime = results.filter((r) => r.status === 200 && r.ms < timeoutS * 1000).length;
    const fast = results
      .filter((_, i) => fleet.targets[i % targets]!.kind !== "silent")
      .map((r) => r.ms)
      .sort((a, b) => a - b);
    const line =
      `exporter: ${targets} targets per ${intervalS} s scrape interval (timeout ${timeoutS} s, header set), ${intervals} intervals, ${rttMs} ms RTT: ` +
      `${inTime}/${results.length} scrapes answered 200 inside the timeout (${goal(inTime === results.length)}); answering listeners p50 ${quantile(fast, 0.5).toFixed(0)} ms, p99 ${quantile(fast, 0.99).toFixed(0)} ms ` +
      `(baseline: the simulated path is 3 RTTs = ${3 * rttMs} ms; p50 ratio ${(quantile(fast, 0.5) / (3 * rttMs)).toFixed(2)}x); ` +
      `RSS peak ${mb(Math.max(peak, hwm))} (goal < 120 MB: ${goal(Math.max(peak, hwm) < 120 * 1024)}); ` +
      `idle RSS ${mb(idleBefore)} before -> ${mb(idleAfter)} after ${results.length} probes (goal < 80 MB: ${goal(idleAfter < 80 * 1024 && idleBefore < 80 * 1024)}, growth ${(idleAfter / idleBefore).toFixed(2)}x; V8 heap used ${heapBefore.toFixed(0)} -> ${heapAfter.toFixed(0)} MB of that${process.env.NODE_OPTIONS ? `; NODE_OPTIONS=${process.env.NODE_OPTIONS}` : ""})`;
    return { line };
  } finally {
    await stopChild(child);
    await fleet.stop();
  }
}

/** glibc malloc tunables the daemon inherits from this process's environment (MALLOC_ARENA_MAX, MALLOC_TRIM_THRESHOLD_, ...), shown so runs with and without compare. */
function mallocNote(): string {
  const set = Object.entries(process.env).filter(([k]) => k.startsWith("MALLOC_") || k === "GLIBC_TUNABLES" || k === "BENCH_DAEMON_FLAGS");
  return set.length ? `; ${set.map(([k, v]) => `${k}=${v}`).join(" ")}` : "";
}

/** One look at the daemon's memory from outside (/proc) and, through the benchmark's preload, from inside. */
interface MemorySample {
  readonly passes: number;
  /** /proc/PID/status, kB. */
  readonly rss: number;
  readonly anon: number;
  readonly file: number;
  /** The main malloc arena (brk, `[heap]` in smaps), kB. */
  readonly brkHeap: number;
  readonly fds: number;
  /** process.memoryUsage() and V8's malloced memory inside the daemon, bytes; null when the report did not come. */
  readonly inside: {
    heapTotal: number;
    heapUsed: number;
    external: number;
    arrayBuffers: number;
    mallocedMemory: number;
    resources: number;
  } | null;
  /** glibc's malloc_stats() totals (gdb), bytes: what the arenas hold from the system and what is allocated; null without BENCH_MALLOC_STATS=1. */
  readonly malloc: { system: number; inUse: number; arenas: ReadonlyArray<{ system: number; inUse: number }> } | null;
}

function statusKb(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return match ? Number(match[1]) : NaN;
}

/** Rss of the `[heap]` mapping (glibc's main arena grows by brk there), kB. */
function brkHeapKb(pid: number): number {
  const smaps = readFileSync(`/proc/${pid}/smaps`, "utf8");
  const at = smaps.search(/ \[heap\]\n/);
  if (at < 0) return 0;
  const match = /^Rss:\s+(\d+) kB/m.exec(smaps.slice(at));
  return match ? Number(match[1]) : 0;
}

export async function benchScheduleIdle(
  passes = Number(process.env.BENCH_PASSES ?? 1000),
  every = Number(process.env.BENCH_SAMPLE_EVERY ?? 100),
): Promise<{ line: string }> {
  const now = Date.now();
  const server = await startXrdp(
    buildSelfSigned(generateKey(), { commonName: "bench-schedule-idle", notBefore: new Date(now - 86_400_000), notAfter: new Date(now + 179 * 86_400_000) }),
  );
  const work = mkdtempSync(join(tmpdir(), "rdpcert-bench-idle-"));
  const config = join(work, "config.json");
  const report = join(work, "memory.json");
  writeFileSync(
    config,
    JSON.stringify({
      xrdpIni: server.iniPath,
      stateDir: join(work, "state"),
      logDir: join(work, "log"),
      restartCommand: null,
      schedule: "0 3 * * *",
      jitterMinutes: 0,
    }),
  );
  // The preload answers SIGUSR2 with process.memoryUsage() (scripts/bench-memory-report.ts); the bin never loads it.
  const preload = join(__dirname, "bench-memory-report.js");
  // Investigation: node or V8 flags for the daemon alone (BENCH_DAEMON_FLAGS="--no-opt", ...), named in the result.
  const flags = (process.env.BENCH_DAEMON_FLAGS ?? "").split(" ").filter(Boolean);
  const child = spawn("prlimit", [NOFILE, process.execPath, ...flags, "--require", preload, CLI, "schedule", "--config", config], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, BENCH_MEMORY_REPORT: report },
  });
  let out = "";
  let finished = 0;
  let captured: string | null = null;
  const onOut = (c: Buffer): void => {
    const text = c.toString();
    finished += text.split("run finished:").length - 1;
    out = (out + text).slice(-4096);
    if (captured !== null) captured += text;
  };
  child.stdout!.on("data", onOut);
  child.stderr!.on("data", onOut);
  const alive = (): void => {
    if (child.exitCode !== null) throw new Error(`schedule exited with ${child.exitCode}`);
  };
  const inside = async (): Promise<MemorySample["inside"]> => {
    rmSync(report, { force: true });
    process.kill(child.pid!, "SIGUSR2");
    for (let i = 0; i < 200; i++) {
      await pause(10);
      try {
        return JSON.parse(readFileSync(report, "utf8")) as MemorySample["inside"];
      } catch {
        // not written yet
      }
    }
    return null;
  };
  /** glibc's malloc_stats() totals, through gdb (BENCH_MALLOC_STATS=1): it prints them on the daemon's stderr, which this process reads. */
  const mallocStats = async (): Promise<MemorySample["malloc"]> => {
    if (process.env.BENCH_MALLOC_STATS !== "1") return null;
    captured = "";
    spawnSync("gdb", ["-p", String(child.pid), "-batch", "-nx", "-ex", "call (void)malloc_stats()"], { stdio: "ignore", timeout: 60_000 });
    let total: RegExpExecArray | null = null;
    for (let i = 0; i < 100 && !total; i++) {
      await pause(20);
      total = /Total \(incl\. mmap\):\s*system bytes\s*=\s*(\d+)\s*in use bytes\s*=\s*(\d+)/.exec(captured ?? "");
    }
    const arenas = [...(captured ?? "").matchAll(/Arena \d+:\s*system bytes\s*=\s*(\d+)\s*in use bytes\s*=\s*(\d+)/g)].map((m) => ({
      system: Number(m[1]),
      inUse: Number(m[2]),
    }));
    captured = null;
    return total ? { system: Number(total[1]), inUse: Number(total[2]), arenas } : null;
  };
  const sample = async (passesSoFar: number): Promise<MemorySample> => {
    // Idle: the daemon collects garbage 1 s after a pass.
    await pause(2000);
    alive();
    const pid = child.pid!;
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return {
      passes: passesSoFar,
      rss: statusKb(status, "VmRSS"),
      anon: statusKb(status, "RssAnon"),
      file: statusKb(status, "RssFile"),
      brkHeap: brkHeapKb(pid),
      fds: readdirSync(`/proc/${pid}/fd`).length,
      inside: await inside(),
      malloc: await mallocStats(),
    };
  };
  try {
    while (!/scheduled /.test(out)) {
      alive();
      await pause(50);
    }
    const samples: MemorySample[] = [await sample(0)];
    // One pass at a time: SIGHUP, then wait for its "run finished" line.
    let passMs = 0;
    for (let done = 0; done < passes;) {
      const started = performance.now();
      const stop = Math.min(passes, done + every);
      for (; done < stop; done++) {
        const target = finished + 1;
        child.kill("SIGHUP");
        while (finished < target) {
          alive();
          await pause(2);
        }
      }
      passMs += performance.now() - started;
      samples.push(await sample(done));
    }
    const hwm = rssKb(child.pid!, "VmHWM");
    // With gdb at hand: how much of the RSS is memory malloc holds free (malloc_trim(0) gives it back).
    let trimmed: MemorySample | null = null;
    if (process.env.BENCH_MALLOC_STATS === "1") {
      spawnSync("gdb", ["-p", String(child.pid), "-batch", "-nx", "-ex", "call (int)malloc_trim(0)"], { stdio: "ignore", timeout: 60_000 });
      trimmed = await sample(passes);
    }
    return { line: scheduleIdleLine(samples, passes, passMs / passes, hwm, trimmed) };
  } finally {
    await stopChild(child);
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Least-squares slope of y over x. */
function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx;
}

/** Growth after warm-up that still counts as flat: 100 kB per 100 passes (1 kB per pass; under 1 MB over the 900 passes measured). */
export const FLAT_KB_PER_100 = 100;

/**
 * The verdict on "idle RSS flat over the passes": RSS after start, after the
 * warm-up (the first sample after start: the first pass loads code, JIT and
 * caches), at the end, and the growth after the warm-up per 100 passes (a
 * least-squares fit over every sample from the warm-up on, so one noisy sample
 * does not decide), split into what grew; then the samples themselves.
 */
export function scheduleIdleLine(
  samples: readonly MemorySample[],
  passes: number,
  msPerPass: number,
  hwmKb: number,
  trimmed: MemorySample | null = null,
): string {
  const [start, warm] = [samples[0]!, samples[1] ?? samples[0]!];
  const end = samples[samples.length - 1]!;
  const after = samples.slice(1);
  const per100 = (pick: (s: MemorySample) => number | null, from: readonly MemorySample[] = after): number | null => {
    const points = from.map((s) => [s.passes, pick(s)] as const).filter((p): p is readonly [number, number] => p[1] !== null && Number.isFinite(p[1]));
    return points.length >= 2 ? slope(points) * 100 : null;
  };
  const kb = (v: number | null): string => (v === null ? "n/a" : `${v >= 0 ? "+" : ""}${v.toFixed(0)} kB`);
  const rssPer100 = per100((s) => s.rss);
  // Whether it levels off: the same fit over the second half of the passes alone.
  const lateRssPer100 = per100(
    (s) => s.rss,
    after.filter((s) => s.passes >= passes / 2),
  );
  const verdict = rssPer100 === null ? "not judged (fewer than two samples after warm-up)" : rssPer100 <= FLAT_KB_PER_100 ? "met" : "MISSED";
  const warmPasses = warm.passes;
  const parts = [
    `anon ${kb(per100((s) => s.anon))}`,
    `file ${kb(per100((s) => s.file))}`,
    `brk heap ${kb(per100((s) => s.brkHeap))}`,
    `V8 heap used ${kb(per100((s) => (s.inside ? s.inside.heapUsed / 1024 : null)))}`,
    `external ${kb(per100((s) => (s.inside ? s.inside.external / 1024 : null)))}`,
    ...(end.malloc
      ? [
          `malloc in use ${kb(per100((s) => (s.malloc ? s.malloc.inUse / 1024 : null)))}`,
          `malloc held ${kb(per100((s) => (s.malloc ? s.malloc.system / 1024 : null)))}`,
        ]
      : []),
    `descriptors ${end.fds - warm.fds >= 0 ? "+" : ""}${end.fds - warm.fds} in all`,
  ];
  const head =
    `schedule daemon (separate process, SIGHUP-driven passes against a real xrdp, ${msPerPass.toFixed(1)} ms/pass): idle RSS ${mb(start.rss)} after start, ` +
    `${mb(warm.rss)} after ${warmPasses} passes (warm-up), ${mb(end.rss)} after ${passes} (peak ${mb(hwmKb)}; goal < 80 MB: ${goal(Math.max(start.rss, end.rss) < 80 * 1024)}); ` +
    `after warm-up ${kb(rssPer100)} per 100 passes (${parts.join(", ")}; over the second half alone ${kb(lateRssPer100)}): ` +
    `flat after warm-up (<= ${FLAT_KB_PER_100} kB per 100 passes): ${verdict}${mallocNote()}`;
  const row = (s: MemorySample): string =>
    `  ${String(s.passes).padStart(5)} passes: RSS ${(s.rss / 1024).toFixed(1)} MB (anon ${(s.anon / 1024).toFixed(1)}, file ${(s.file / 1024).toFixed(1)}, brk heap ${(s.brkHeap / 1024).toFixed(1)})` +
    (s.inside
      ? `; V8 heap ${(s.inside.heapUsed / 1048576).toFixed(1)}/${(s.inside.heapTotal / 1048576).toFixed(1)} MB, external ${(s.inside.external / 1048576).toFixed(1)} MB (buffers ${(s.inside.arrayBuffers / 1048576).toFixed(1)}), V8 malloc ${(s.inside.mallocedMemory / 1048576).toFixed(1)} MB, ${s.inside.resources} handles`
      : "") +
    (s.malloc
      ? `; malloc held ${(s.malloc.system / 1048576).toFixed(1)} MB, in use ${(s.malloc.inUse / 1048576).toFixed(1)} MB` +
        ` (${s.malloc.arenas.length} arenas, held/in use: ${s.malloc.arenas.map((a) => `${(a.system / 1048576).toFixed(1)}/${(a.inUse / 1048576).toFixed(1)}`).join(" ")})`
      : "") +
    `; ${s.fds} fds`;
  const trimLine = trimmed
    ? [
        `  after malloc_trim(0) (gdb): ${row(trimmed)
          .trim()
          .replace(/^\d+ passes: /, "")}`,
      ]
    : [];
  return [head, ...samples.map(row), ...trimLine].join("\n");
}
