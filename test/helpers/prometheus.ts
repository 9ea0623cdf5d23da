import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../scripts/xrdp-server";
import { CLI } from "./cli";

/** One instant-vector sample from Prometheus' HTTP API. */
export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }).on("error", reject);
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Thrown by a check that can never succeed (the process exited): ends the polling at once. */
export class GaveUp extends Error {}

/** A connection a server that is still starting refuses or drops: the one kind of error worth trying again. */
const NOT_UP_YET = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE"]);

/**
 * Polls `check` until it returns a value; the jest timeout bounds the wait (no
 * timed assertion). Only a connection refused or reset (a port not open yet) is
 * tried again: any other error (a query Prometheus refuses, a body that is not
 * JSON, a bug in the check, GaveUp) fails the test at once with its message,
 * instead of polling until the jest timeout hides it.
 */
export async function eventually<T>(check: () => Promise<T | null>, everyMs = 250): Promise<T> {
  for (;;) {
    try {
      const value = await check();
      if (value !== null) return value;
    } catch (error) {
      if (!NOT_UP_YET.has((error as NodeJS.ErrnoException).code ?? "")) throw error;
    }
    await pause(everyMs);
  }
}

export interface RunningProcess {
  readonly url: string;
  output(): string;
  stop(): Promise<void>;
  /** Sends a signal to the process (the exporter: SIGHUP). */
  kill(signal: NodeJS.Signals): void;
  /** Its exit code or signal once it ended, else null. */
  ended(): number | NodeJS.Signals | null;
}

function stopper(child: ChildProcess, cleanup: () => void): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    cleanup();
  };
}

/** A real Prometheus (Debian's package) on a free loopback port with its own config and storage, stopped by stop(). */
export interface RunningPrometheus extends RunningProcess {
  query(expr: string): Promise<Sample[]>;
  api<T>(path: string): Promise<T>;
  tryQuery(expr: string): Promise<{ status: string; error?: string; resultCount: number }>;
}

export async function startPrometheus(configYaml: string): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), "rdpcert-prometheus-"));
  writeFileSync(join(dir, "prometheus.yml"), configYaml);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = "";
  const child = spawn(
    "prometheus",
    [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  const append = (c: Buffer) => (output = (output + c.toString()).slice(-65_536));
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  const stop = stopper(child, () => rmSync(dir, { recursive: true, force: true }));
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new GaveUp(`prometheus exited with ${child.exitCode}: ${output}`);
      return (await httpGet(`${url}/-/ready`)).status === 200 ? true : null;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const query = async (expr: string): Promise<Sample[]> => {
    const res = await httpGet(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const json = JSON.parse(res.body) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (json.status !== "success") throw new Error(`query ${expr} failed: ${res.body}`);
    return json.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  /** GET an API path (e.g. /api/v1/rules): its `data`, or an error with the body. */
  const api = async <T>(path: string): Promise<T> => {
    const res = await httpGet(`${url}${path}`);
    const json = JSON.parse(res.body) as { status: string; data: T };
    if (json.status !== "success") throw new Error(`${path} failed: ${res.body}`);
    return json.data;
  };
  /** Runs `expr` as Grafana would: status and error (never throws for a query Prometheus refuses). */
  const tryQuery = async (expr: string): Promise<{ status: string; error?: string; resultCount: number }> => {
    const res = await httpGet(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const json = JSON.parse(res.body) as { status: string; error?: string; data?: { result: unknown[] } };
    return { status: json.status, error: json.error, resultCount: json.data?.result.length ?? 0 };
  };
  return {
    url,
    output: () => output,
    stop,
    query,
    api,
    tryQuery,
    kill: (signal: NodeJS.Signals) => child.kill(signal),
    ended: () => child.exitCode ?? child.signalCode,
  };
}

/** A Debian daemon (node_exporter, blackbox_exporter) on a free loopback port; resolves once `readyPath` answers 200. */
async function startDaemon(command: string, args: (address: string) => readonly string[], readyPath: string): Promise<RunningProcess & { address: string }> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  let output = "";
  const child = spawn(command, args(address), { stdio: ["ignore", "pipe", "pipe"] });
  const append = (c: Buffer) => (output = (output + c.toString()).slice(-65_536));
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  const stop = stopper(child, () => undefined);
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new GaveUp(`${command} exited with ${child.exitCode}: ${output}`);
      return (await httpGet(`http://${address}${readyPath}`)).status === 200 ? true : null;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `http://${address}`,
    address,
    output: () => output,
    stop,
    kill: (signal: NodeJS.Signals) => child.kill(signal),
    ended: () => child.exitCode ?? child.signalCode,
  };
}

/** Debian's prometheus-node-exporter with only the textfile collector, reading `dir`. */
export function startNodeExporter(dir: string): Promise<RunningProcess & { address: string }> {
  return startDaemon(
    "prometheus-node-exporter",
    (address) => [`--web.listen-address=${address}`, "--collector.disable-defaults", "--collector.textfile", `--collector.textfile.directory=${dir}`],
    "/metrics",
  );
}

/** Debian's prometheus-blackbox-exporter with `configYaml`. */
export function startBlackboxExporter(configPath: string): Promise<RunningProcess & { address: string }> {
  return startDaemon("prometheus-blackbox-exporter", (address) => [`--web.listen-address=${address}`, `--config.file=${configPath}`], "/-/healthy");
}

/** The built CLI's `rdpcert exporter` on a free loopback port; resolves once it listens. `prefix`: a command that execs node (a mount namespace). */
export async function startExporterCli(args: readonly string[] = [], prefix: readonly string[] = []): Promise<RunningProcess> {
  const [file, ...argv] = [...prefix, process.execPath, CLI, "exporter", "--listen", "127.0.0.1:0", ...args];
  const child = spawn(file!, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const stop = stopper(child, () => undefined);
  const url = await eventually(async () => {
    if (child.exitCode !== null) throw new GaveUp(`rdpcert exporter exited with ${child.exitCode}: ${output}`);
    return /listening on (http:\/\/[^ ]+)/.exec(output)?.[1] ?? null;
  }, 50).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { url, output: () => output, stop, kill: (signal) => child.kill(signal), ended: () => child.exitCode ?? child.signalCode };
}
