import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import * as tls from "node:tls";
import { PROTOCOL_SSL, decodeConnectionConfirm, encodeConnectionRequest } from "../../src/probe/negotiation";
import { probe } from "../../src/probe/prober";
import type { XrdpServer } from "../../scripts/xrdp-server";
import { certValid } from "../helpers/certs";
import { rdpcertJson } from "../helpers/cli";
import { xrdpPool } from "../helpers/xrdp-pool";
import { adminDir } from "../helpers/admin-dir";

/**
 * A rotation must not drop connected users. xrdp reads its pair for
 * every new connection, so `restartCommand: "auto"` (the default) restarts
 * nothing on xrdp. systemd does not run here (no PID 1 systemd in the test
 * machine), so `systemctl` is a stand-in on PATH that does what
 * `systemctl restart xrdp` does to the sessions: the unit's cgroup is stopped,
 * which ends every per-connection xrdp process (the children of the listener;
 * SIGTERM, then SIGKILL for what is left, as systemd does).
 * The control case shows that stand-in really cuts a held session.
 */
interface Report {
  outcome: string;
  plan?: string[];
  steps?: { step: string; detail: string | null }[];
  rotation?: { outcome: string; newThumbprint: string | null; steps: { step: string; detail: string | null }[] } | null;
}

/** The pids whose parent is `pid` (xrdp forks one per connection). */
/**
 * The children serving connections, once settled: a child of an earlier, closing connection (the
 * readiness probe's) may still be exiting; it serves nobody, and its exit is not a restart.
 */
async function settledChildrenOf(pid: number): Promise<number[]> {
  let serving = childrenOf(pid);
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const now = childrenOf(pid);
    if (now.length === serving.length && now.every((child, k) => child === serving[k])) break;
    serving = now;
  }
  return serving;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`);

/** An RDP client's first steps: X.224 negotiation for TLS, then the TLS handshake; the session is held open. */
async function holdSession(server: XrdpServer): Promise<{ socket: tls.TLSSocket; closed: () => boolean; thumbprint: string }> {
  const raw = net.connect({ host: "127.0.0.1", port: server.port });
  await new Promise<void>((resolve, reject) => {
    raw.once("connect", resolve);
    raw.once("error", reject);
  });
  raw.write(encodeConnectionRequest({ requestedProtocols: PROTOCOL_SSL }));
  let confirm = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      confirm = Buffer.concat([confirm, chunk]);
      const decoded = decodeConnectionConfirm(confirm);
      if (decoded.kind === "incomplete") return;
      raw.off("data", onData);
      if (decoded.kind === "confirm" && decoded.confirm.type === "response") resolve();
      else reject(new Error(`negotiation failed: ${JSON.stringify(decoded)}`));
    };
    raw.on("data", onData);
    raw.once("error", reject);
  });
  const socket = tls.connect({ socket: raw, rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", resolve);
    socket.once("error", reject);
  });
  let closed = false;
  socket.on("close", () => (closed = true));
  socket.on("error", () => (closed = true));
  const thumbprint = socket.getPeerX509Certificate()!.fingerprint.replace(/:/g, "");
  return { socket, closed: () => closed, thumbprint };
}

describe("a rotation keeps connected xrdp sessions (issue 23)", () => {
  const start = xrdpPool({ requireRoot: true });
  const fakeBin = mkdtempSync(join(tmpdir(), "rdpcert-systemctl-"));
  const calls = join(fakeBin, "calls");
  afterAll(() => rmSync(fakeBin, { recursive: true, force: true }));

  /** `systemctl` as systemd would answer for a running xrdp.service; `restart` ends the listener's per-connection processes. */
  function fakeSystemctl(server: XrdpServer): NodeJS.ProcessEnv {
    const script = join(fakeBin, "systemctl");
    writeFileSync(
      script,
      [
        "#!/bin/sh",
        `echo "$*" >> '${calls}'`,
        'case "$1" in',
        "  is-active) exit 0 ;;",
        // systemd's stop: SIGTERM to the cgroup, SIGKILL to what is left (xrdp's session processes wait on their socket).
        `  restart) pids=$(ps -o pid= --ppid ${server.pid}); kill -TERM $pids; sleep 1; kill -KILL $pids 2>/dev/null; exit 0 ;;`,
        "esac",
        "exit 1",
        "",
      ].join("\n"),
    );
    chmodSync(script, 0o755);
    writeFileSync(calls, "");
    return { PATH: `${fakeBin}${delimiter}${process.env.PATH ?? ""}` };
  }

  function config(server: XrdpServer, extra: Record<string, unknown> = {}): string {
    const path = join(adminDir(), "config.json");
    writeFileSync(
      path,
      JSON.stringify({ xrdpIni: server.iniPath, stateDir: join(server.dir, "state"), logDir: join(server.dir, "log"), verifyTimeoutMs: 8000, ...extra }),
    );
    return path;
  }

  async function expectSessionSurvives(server: XrdpServer, action: (env: NodeJS.ProcessEnv) => Promise<Report>) {
    const env = fakeSystemctl(server);
    const session = await holdSession(server);
    const serving = await settledChildrenOf(server.pid);
    expect(serving.length).toBeGreaterThan(0);
    const report = await action(env);
    const after = await probe({ input: "", host: "127.0.0.1", port: server.port }, { timeoutMs: 5000 });
    expect(after.certificate!.thumbprint).not.toBe(session.thumbprint);
    expect(session.closed()).toBe(false);
    expect(serving.filter(alive)).toEqual(serving);
    const systemctl = readFileSync(calls, "utf8");
    expect(systemctl).toContain("is-active --quiet xrdp");
    expect(systemctl).not.toContain("restart");
    session.socket.destroy();
    return report;
  }

  it('run (the default restartCommand "auto", systemd running xrdp): rotates, restarts nothing, the held TLS session stays up', async () => {
    const server = await start(certValid(-170, 10));
    const report = await expectSessionSurvives(server, async (env) => (await rdpcertJson<Report>(["run", "--config", config(server), "--json"], { env })).json);
    expect(report.outcome).toBe("rotated");
    expect(report.rotation!.steps.find((s) => s.step === "restart")!.detail).toBe("no restart");
    expect(report.rotation!.steps.filter((s) => s.step === "restart")).toHaveLength(1);
  });

  it("rotate by hand: the plan says no restart and why; the held TLS session stays up", async () => {
    const server = await start(certValid(-170, 10));
    const report = await expectSessionSurvives(
      server,
      async (env) => (await rdpcertJson<Report>(["rotate", "--config", config(server), "--yes", "--json"], { env })).json,
    );
    expect(report.outcome).toBe("rotated");
    expect(report.plan).toContain(
      "no restart: xrdp reads its certificate for every new connection, and connected sessions stay up; only if the first handshake after the change still presents the old certificate: systemctl restart xrdp (timeout 60000 ms)",
    );
  });

  it('control: an explicit restartCommand ["systemctl","restart","xrdp"] is run, and it ends the held session (what the default no longer does)', async () => {
    const server = await start(certValid(-170, 10));
    const env = fakeSystemctl(server);
    const session = await holdSession(server);
    const serving = await settledChildrenOf(server.pid);
    const { json } = await rdpcertJson<Report>(
      ["rotate", "--config", config(server, { restartCommand: ["systemctl", "restart", "xrdp"] }), "--yes", "--json"],
      { env },
    );
    expect(json.outcome).toBe("rotated");
    expect(json.plan!.some((line) => line.startsWith("restart: systemctl restart xrdp") && line.includes("ends the sessions of connected users"))).toBe(true);
    expect(readFileSync(calls, "utf8")).toContain("restart xrdp");
    await new Promise<void>((resolve) => (session.closed() ? resolve() : session.socket.once("close", () => resolve())));
    session.socket.destroy();
    expect(serving.filter(alive)).toEqual([]);
  });
});
