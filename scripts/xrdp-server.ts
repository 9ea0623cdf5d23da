/**
 * Starts a throwaway xrdp (`xrdp -n -c INI`) on a free loopback port with its
 * own ini, certificate and key in a temp dir, waits until it accepts, and stops
 * it cleanly. Used by the e2e tests, the demo and the benchmarks.
 *
 * When run as root, xrdp runs as the `xrdp` user, as Debian's unit does, so
 * file modes matter as they do in production (root would read any key).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, closeSync, fchownSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const XRDP_BINARY = process.env.RDPCERT_XRDP_BIN ?? "xrdp";

export interface XrdpServerOptions {
  /** PEM written to DIR/cert.pem; omit to leave the file absent. */
  readonly certPem?: string;
  /** PEM written to DIR/key.pem (0600, owned by the runtime user); omit to leave it absent. */
  readonly keyPem?: string;
  readonly securityLayer?: "negotiate" | "tls" | "rdp";
  /** Extra `[Globals]` lines, e.g. ["ssl_protocols=TLSv1.2"]. */
  readonly extraGlobals?: readonly string[];
  /** Run as this user (default: `xrdp` when root and the user exists, else the current user). */
  readonly user?: string | null;
}

export interface XrdpServer {
  readonly host: "127.0.0.1";
  readonly port: number;
  readonly dir: string;
  readonly iniPath: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly runAs: { readonly uid: number; readonly gid: number } | null;
  readonly pid: number;
  /** Console output of xrdp so far (its log). */
  log(): string;
  stop(): Promise<void>;
}

export function iniText(opts: {
  port: number;
  certPath: string;
  keyPath: string;
  securityLayer: string;
  logPath: string;
  extraGlobals?: readonly string[];
}): string {
  return [
    "[Globals]",
    "ini_version=1",
    "fork=true",
    `port=tcp://127.0.0.1:${opts.port}`,
    "tcp_nodelay=true",
    `security_layer=${opts.securityLayer}`,
    "crypt_level=high",
    `certificate=${opts.certPath}`,
    `key_file=${opts.keyPath}`,
    "ssl_protocols=TLSv1.2, TLSv1.3",
    ...(opts.extraGlobals ?? []),
    "",
    "[Logging]",
    `LogFile=${opts.logPath}`,
    "LogLevel=INFO",
    "EnableSyslog=false",
    "EnableConsole=true",
    "ConsoleLevel=INFO",
    "",
    "[Channels]",
    "",
  ].join("\n");
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function lookupUser(name: string): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
  } catch {
    return null;
  }
}

function runtimeUser(requested: string | null | undefined): { uid: number; gid: number } | null {
  if (requested === null) return null;
  if (requested !== undefined) {
    const found = lookupUser(requested);
    if (!found) throw new Error(`user ${requested} does not exist`);
    return found;
  }
  return process.getuid?.() === 0 ? lookupUser("xrdp") : null;
}

/** Writes a file owned by the runtime user (when there is one) with the given mode. */
export function writeOwned(path: string, text: string, mode: number, owner: { uid: number; gid: number } | null): void {
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
  if (owner) chownSync(path, owner.uid, owner.gid);
}

function waitForListener(port: number, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(new Error(`xrdp exited (${child.exitCode ?? child.signalCode}) before listening on ${port}:\n${output().slice(-2000)}`));
        return;
      }
      // xrdp's console output is block-buffered when piped; its log file is not.
      if (!output().includes(`listening to port ${port}`)) {
        if (Date.now() > deadline) reject(new Error(`xrdp did not listen on ${port} within ${timeoutMs} ms:\n${output().slice(-2000)}`));
        else setTimeout(attempt, 10);
        return;
      }
      const socket = net.connect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`xrdp on ${port} does not accept connections`));
        else setTimeout(attempt, 20);
      });
    };
    attempt();
  });
}

export async function startXrdp(options: XrdpServerOptions = {}): Promise<XrdpServer> {
  const runAs = runtimeUser(options.user);
  const dir = mkdtempSync(join(tmpdir(), "rdpcert-xrdp-"));
  chmodSync(dir, 0o755);
  if (runAs) chownSync(dir, runAs.uid, runAs.gid);
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  if (options.certPem !== undefined) writeOwned(certPath, options.certPem, 0o644, runAs);
  if (options.keyPem !== undefined) writeOwned(keyPath, options.keyPem, 0o600, runAs);

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const iniPath = join(dir, "xrdp.ini");
    const logPath = join(dir, "xrdp.log");
    writeOwned(
      iniPath,
      iniText({ port, certPath, keyPath, securityLayer: options.securityLayer ?? "negotiate", logPath, extraGlobals: options.extraGlobals }),
      0o644,
      runAs,
    );
    writeOwned(logPath, "", 0o644, runAs);
    // Console output goes to a file, not a pipe: a harness blocked in spawnSync (the benchmarks) never
    // drains a pipe, and once its 64 kB fill up every xrdp child blocks writing its log line and stops
    // answering (seen after ~80 connections).
    const consolePath = join(dir, "xrdp-console.log");
    const consoleFd = openSync(consolePath, "w", 0o644);
    if (runAs) fchownSync(consoleFd, runAs.uid, runAs.gid);
    let child: ChildProcess;
    try {
      child = spawn(XRDP_BINARY, ["-n", "-c", iniPath], { cwd: dir, stdio: ["ignore", consoleFd, consoleFd], ...(runAs ?? {}) });
    } finally {
      closeSync(consoleFd);
    }
    const output = (): string => safeRead(consolePath).slice(-65_536);
    const spawned = new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    try {
      await spawned;
      await waitForListener(port, child, () => output() + safeRead(logPath), 10_000);
    } catch (error) {
      lastError = error;
      child.kill("SIGKILL");
      if ((error as NodeJS.ErrnoException).code === "ENOENT") break;
      continue;
    }
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once("exit", () => resolve());
    });
    return {
      host: "127.0.0.1",
      port,
      dir,
      iniPath,
      certPath,
      keyPath,
      runAs,
      pid: child.pid!,
      log: () => output() + safeRead(logPath),
      stop: async () => {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  if ((lastError as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
    throw new Error(`${XRDP_BINARY} not found: install it with 'apt-get install -y xrdp'`);
  }
  throw lastError;
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
