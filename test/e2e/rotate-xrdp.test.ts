import { execFileSync, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { probe } from "../../src/probe/prober";
import { type XrdpServer, writeOwned } from "../../scripts/xrdp-server";
import { certValid, caIssued } from "../helpers/certs";
import { rotateXrdpJson, xrdpPool } from "../helpers/xrdp-pool";
import { CLI, rdpcert } from "../helpers/cli";

/**
 * `rdpcert rotate` as an admin runs it, against real xrdp servers on loopback.
 * xrdp reads its certificate for every new connection, so --no-restart is the
 * honest default here; restart commands are exercised where they matter.
 */
interface RotateJson {
  schema: string;
  outcome: string;
  exitCode: number;
  reason: string;
  fix: string | null;
  oldThumbprint: string | null;
  newThumbprint: string | null;
  backupId: string | null;
  backupPath: string | null;
  plan: string[];
  steps: { step: string; ok: boolean; ms: number; detail: string | null }[];
  recovered: { outcome: string } | null;
  heldBy: { pid: number } | null;
}

const DAY = 86_400_000;

const rotateJson = (server: XrdpServer, ...extra: string[]) => rotateXrdpJson<RotateJson>(server, ...extra);

const presented = async (server: XrdpServer) => probe({ input: `127.0.0.1:${server.port}`, host: "127.0.0.1", port: server.port }, { timeoutMs: 5000 });
const sha1 = (pem: string | Buffer): string => new X509Certificate(pem).fingerprint.replace(/:/g, "");

function snapshot(paths: string[]): Record<string, { data: string; mtimeMs: number; mode: number }> {
  return Object.fromEntries(
    paths.filter((p) => existsSync(p)).map((p) => [p, { data: readFileSync(p, "latin1"), mtimeMs: statSync(p).mtimeMs, mode: statSync(p).mode }]),
  );
}

describe("rdpcert rotate against real xrdp", () => {
  const start = xrdpPool({ requireRoot: true });

  it("rotates an expiring certificate: new thumbprint presented, ~180 days, key root:xrdp 0640, ini untouched, backup 0700/0600", async () => {
    const old = certValid(-170, 10);
    const server = await start(old);
    const iniBefore = readFileSync(server.iniPath);
    const { code, json } = await rotateJson(server, "--no-restart", "--reason", "test: expiring");
    expect([json.outcome, code]).toEqual(["rotated", 0]);
    expect(json.oldThumbprint).toBe(sha1(old.certPem));
    const now = await presented(server);
    expect(now.error).toBeNull();
    expect(now.certificate!.thumbprint).toBe(json.newThumbprint);
    expect(now.certificate!.thumbprint).toBe(sha1(readFileSync(server.certPath)));
    expect(now.certificate!.thumbprint).not.toBe(json.oldThumbprint);
    const lifetime = (now.certificate!.notAfter.getTime() - Date.now()) / DAY;
    expect(lifetime).toBeGreaterThan(179);
    expect(lifetime).toBeLessThan(181);
    expect(now.certificate!.extendedKeyUsage).toEqual(["serverAuth"]);
    expect(now.certificate!.keyUsage).toEqual(["digitalSignature", "keyEncipherment"]);
    const key = statSync(server.keyPath);
    expect([key.mode & 0o777, key.uid, key.gid]).toEqual([0o640, 0, server.runAs!.gid]);
    expect((statSync(server.certPath).mode & 0o777).toString(8)).toBe("644");
    expect(readFileSync(server.iniPath).equals(iniBefore)).toBe(true);
    // The backup holds the old pair, private: dir 0700, files 0600.
    const backupDir = json.backupPath!;
    expect(statSync(backupDir).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(backupDir)) expect(statSync(join(backupDir, name)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(backupDir, "0-certificate"), "utf8")).toBe(old.certPem);
    // Run twice: the second finds nothing to do.
    const again = await rotateJson(server, "--no-restart");
    expect([again.json.outcome, again.code]).toEqual(["not-needed", 0]);
  });

  it.each([
    ["a missing key", (pair: { certPem: string; keyPem: string }) => ({ certPem: pair.certPem })],
    ["a truncated certificate", (pair: { certPem: string; keyPem: string }) => ({ certPem: pair.certPem.slice(0, 300), keyPem: pair.keyPem })],
  ])("repairs %s", async (_name, make) => {
    const server = await start(make(certValid(-1, 179)));
    const before = await presented(server);
    expect(before.certificate).toBeNull();
    const { code, json } = await rotateJson(server, "--no-restart");
    expect([json.outcome, code, json.outcome === "rotated" ? "" : json.reason]).toEqual(["rotated", 0, ""]);
    const after = await presented(server);
    expect(after.error).toBeNull();
    expect(after.certificate!.thumbprint).toBe(json.newThumbprint);
  });

  it("leaves a shared (snakeoil-style) pair untouched and repoints the ini, changing only those two values", async () => {
    const shared = certValid(-170, 10, "shared-snakeoil");
    const server = await start(shared);
    // Make cert.pem and key.pem links to a shared pair, like Debian's /etc/xrdp -> /etc/ssl/... snakeoil.
    const sharedDir = join(server.dir, "ssl");
    mkdirSync(sharedDir);
    const sharedCert = join(sharedDir, "ssl-cert-snakeoil.pem");
    const sharedKey = join(sharedDir, "ssl-cert-snakeoil.key");
    writeOwned(sharedCert, shared.certPem, 0o644, server.runAs);
    writeOwned(sharedKey, shared.keyPem, 0o600, server.runAs);
    execFileSync("rm", [server.certPath, server.keyPath]);
    symlinkSync(sharedCert, server.certPath);
    symlinkSync(sharedKey, server.keyPath);
    const sharedBefore = snapshot([sharedCert, sharedKey]);
    const iniBefore = readFileSync(server.iniPath, "utf8");

    const { code, json } = await rotateJson(server, "--no-restart");
    expect([json.outcome, code]).toEqual(["rotated", 0]);
    expect(snapshot([sharedCert, sharedKey])).toEqual(sharedBefore);
    const managedCert = join(server.dir, "rdpcert", "cert.pem");
    const managedKey = join(server.dir, "rdpcert", "key.pem");
    const iniAfter = readFileSync(server.iniPath, "utf8");
    expect(iniAfter).toBe(
      iniBefore.replace(`certificate=${server.certPath}`, `certificate=${managedCert}`).replace(`key_file=${server.keyPath}`, `key_file=${managedKey}`),
    );
    expect((await presented(server)).certificate!.thumbprint).toBe(sha1(readFileSync(managedCert)));
    expect(json.plan.join("\n")).toContain("link to a shared pair");
  });

  it("--dry-run prints the exact plan and changes no file (contents and mtimes)", async () => {
    const server = await start(certValid(-170, 10));
    const files = [server.certPath, server.keyPath, server.iniPath];
    const before = snapshot(files);
    const run = await rdpcert(["rotate", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), "--dry-run", "--no-restart"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^planned {2}WARN: /);
    expect(run.stdout).toContain("Plan: nothing has been changed");
    expect(run.stdout).toContain(`write ${server.certPath} (0644) and ${server.keyPath}`);
    expect(snapshot(files)).toEqual(before);
    expect(existsSync(join(server.dir, "state"))).toBe(false);
  });

  it("refuses a CA-issued certificate without --force, and says what to do", async () => {
    const server = await start(caIssued(-300, 5));
    const before = snapshot([server.certPath, server.keyPath]);
    const { code, json } = await rotateJson(server, "--no-restart");
    expect([json.outcome, code]).toEqual(["refused", 3]);
    expect(json.reason).toMatch(/CA-issued/);
    expect(json.fix).toMatch(/renew it with its CA.*--force/);
    expect(snapshot([server.certPath, server.keyPath])).toEqual(before);
  });

  it("a healthy listener is not-needed; --force rotates it anyway", async () => {
    const server = await start(certValid(-1, 179));
    expect((await rotateJson(server, "--no-restart")).json.outcome).toBe("not-needed");
    const forced = await rotateJson(server, "--no-restart", "--force");
    expect([forced.json.outcome, forced.code]).toEqual(["rotated", 0]);
  });

  it("rolls back when the restart command fails: old certificate presented again, exit 2", async () => {
    const old = certValid(-170, 10);
    const server = await start(old);
    const { code, json } = await rotateJson(server, "--restart-command", "sh -c 'echo unit xrdp.service not found >&2; exit 5'");
    expect([json.outcome, code]).toEqual(["rolled-back", 2]);
    expect(json.reason).toBe("restart command sh -c echo unit xrdp.service not found >&2; exit 5 exited with 5: unit xrdp.service not found");
    expect((await presented(server)).certificate!.thumbprint).toBe(sha1(old.certPem));
    expect(readFileSync(server.certPath, "utf8")).toBe(old.certPem);
    // The restart fails again during the rollback; what counts is that the old certificate is presented.
    expect(json.steps.map((s) => [s.step, s.ok])).toEqual([
      ["backup", true],
      ["replace", true],
      ["config-test", true],
      ["restart", false],
      ["restore", true],
      ["restart", false],
      ["verify-old", true],
    ]);
  });

  it("rolls back when the restart succeeds but the listener still presents the old certificate", async () => {
    const old = certValid(-170, 10);
    const server = await start(old);
    // A second ini naming copies of the pair, on the same port: rotating it cannot change what xrdp serves.
    const other = join(server.dir, "other");
    mkdirSync(other);
    writeOwned(join(other, "cert.pem"), old.certPem, 0o644, server.runAs);
    writeOwned(join(other, "key.pem"), old.keyPem, 0o600, server.runAs);
    const ini = join(other, "xrdp.ini");
    writeFileSync(
      ini,
      readFileSync(server.iniPath, "utf8")
        .split(server.dir + "/cert.pem")
        .join(join(other, "cert.pem"))
        .split(server.dir + "/key.pem")
        .join(join(other, "key.pem")),
    );
    const run = await rdpcert([
      "rotate",
      "--xrdp-ini",
      ini,
      "--state-dir",
      join(other, "state"),
      "--yes",
      "--json",
      "--verify-timeout",
      "1500",
      "--restart-command",
      "true",
    ]);
    const json = JSON.parse(run.stdout) as RotateJson;
    expect([json.outcome, run.code]).toEqual(["rolled-back", 2]);
    expect(json.reason).toMatch(/^verification failed: the listener still presents the old certificate/);
    expect(readFileSync(join(other, "cert.pem"), "utf8")).toBe(old.certPem);
    expect((await presented(server)).certificate!.thumbprint).toBe(sha1(old.certPem));
  });

  it("rolls back when the disk refuses the write (a read-only filesystem), without needing to write", async () => {
    const old = certValid(-170, 10);
    const server = await start(old);
    const mount = join(server.dir, "ro");
    mkdirSync(mount);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", mount]);
    try {
      writeOwned(join(mount, "cert.pem"), old.certPem, 0o644, server.runAs);
      writeOwned(join(mount, "key.pem"), old.keyPem, 0o600, server.runAs);
      writeFileSync(
        server.iniPath,
        readFileSync(server.iniPath, "utf8").replace(server.certPath, join(mount, "cert.pem")).replace(server.keyPath, join(mount, "key.pem")),
      );
      execFileSync("mount", ["-o", "remount,ro", mount]);
      const { code, json } = await rotateJson(server, "--no-restart");
      expect([json.outcome, code]).toEqual(["rolled-back", 2]);
      expect(json.reason).toMatch(/writing the new pair failed: EROFS/);
      expect((await presented(server)).certificate!.thumbprint).toBe(sha1(old.certPem));
    } finally {
      execFileSync("umount", [mount]);
    }
  });

  it("two rotations at once (real processes): exactly one rotates, never both", async () => {
    const server = await start(certValid(-170, 10));
    const args = ["rotate", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), "--yes", "--json", "--no-restart"];
    const runs = await Promise.all([rdpcert(args), rdpcert(args), rdpcert(args)]);
    const outcomes = runs.map((r) => (JSON.parse(r.stdout) as RotateJson).outcome).sort();
    expect(outcomes.filter((o) => o === "rotated")).toHaveLength(1);
    for (const o of outcomes) expect(["rotated", "busy", "not-needed"]).toContain(o);
    const busy = runs.map((r) => JSON.parse(r.stdout) as RotateJson).find((j) => j.outcome === "busy");
    if (busy) expect(busy.reason).toMatch(/^another rotation is running: pid \d+/);
  });

  it("a lock left by a dead process is taken over", async () => {
    const server = await start(certValid(-170, 10));
    const state = join(server.dir, "state");
    mkdirSync(state, { mode: 0o700 });
    const dead = spawn(process.execPath, ["-e", ""]);
    await new Promise((resolve) => dead.once("exit", resolve));
    writeFileSync(join(state, "rotate.lock"), JSON.stringify({ pid: dead.pid, host: hostname(), since: "2026-01-01T00:00:00Z" }));
    const run = await rdpcert(["rotate", "--xrdp-ini", server.iniPath, "--state-dir", state, "--yes", "--no-restart"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`took over the rotation lock left by pid ${dead.pid}`);
  });

  it("without --yes and without a terminal it refuses to act (exit 3)", async () => {
    const server = await start(certValid(-170, 10));
    const run = await rdpcert(["rotate", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state")]);
    expect(run.code).toBe(3);
    expect(run.stderr.trim()).toBe("rdpcert: rotate changes the listener's certificate: pass --yes to confirm (or --dry-run to see the plan)");
  });

  it("backups list and backups restore take an admin back by hand, backing up the current pair first", async () => {
    const old = certValid(-170, 10);
    const server = await start(old);
    const state = join(server.dir, "state");
    const { json } = await rotateJson(server, "--no-restart");
    expect(json.outcome).toBe("rotated");
    const list = await rdpcert(["backups", "list", "--state-dir", state, "--json"]);
    const backups = (JSON.parse(list.stdout) as { backups: { id: string; thumbprint: string }[] }).backups;
    expect(backups).toEqual([expect.objectContaining({ id: json.backupId, thumbprint: sha1(old.certPem) })]);
    const restore = await rdpcert([
      "backups",
      "restore",
      json.backupId!,
      "--xrdp-ini",
      server.iniPath,
      "--state-dir",
      state,
      "--yes",
      "--no-restart",
      "--json",
    ]);
    const result = JSON.parse(restore.stdout) as { outcome: string; safetyBackupId: string };
    expect([result.outcome, restore.code]).toEqual(["restored", 0]);
    expect((await presented(server)).certificate!.thumbprint).toBe(sha1(old.certPem));
    const after = JSON.parse((await rdpcert(["backups", "list", "--state-dir", state, "--json"])).stdout) as { backups: { id: string; thumbprint: string }[] };
    expect(after.backups.find((b) => b.id === result.safetyBackupId)?.thumbprint).toBe(json.newThumbprint);
    const missing = await rdpcert(["backups", "restore", "0999", "--xrdp-ini", server.iniPath, "--state-dir", state, "--yes", "--no-restart"]);
    expect(missing.code).toBe(3);
    expect(missing.stdout).toMatch(/there is no backup 0999/);
  });
});

describe("interrupted rotations (the process is killed at every step boundary)", () => {
  const startXrdp = xrdpPool();

  it.each(["after-lock", "after-journal", "after-backup", "after-replace", "after-restart", "before-verify"])(
    "killed %s: the next status finishes or rolls back, and the listener presents a valid certificate",
    async (point) => {
      const server = await startXrdp(certValid(-170, 10));
      const state = join(server.dir, "state");
      const killed = await rdpcert(["rotate", "--xrdp-ini", server.iniPath, "--state-dir", state, "--yes", "--no-restart"], {
        env: { RDPCERT_TEST_FAULT: point },
      });
      expect(killed.code).toBeNull(); // SIGKILL
      const status = await rdpcert(["status", "--xrdp-ini", server.iniPath, "--state-dir", state, "--json"]);
      const json = JSON.parse(status.stdout) as { status: string; recovered: { outcome: string; reason: string } | null };
      const journalWasOpen = point !== "after-lock";
      if (journalWasOpen)
        expect(json.recovered?.outcome).toMatch(point === "after-journal" || point === "after-backup" ? /^abandoned$/ : /^(completed|rolled-back)$/);
      expect(existsSync(join(state, "journal.json"))).toBe(false);
      const now = await presented(server);
      expect(now.error).toBeNull();
      expect(now.certificate!.notAfter.getTime()).toBeGreaterThan(Date.now());
      expect(now.certificate!.thumbprint).toBe(sha1(readFileSync(server.certPath)));
      // And a rotation can run again normally afterwards.
      const next = await rdpcert(["rotate", "--xrdp-ini", server.iniPath, "--state-dir", state, "--yes", "--no-restart", "--json"]);
      expect(["rotated", "not-needed"]).toContain((JSON.parse(next.stdout) as RotateJson).outcome);
    },
  );

  it("killed during a rollback (after-restore): the next status completes the rollback", async () => {
    const old = certValid(-170, 10);
    const server = await startXrdp(old);
    const state = join(server.dir, "state");
    const killed = await rdpcert(["rotate", "--xrdp-ini", server.iniPath, "--state-dir", state, "--yes", "--restart-command", "false"], {
      env: { RDPCERT_TEST_FAULT: "after-restore" },
    });
    expect(killed.code).toBeNull();
    expect(JSON.parse(readFileSync(join(state, "journal.json"), "utf8"))).toMatchObject({ step: "restoring" });
    const status = await rdpcert(["status", "--xrdp-ini", server.iniPath, "--state-dir", state, "--json"]);
    expect((JSON.parse(status.stdout) as { recovered: { outcome: string } }).recovered.outcome).toBe("rolled-back");
    expect((await presented(server)).certificate!.thumbprint).toBe(sha1(old.certPem));
  });

  it("uses the CLI binary built for the tests", () => {
    expect(existsSync(CLI)).toBe(true);
  });
});
