import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { probe } from "../../src/probe/prober";
import type { XrdpServer } from "../../scripts/xrdp-server";
import { xrdpPool } from "../helpers/xrdp-pool";
import { certValid } from "../helpers/certs";
import { CLI, rdpcert, readableCli } from "../helpers/cli";
import { adminDir } from "../helpers/admin-dir";
import { type Tmpfs, mountTmpfs } from "../helpers/tmpfs";
import { scheduleDaemon } from "../helpers/schedule-daemon";

/** Faults of the machine (log sink, disks, signals, descriptors) against real xrdp and real tmpfs mounts. */
interface RunJson {
  outcome: string;
  status: string;
  exitCode: number;
  warnings: string[];
  rotation: { newThumbprint: string | null } | null;
}

const SINK_WARNING = /rdpcert: warning: cannot write the log file /g;

describe("faults (issue 12) against real xrdp", () => {
  const start = xrdpPool();
  const mounts: Tmpfs[] = [];
  const tmpfs = (sizeKiB?: number): Tmpfs => {
    const m = mountTmpfs(sizeKiB);
    mounts.push(m);
    return m;
  };
  afterAll(() => {
    for (const m of mounts) m.unmount();
  });

  const writeConfig = (server: XrdpServer, logDir: string, extra: Record<string, unknown> = {}): string => {
    const path = join(adminDir(), "config.json");
    writeFileSync(
      path,
      JSON.stringify({ xrdpIni: server.iniPath, stateDir: join(server.dir, "state"), logDir, restartCommand: null, verifyTimeoutMs: 8000, ...extra }),
    );
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
      expect(json.warnings).toEqual([
        `cannot write the log file ${logDir}/rdpcert.log: a file is in the way of the log directory (EEXIST); the work goes on without this log. Fix the log directory, or pick another with --log-dir DIR (logDir in the config)`,
      ]);
      expect(stderr.match(SINK_WARNING)).toHaveLength(1);
    });

    it("read-only log file system while a rotation is due: rotated and verified (exit 0), one EROFS warning", async () => {
      const server = await start(certValid(-130, 50, "log-ro"));
      const logs = tmpfs();
      logs.readOnly();
      const { code, json, stderr } = await run(writeConfig(server, logs.dir));
      expect([json.outcome, code]).toEqual(["rotated", 0]);
      expect((await probe({ input: "", host: "127.0.0.1", port: server.port }, { timeoutMs: 5000 })).certificate!.thumbprint).toBe(
        json.rotation!.newThumbprint,
      );
      expect(json.warnings).toHaveLength(1);
      expect(json.warnings[0]).toMatch(/the file system is read-only \(EROFS\)/);
      expect(stderr.match(SINK_WARNING)).toHaveLength(1);
    });

    it("read-only log file system while a rotation fails: the rollback still runs (rolled-back, exit 2), the journal is closed", async () => {
      const old = certValid(-130, 50, "log-ro-rollback");
      const server = await start(old);
      const logs = tmpfs();
      logs.readOnly();
      const { code, json, stderr } = await run(writeConfig(server, logs.dir, { restartCommand: ["false"] }));
      expect([json.outcome, code]).toEqual(["rolled-back", 2]);
      expect(readFileSync(server.certPath, "utf8")).toBe(old.certPem);
      expect(existsSync(join(server.dir, "state", "journal.json"))).toBe(false);
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

    it("a non-root run with the default log dir (/var/log/rdpcert): one EACCES warning, the report, the certificate's exit code", async () => {
      const server = await start(certValid(-1, 179, "log-non-root"));
      const stateDir = join(server.dir, "nobody-state");
      mkdirSync(stateDir, { mode: 0o700 });
      chownSync(stateDir, 65534, 65534);
      const child = spawn(
        "setpriv",
        [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          process.execPath,
          readableCli(),
          "run",
          "--json",
          "--xrdp-ini",
          server.iniPath,
          "--state-dir",
          stateDir,
          "--no-restart",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
      const json = JSON.parse(stdout) as RunJson;
      expect([json.outcome, json.status, code]).toEqual(["nothing", "OK", 0]);
      expect(json.warnings).toEqual([expect.stringMatching(/^cannot write the log file \/var\/log\/rdpcert\/rdpcert\.log: permission denied \(EACCES\)/)]);
      expect(stderr.match(SINK_WARNING)).toHaveLength(1);
    });

    it("schedule on a read-only log file system: passes run on SIGHUP, the daemon survives, keeps its schedule and exits 0 on SIGTERM; one warning", async () => {
      const server = await start(certValid(-1, 179, "log-daemon"));
      const logs = tmpfs();
      logs.readOnly();
      const d = scheduleDaemon(writeConfig(server, logs.dir, { schedule: "0 3 * * *", jitterMinutes: 0 }));
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
      const server = await start(certValid(-175, 5, "hup-after-term"));
      // Due (5 days left), and the rotation takes 1.5 s to "restart": SIGTERM lands during the pass.
      const d = scheduleDaemon(writeConfig(server, join(server.dir, "log"), { schedule: "0 3 * * *", jitterMinutes: 0, restartCommand: ["sleep", "1.5"] }));
      await d.waitFor(/scheduled "0 3 \* \* \*"/);
      d.child.kill("SIGHUP");
      await d.waitFor(/rotating: /);
      d.child.kill("SIGTERM");
      await d.waitFor(/SIGTERM: stopping after the run in progress/);
      let flooding = true;
      const flood = (): void => {
        if (!flooding || d.child.exitCode !== null || d.child.signalCode !== null) return;
        d.child.kill("SIGHUP");
        // Every 2 ms, to the exit: dense enough to hit the shutdown, without starving the pass it waits for.
        setTimeout(flood, 2);
      };
      flood();
      const code = await d.exited;
      flooding = false;
      expect(code).toBe(0);
      expect(d.output()).toMatch(/run finished: rotated/);
    }, 120_000);
  });

  describe("one line, always (item 5)", () => {
    interface ErrorJson {
      schema: string;
      command: string;
      exitCode: number;
      error: { code: string; message: string; fix: string | null };
    }
    const oneLine = (stderr: string): string => {
      expect(stderr.endsWith("\n")).toBe(true);
      expect(stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(stderr).not.toMatch(/internal error|\n\s+at /);
      return stderr.trimEnd();
    };
    const rotateArgs = (server: XrdpServer, stateDir: string): string[] => [
      "rotate",
      "--yes",
      "--force",
      "--no-restart",
      "--verify-timeout",
      "8000",
      "--xrdp-ini",
      server.iniPath,
      "--state-dir",
      stateDir,
    ];

    it("rotate as a non-root user (EACCES on the state dir): one line with the fix, exit 3; --json prints the error report", async () => {
      const server = await start(certValid(-1, 179, "non-root"));
      const stateDir = join(server.dir, "state");
      const asNobody = (args: string[]) => rdpcert(args, { prefix: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] });
      const text = await asNobody(rotateArgs(server, stateDir));
      expect(text.code).toBe(3);
      expect(oneLine(text.stderr)).toBe(
        `rdpcert: cannot create the directory ${stateDir}: permission denied (EACCES): run as root (sudo rdpcert ...), or pass a --state-dir / --log-dir this user may write`,
      );
      const json = await asNobody([...rotateArgs(server, stateDir), "--json"]);
      expect(json.code).toBe(3);
      expect(JSON.parse(json.stdout) as ErrorJson).toEqual({
        schema: "rdpcert.error/v1",
        command: "rotate",
        outcome: "error",
        exitCode: 3,
        error: { code: "EACCES", message: `cannot create the directory ${stateDir}: permission denied (EACCES)`, fix: expect.stringContaining("run as root") },
      });
    });

    it("--state-dir /etc/passwd (a file): refused in one line naming it, with the fix, exit 3, and --json carries the refusal", async () => {
      const server = await start(certValid(-1, 179, "state-file"));
      const before = readFileSync("/etc/passwd");
      const text = await rdpcert(rotateArgs(server, "/etc/passwd"));
      expect(text.code).toBe(3);
      expect(text.stdout).toMatch(/^refused {2}state dir \/etc\/passwd: \/etc\/passwd is not a directory: refusing to use it .*\n {2}fix: .*\n$/);
      expect(text.stderr).not.toMatch(/internal error|\n\s+at /);
      const json = await rdpcert([...rotateArgs(server, "/etc/passwd"), "--json"]);
      expect(json.code).toBe(3);
      expect(JSON.parse(json.stdout)).toMatchObject({ outcome: "refused", exitCode: 3, reason: expect.stringContaining("/etc/passwd is not a directory") });
      expect(readFileSync("/etc/passwd")).toEqual(before);
    });

    it("--log-dir /etc/passwd/x (ENOTDIR): one warning line, and the pass goes on (exit 0)", async () => {
      const server = await start(certValid(-1, 179, "log-enotdir"));
      const result = await rdpcert([
        "run",
        "--json",
        "--xrdp-ini",
        server.iniPath,
        "--state-dir",
        join(server.dir, "state"),
        "--no-restart",
        "--log-dir",
        "/etc/passwd/x",
      ]);
      expect(result.code).toBe(0);
      expect(oneLine(result.stderr)).toBe(
        "rdpcert: warning: cannot write the log file /etc/passwd/x/rdpcert.log: a path component is not a directory (ENOTDIR); the work goes on without this log. Fix the log directory, or pick another with --log-dir DIR (logDir in the config)",
      );
      expect((JSON.parse(result.stdout) as RunJson).warnings).toHaveLength(1);
    });

    it.each([
      ["read-only", "EROFS"],
      ["full", "ENOSPC"],
    ] as const)("a %s state dir: one line (%s), exit 3, JSON report; the listener still serves its certificate", async (kind, code) => {
      const pair = certValid(-1, 179, `state-${kind}`);
      const server = await start(pair);
      const state = tmpfs();
      if (kind === "read-only") state.readOnly();
      else state.fill();
      const text = await rdpcert(rotateArgs(server, state.dir));
      expect(text.code).toBe(3);
      expect(oneLine(text.stderr)).toMatch(new RegExp(`^rdpcert: cannot .* \\(${code}\\): `));
      const json = await rdpcert([...rotateArgs(server, state.dir), "--json"]);
      expect(json.code).toBe(3);
      expect((JSON.parse(json.stdout) as ErrorJson).error.code).toBe(code);
      expect((await probe({ input: "", host: "127.0.0.1", port: server.port }, { timeoutMs: 5000 })).certificate).not.toBeNull();
    });

    it("a state dir that fills up while a rotation fails: the rollback still runs, and the next status does not call it completed", async () => {
      const pair = certValid(-175, 5, "state-fills");
      const server = await start(pair);
      const state = tmpfs(256);
      // The restart fills the state dir (as a log or another job would), then fails: the journal cannot be updated.
      const filler = join(state.dir, "filler");
      const restart = `sh -c "head -c 1048576 /dev/zero > ${filler}; exit 1"`;
      const run = await rdpcert([
        "rotate",
        "--yes",
        "--json",
        "--verify-timeout",
        "8000",
        "--xrdp-ini",
        server.iniPath,
        "--state-dir",
        state.dir,
        "--restart-command",
        restart,
      ]);
      const json = JSON.parse(run.stdout) as { outcome: string; steps: { step: string; ok: boolean }[] };
      expect([run.code, json.outcome]).toEqual([2, "rolled-back"]);
      expect(json.steps.map((s) => s.step)).toEqual(["backup", "replace", "config-test", "restart", "restore", "restart", "verify-old"]);
      expect(run.stderr).toContain("cannot update the journal in the state dir (ENOSPC); the rotation goes on");
      expect(readFileSync(server.certPath, "utf8")).toBe(pair.certPem);
      expect((await probe({ input: "", host: "127.0.0.1", port: server.port }, { timeoutMs: 5000 })).certificate!.thumbprint).toBe(
        new X509Certificate(pair.certPem).fingerprint.replace(/:/g, ""),
      );
      rmSync(filler);
      const status = await rdpcert(["status", "--json", "--xrdp-ini", server.iniPath, "--state-dir", state.dir]);
      const report = JSON.parse(status.stdout) as { recovered: { outcome: string } | null };
      expect(report.recovered?.outcome).not.toBe("completed");
    });

    it("EPIPE (the reader went away, as with | head -c1): quiet, and the exit code is the check's", async () => {
      const server = await start(certValid(-1, 179, "epipe"));
      const child = spawn(process.execPath, [CLI, "probe", "--json", `127.0.0.1:${server.port}`], { stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.destroy();
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
      expect([code, stderr]).toEqual([0, ""]);
    });
  });

  describe("file descriptors (item 15)", () => {
    it("--concurrency 1024 under a 40-file limit (prlimit): clamped, with a note on stderr and in JSON; every healthy listener OK", async () => {
      const server = await start(certValid(-1, 179, "nofile"));
      const targets = Array.from({ length: 30 }, () => `127.0.0.1:${server.port}`);
      const child = spawn("prlimit", ["--nofile=40", process.execPath, CLI, "probe", "--json", "--concurrency", "1024", ...targets], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
      const report = JSON.parse(stdout) as { results: { status: string; error: { kind: string } | null }[]; notes: string[] };
      expect(report.results.map((r) => r.error?.kind ?? r.status)).toEqual(Array(30).fill("ok"));
      expect(code).toBe(0);
      expect(report.notes).toEqual([expect.stringMatching(/^--concurrency 1024 lowered to \d+: the open-file limit is 40 \(ulimit -n\)/)]);
      expect(stderr).toBe(`rdpcert: note: ${report.notes[0]}\n`);
    });
  });
});
