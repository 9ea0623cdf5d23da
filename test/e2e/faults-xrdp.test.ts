import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { probe } from "../../src/probe/prober";
import type { XrdpServer } from "../../scripts/xrdp-server";
import { xrdpPool } from "../helpers/xrdp-pool";
import { certValid } from "../helpers/certs";
import { CLI, rdpcert } from "../helpers/cli";
import { type Tmpfs, mountTmpfs } from "../helpers/tmpfs";

/** Issue 12: faults of the machine (log sink, disks, signals, descriptors) against real xrdp and real tmpfs mounts. */
interface RunJson {
  outcome: string;
  status: string;
  exitCode: number;
  warnings: string[];
  rotation: { newThumbprint: string | null } | null;
}

function daemon(config: string): { child: ChildProcess; output: () => string; exited: Promise<number | null>; waitFor: (pattern: RegExp, count?: number) => Promise<void> } {
  const child = spawn(process.execPath, [CLI, "schedule", "--config", config], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 + (signal === "SIGHUP" ? 1 : 15) : null))));
  const waitFor = (pattern: RegExp, count = 1): Promise<void> =>
    new Promise((resolve, reject) => {
      const global = new RegExp(pattern.source, "g");
      const check = (): void => {
        if ((output.match(global) ?? []).length >= count) resolve();
        else if (child.exitCode !== null || child.signalCode !== null) reject(new Error(`daemon exited (${child.exitCode ?? child.signalCode}) before ${pattern}:\n${output}`));
        else setTimeout(check, 25);
      };
      check();
    });
  return { child, output: () => output, exited, waitFor };
}

const SINK_WARNING = /rdpcert: warning: cannot write the log file /g;

describe("faults (issue 12) against real xrdp", () => {
  const start = xrdpPool();
  const mounts: Tmpfs[] = [];
  const tmpfs = (): Tmpfs => {
    const m = mountTmpfs();
    mounts.push(m);
    return m;
  };
  afterAll(() => {
    for (const m of mounts) m.unmount();
  });

  const writeConfig = (server: XrdpServer, logDir: string, extra: Record<string, unknown> = {}): string => {
    const path = join(server.dir, "config.json");
    writeFileSync(path, JSON.stringify({ xrdpIni: server.iniPath, stateDir: join(server.dir, "state"), logDir, restartCommand: null, verifyTimeoutMs: 8000, ...extra }));
    return path;
  };
  const run = async (config: string): Promise<{ code: number | null; json: RunJson; stderr: string }> => {
    const result = await rdpcert(["run", "--config", config, "--json"]);
    try {
      return { code: result.code, json: JSON.parse(result.stdout) as RunJson, stderr: result.stderr };
    } catch {
      throw new Error(`run did not print JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
    }
  };

  describe("a failing log sink never stops the work (item 1)", () => {
    it("log dir is a file: the pass goes on (healthy, exit 0); one warning on stderr and in JSON", async () => {
      const server = await start(certValid(-1, 179, "log-file"));
      const logDir = join(server.dir, "not-a-dir");
      writeFileSync(logDir, "");
      const { code, json, stderr } = await run(writeConfig(server, logDir));
      expect([json.outcome, json.status, code]).toEqual(["nothing", "OK", 0]);
      expect(json.warnings).toEqual([`cannot write the log file ${logDir}/rdpcert.log: a file is in the way of the log directory (EEXIST); the work goes on without this log. Fix the log directory, or pick another with --log-dir DIR (logDir in the config)`]);
      expect(stderr.match(SINK_WARNING)).toHaveLength(1);
    });

    it("read-only log file system while a rotation is due: rotated and verified (exit 0), one EROFS warning", async () => {
      const server = await start(certValid(-130, 50, "log-ro"));
      const logs = tmpfs();
      logs.readOnly();
      const { code, json, stderr } = await run(writeConfig(server, logs.dir));
      expect([json.outcome, code]).toEqual(["rotated", 0]);
      expect((await probe({ input: "", host: "127.0.0.1", port: server.port }, { timeoutMs: 5000 })).certificate!.thumbprint).toBe(json.rotation!.newThumbprint);
      expect(json.warnings).toHaveLength(1);
      expect(json.warnings[0]).toMatch(/the file system is read-only \(EROFS\)/);
      expect(stderr.match(SINK_WARNING)).toHaveLength(1);
    });

    it("full log disk: the pass goes on (exit 0), one ENOSPC warning", async () => {
      const server = await start(certValid(-1, 179, "log-full"));
      const logs = tmpfs();
      logs.fill();
      const { code, json, stderr } = await run(writeConfig(server, logs.dir));
      expect([json.outcome, code]).toEqual(["nothing", 0]);
      expect(json.warnings).toEqual([expect.stringMatching(/the disk is full \(ENOSPC\)/)]);
      expect(stderr.match(SINK_WARNING)).toHaveLength(1);
    });

    it("schedule on a read-only log file system: passes run on SIGHUP, the daemon survives, keeps its schedule and exits 0 on SIGTERM; one warning", async () => {
      const server = await start(certValid(-1, 179, "log-daemon"));
      const logs = tmpfs();
      logs.readOnly();
      const d = daemon(writeConfig(server, logs.dir, { schedule: "0 3 * * *", jitterMinutes: 0 }));
      await d.waitFor(/scheduled "0 3 \* \* \*"/);
      d.child.kill("SIGHUP");
      await d.waitFor(/run finished: nothing \(exit 0\); next run at \d{4}-/);
      d.child.kill("SIGHUP");
      await d.waitFor(/run finished: nothing \(exit 0\); next run at \d{4}-/, 2);
      d.child.kill("SIGTERM");
      expect(await d.exited).toBe(0);
      expect(d.output()).not.toMatch(/EROFS: read-only file system|uncaught|internal error/i);
      expect(d.output().match(SINK_WARNING)).toHaveLength(1);
    });
  });

  describe("signals (item 14)", () => {
    it("SIGHUPs arriving after SIGTERM, while the pass finishes and after, never kill the daemon: exit 0", async () => {
      const server = await start(certValid(-1, 179, "hup-after-term"));
      // Always due, and each rotation takes 1.5 s to "restart": SIGTERM lands during a pass.
      const d = daemon(writeConfig(server, join(server.dir, "log"), { schedule: "0 3 * * *", jitterMinutes: 0, rotateDays: 365, restartCommand: ["sleep", "1.5"] }));
      await d.waitFor(/scheduled "0 3 \* \* \*"/);
      d.child.kill("SIGHUP");
      await d.waitFor(/rotating: /);
      d.child.kill("SIGTERM");
      await d.waitFor(/SIGTERM: stopping after the run in progress/);
      let flooding = true;
      const flood = (): void => {
        if (!flooding || d.child.exitCode !== null || d.child.signalCode !== null) return;
        d.child.kill("SIGHUP");
        setImmediate(flood);
      };
      flood();
      const code = await d.exited;
      flooding = false;
      expect(code).toBe(0);
      expect(d.output()).toMatch(/run finished: rotated/);
    });
  });
});
