import { execFileSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { XrdpServer } from "../../scripts/xrdp-server";
import { caIssued, certValid } from "../helpers/certs";
import { rdpcertJson } from "../helpers/cli";
import { rotateXrdpJson, writeXrdpConfig, xrdpPool } from "../helpers/xrdp-pool";
import { presented, sha1 } from "../helpers/served";

/**
 * renewCommand and restartCommand are bounded by their timeouts even when they
 * leave a child holding their output: real shell scripts as the commands, the
 * built CLI's `run` and `rotate` against real xrdp. A command is finished when
 * it exits (a child holding the pipe does not make a success a timeout); at the
 * deadline its whole process group is ended; nothing it started is left running.
 * Each test's own jest timeout bounds the wall clock (before: 60 s and 121 s).
 */
interface RunJson {
  outcome: string;
  exitCode: number;
  reason: string;
}
interface RotateJson {
  outcome: string;
  reason: string;
  steps: { step: string; ok: boolean }[];
}

/** A `sleep` with a number of seconds no other process on the machine uses, so that what is left of it can be found. */
function marker(): string {
  return String(randomInt(7_000_000, 9_000_000));
}

/** Running (not zombie) processes whose command line is `sleep SECONDS`; they are killed (by pid) so that a failed assertion leaves nothing behind. */
function leftovers(...seconds: string[]): string[] {
  const ps = execFileSync("ps", ["-eo", "pid=,stat=,args="], { encoding: "utf8" });
  const found = ps
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter(([, stat, cmd, arg]) => stat !== undefined && !stat.startsWith("Z") && cmd === "sleep" && arg !== undefined && seconds.includes(arg));
  for (const [pid] of found) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // already gone
    }
  }
  return found.map((fields) => fields.slice(2).join(" "));
}

describe("renewCommand under `run`: bounded by renewTimeoutMs, whatever it leaves holding its output", () => {
  const start = xrdpPool();

  it("a renewCommand that succeeds at once but leaves a child holding stdout and stderr is a success, and the child is ended", async () => {
    const server = await start(caIssued(-300, 20));
    const renewed = caIssued(-1, 365, "renewed.example.test");
    writeFileSync(join(server.dir, "renewed-cert.pem"), renewed.certPem);
    writeFileSync(join(server.dir, "renewed-key.pem"), renewed.keyPem);
    const held = marker();
    // The background sleep inherits stdout and stderr and would keep them open for days.
    const script = `cp "$0/renewed-cert.pem" "$0/cert.pem" && cp "$0/renewed-key.pem" "$0/key.pem" && chmod 644 "$0/key.pem" && echo renewed; sleep ${held} & exit 0`;
    const config = writeXrdpConfig(server, { renewCommand: ["/bin/sh", "-c", script, server.dir], renewTimeoutMs: 5000 });
    const { code, json } = await rdpcertJson<RunJson>(["run", "--config", config, "--json"]);
    expect([json.outcome, code]).toEqual(["renewed", 0]);
    expect((await presented(server.port))!.thumbprint).toBe(sha1(renewed.certPem));
    expect(leftovers(held)).toEqual([]);
  }, 30_000);

  it("a renewCommand that never exits, ignores SIGTERM and has a child holding its output: renew-failed at the deadline, the whole group killed", async () => {
    const ca = caIssued(-300, 20);
    const server = await start(ca);
    const [child, self] = [marker(), marker()];
    // Ignored signals are inherited: both processes need SIGKILL.
    const script = `trap '' TERM; sleep ${child} & exec sleep ${self}`;
    const config = writeXrdpConfig(server, { renewCommand: ["/bin/sh", "-c", script], renewTimeoutMs: 1000 });
    const { code, json } = await rdpcertJson<RunJson>(["run", "--config", config, "--json"]);
    expect([json.outcome, code]).toEqual(["renew-failed", 1]);
    expect(json.reason).toBe("renewCommand did not finish within 1000 ms");
    expect(readFileSync(server.certPath, "utf8")).toBe(ca.certPem);
    expect(leftovers(child, self)).toEqual([]);
  }, 30_000);
});

describe("restartCommand under `rotate`: bounded by --restart-timeout, the lock released", () => {
  const start = xrdpPool({ requireRoot: true });
  const rotate = (server: XrdpServer, ...extra: string[]) => rotateXrdpJson<RotateJson>(server, ...extra);

  it("a restart command that exits 0 at once while its child holds the pipe: rotated, not a timeout, the child ended", async () => {
    const server = await start(certValid(-170, 10));
    const held = marker();
    const { code, json } = await rotate(server, "--restart-command", `sh -c 'sleep ${held} & echo restarted'`, "--restart-timeout", "5000");
    expect([json.outcome, code]).toEqual(["rotated", 0]);
    expect(json.steps.find((s) => s.step === "restart")?.ok).toBe(true);
    expect(leftovers(held)).toEqual([]);
  }, 30_000);

  it("a restart command that never exits: rolled back at the deadline (twice: the rollback restarts too), nothing left running, the lock free for the next rotate", async () => {
    const old = certValid(-170, 10);
    const server = await start(old);
    const [child, self] = [marker(), marker()];
    const { code, json } = await rotate(server, "--restart-command", `sh -c 'trap "" TERM; sleep ${child} & exec sleep ${self}'`, "--restart-timeout", "1000");
    expect([json.outcome, code]).toEqual(["rolled-back", 2]);
    expect(json.reason).toBe(`restart command sh -c trap "" TERM; sleep ${child} & exec sleep ${self} did not finish within 1000 ms`);
    expect(json.steps.filter((s) => s.step === "restart").map((s) => s.ok)).toEqual([false, false]);
    expect((await presented(server.port))!.thumbprint).toBe(sha1(old.certPem));
    expect(leftovers(child, self)).toEqual([]);
    // The lock was released: the next rotation runs.
    const next = await rotate(server, "--no-restart");
    expect([next.json.outcome, next.code]).toEqual(["rotated", 0]);
  }, 40_000);
});
