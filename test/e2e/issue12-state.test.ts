import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { type XrdpServer, lookupUser, writeOwned } from "../../scripts/xrdp-server";
import { generateKey } from "../../src/core/self-signed";
import { probe } from "../../src/probe/prober";
import { certValid } from "../helpers/certs";
import { rdpcert } from "../helpers/cli";
import { adminDir } from "../helpers/admin-dir";
import { rotateXrdpJson, writeXrdpConfig, xrdpPool } from "../helpers/xrdp-pool";

/**
 * The state dir and the files a rotation touches, as an attacker or an
 * unlucky admin would meet them (the state dir is root's; never overwrite what
 * is not the listener's pair; a rollback never overwrites a newer pair; a
 * stale lock whose pid was reused; leftover temp files; a restore never prunes
 * the backup it restores; a symlinked xrdp.ini; the describe blocks keep the
 * case numbers they were filed under): the built CLI, real xrdp
 * servers on loopback, and a real second user (rdpcert-t2) for what another
 * user can plant. Runs as root.
 */
const OTHER = "rdpcert-t2";

function otherUser(): { uid: number; gid: number } {
  if (!lookupUser(OTHER)) execFileSync("useradd", ["--system", "--no-create-home", OTHER]);
  return lookupUser(OTHER)!;
}

/** Writes `text` to `path` as the other user (the file is theirs, as if they planted it). */
function plantAs(path: string, text: string): void {
  execFileSync("runuser", ["-u", OTHER, "--", "tee", path], { input: text, stdio: ["pipe", "ignore", "inherit"] });
}

const sha1 = (pem: string | Buffer): string => new X509Certificate(pem).fingerprint.replace(/:/g, "");
const presented = async (server: XrdpServer) => probe({ input: `127.0.0.1:${server.port}`, host: "127.0.0.1", port: server.port }, { timeoutMs: 5000 });

function snapshot(paths: string[]): Record<string, { data: string; mode: number; uid: number; gid: number }> {
  return Object.fromEntries(paths.map((p) => [p, { data: readFileSync(p, "latin1"), mode: statSync(p).mode, uid: statSync(p).uid, gid: statSync(p).gid }]));
}

interface RotateJson {
  outcome: string;
  exitCode: number;
  reason: string;
  fix: string | null;
  newThumbprint: string | null;
  backupId: string | null;
  plan: string[];
  steps: { step: string; ok: boolean; detail: string | null }[];
}

const rotateJson = (server: XrdpServer, ...extra: string[]) => rotateXrdpJson<RotateJson>(server, ...extra);

describe("issue 12: the state dir is root's (case 6)", () => {
  const start = xrdpPool({ requireRoot: true });

  /** A journal and a backup that would make a root restore write a setuid-root file where the planter chooses. */
  function plantRestore(state: string, evil: string): void {
    mkdirSync(join(state, "backups", "0001"), { recursive: true });
    writeFileSync(
      join(state, "journal.json"),
      JSON.stringify({
        id: "planted",
        pid: 1,
        startedAt: "2026-01-01T00:00:00Z",
        backend: "xrdp",
        step: "replaced",
        oldThumbprint: null,
        newThumbprint: "AA",
        backupId: "0001",
        reason: null,
        presentedBefore: null,
      }),
    );
    writeFileSync(join(state, "backups", "0001", "0-certificate"), "#!/bin/sh\nid\n");
    writeFileSync(
      join(state, "backups", "0001", "meta.json"),
      JSON.stringify({
        id: "0001",
        createdAt: "2026-01-01T00:00:00Z",
        backend: "xrdp",
        thumbprint: null,
        reason: null,
        items: [{ file: "0-certificate", role: "certificate", originalPath: evil, mode: 0o4755, uid: 0, gid: 0, wasLink: false }],
        extra: null,
      }),
    );
  }

  it.each([
    ["owned by another user", (state: string) => execFileSync("chown", ["-R", OTHER, state])],
    ["root's but writable by every user", (state: string) => chmodSync(state, 0o777)],
  ])("a state dir %s, with a planted journal and backup: status refuses it (one line, exit 3) and creates nothing", async (_name, loosen) => {
    otherUser();
    const server = await start(certValid(-1, 179));
    const state = join(server.dir, "state");
    const evil = join(server.dir, "evil-setuid");
    plantRestore(state, evil);
    loosen(state);
    const run = await rdpcert(["status", "--xrdp-ini", server.iniPath, "--state-dir", state, "--json"]);
    expect(run.code).toBe(3);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/^rdpcert: state dir .*: refusing to use it/);
    expect(existsSync(evil)).toBe(false);
  });

  it("files planted by another user inside a root-owned state dir are refused too", async () => {
    otherUser();
    const server = await start(certValid(-1, 179));
    const state = join(server.dir, "state");
    mkdirSync(state, { mode: 0o700 });
    chmodSync(state, 0o777);
    plantAs(
      join(state, "journal.json"),
      JSON.stringify({
        id: "planted",
        pid: 1,
        startedAt: "t",
        backend: "xrdp",
        step: "started",
        oldThumbprint: null,
        newThumbprint: null,
        backupId: null,
        reason: null,
        presentedBefore: null,
      }),
    );
    chmodSync(state, 0o700);
    const run = await rdpcert(["rotate", "--xrdp-ini", server.iniPath, "--state-dir", state, "--yes", "--no-restart"]);
    expect(run.code).toBe(3);
    expect(run.stdout).toMatch(/^refused {2}state dir .*journal\.json is owned by uid \d+, not by root/);
  });

  it("a trusted state dir with a backup naming a path the configuration does not name: the recovery writes nothing there, and never a setuid bit", async () => {
    const server = await start(certValid(-1, 179));
    const state = join(server.dir, "state");
    const evil = join(server.dir, "evil-setuid");
    plantRestore(state, evil);
    chmodSync(state, 0o700);
    const run = await rdpcert(["status", "--xrdp-ini", server.iniPath, "--state-dir", state, "--json"]);
    const json = JSON.parse(run.stdout) as { recovered: { outcome: string; reason: string } };
    expect(json.recovered.outcome).toBe("rollback-failed");
    expect(json.recovered.reason).toMatch(/the backup names .*evil-setuid, which the current configuration does not name: nothing was restored/);
    expect(existsSync(evil)).toBe(false);
  });

  it("a backup of the configured certificate with mode 04755: restored with 0755 (permission bits only)", async () => {
    const old = certValid(-170, 10);
    const server = await start(old);
    const state = join(server.dir, "state");
    mkdirSync(join(state, "backups", "0001"), { recursive: true, mode: 0o700 });
    writeFileSync(join(state, "backups", "0001", "0-certificate"), old.certPem, { mode: 0o600 });
    writeFileSync(
      join(state, "backups", "0001", "meta.json"),
      JSON.stringify({
        id: "0001",
        createdAt: "2026-01-01T00:00:00Z",
        backend: "xrdp",
        thumbprint: sha1(old.certPem),
        reason: null,
        items: [{ file: "0-certificate", role: "certificate", originalPath: server.certPath, mode: 0o4755, uid: 0, gid: 0, wasLink: false }],
        extra: null,
      }),
      { mode: 0o600 },
    );
    writeFileSync(server.certPath, certValid(-1, 100, "other", generateKey()).certPem);
    const run = await rdpcert(["backups", "restore", "1", "--xrdp-ini", server.iniPath, "--state-dir", state, "--yes", "--no-restart", "--json"]);
    expect(JSON.parse(run.stdout)).toMatchObject({ outcome: "restored" });
    expect(statSync(server.certPath).mode & 0o7777).toBe(0o755);
  });

  it.each([
    [
      "the state dir",
      (state: string) => {
        mkdirSync(`${state}.real`, { mode: 0o700 });
        symlinkSync(`${state}.real`, state);
        return `${state}.real`;
      },
    ],
    [
      "backups/",
      (state: string) => {
        mkdirSync(state, { mode: 0o700 });
        mkdirSync(`${state}.elsewhere`, { mode: 0o755 });
        symlinkSync(`${state}.elsewhere`, join(state, "backups"));
        return `${state}.elsewhere`;
      },
    ],
    [
      "history.jsonl",
      (state: string) => {
        mkdirSync(state, { mode: 0o700 });
        writeFileSync(`${state}.history`, "", { mode: 0o644 });
        symlinkSync(`${state}.history`, join(state, "history.jsonl"));
        return `${state}.history`;
      },
    ],
  ])("a symlinked %s is refused (one line, exit 3): the target is neither chmod-ed nor written", async (_name, make) => {
    const server = await start(certValid(-170, 10));
    const state = join(server.dir, "state");
    const target = make(state);
    const before = { mode: statSync(target).mode, entries: statSync(target).isDirectory() ? readdirSync(target) : readFileSync(target, "utf8") };
    const run = await rdpcert(["rotate", "--xrdp-ini", server.iniPath, "--state-dir", state, "--yes", "--no-restart"]);
    expect(run.code).toBe(3);
    expect(run.stdout).toMatch(/^refused {2}state dir .* is a symlink: refusing to use it/);
    expect(run.stdout).toContain("fix: use a state dir that only root owns and writes (mode 0700)");
    expect({ mode: statSync(target).mode, entries: statSync(target).isDirectory() ? readdirSync(target) : readFileSync(target, "utf8") }).toEqual(before);
  });

  it("status as another (non-root) user with root's 0700 state dir: no error about the state dir, the usual report", async () => {
    otherUser();
    const server = await start(certValid(-1, 179));
    const state = join(server.dir, "state");
    mkdirSync(state, { mode: 0o700 });
    writeFileSync(join(state, "journal.json"), "{}", { mode: 0o600 });
    const { readableCli } = await import("../helpers/cli");
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("runuser", [
        "-u",
        OTHER,
        "--",
        process.execPath,
        readableCli(),
        "status",
        "--xrdp-ini",
        server.iniPath,
        "--state-dir",
        state,
        "--json",
      ]);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.once("close", (code) => resolve({ code, stdout, stderr }));
    });
    expect(run.stderr).not.toMatch(/internal error|state dir/);
    expect(JSON.parse(run.stdout)).toMatchObject({ schema: "rdpcert.status/v1", recovered: null });
  });

  it("a new state dir is created 0700 and root-owned", async () => {
    const server = await start(certValid(-170, 10));
    const state = join(server.dir, "state");
    const { json } = await rotateJson(server, "--no-restart");
    expect(json.outcome).toBe("rotated");
    const stats = statSync(state);
    expect([stats.mode & 0o777, stats.uid, stats.gid]).toEqual([0o700, 0, 0]);
  });

  it.each([
    [
      "owned by another user, writable by all",
      (path: string) => {
        execFileSync("chown", [OTHER, path]);
        chmodSync(path, 0o666);
      },
    ],
    ["root's but writable by its group", (path: string) => chmodSync(path, 0o664)],
  ])("a config file %s is refused: its restartCommand never runs as root", async (_name, loosen) => {
    otherUser();
    const server = await start(certValid(-170, 10));
    const marker = join(server.dir, "ran-as-root");
    const config = join(adminDir(), "config.json");
    writeFileSync(
      config,
      JSON.stringify({ xrdpIni: server.iniPath, stateDir: join(server.dir, "state"), logDir: join(server.dir, "log"), restartCommand: ["touch", marker] }),
    );
    loosen(config);
    const before = snapshot([server.certPath, server.keyPath, server.iniPath]);
    const run = await rdpcert(["run", "--config", config, "--json"]);
    expect(run.code).toBe(3);
    expect(run.stderr.trim()).toMatch(/^rdpcert: the config file .*config\.json is (owned by uid \d+|writable by its group).*refusing to use it/);
    expect(existsSync(marker)).toBe(false);
    expect(snapshot([server.certPath, server.keyPath, server.iniPath])).toEqual(before);
  });

  it("a restart command whose executable another user can change is refused before anything changes", async () => {
    const other = otherUser();
    const server = await start(certValid(-170, 10));
    const script = join(adminDir(), "restart.sh");
    writeFileSync(script, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    chownSync(script, other.uid, other.gid);
    const before = snapshot([server.certPath, server.keyPath, server.iniPath]);
    const run = await rdpcert([
      "rotate",
      "--xrdp-ini",
      server.iniPath,
      "--state-dir",
      join(server.dir, "state"),
      "--yes",
      "--json",
      "--restart-command",
      script,
    ]);
    expect(run.code).toBe(3);
    expect(JSON.parse(run.stdout)).toMatchObject({
      outcome: "refused",
      exitCode: 3,
      reason: expect.stringMatching(/^the restart command's executable .*restart\.sh is owned by uid \d+, not by root.*refusing to run it as root$/),
    });
    expect(snapshot([server.certPath, server.keyPath, server.iniPath])).toEqual(before);
  });

  it("a world-writable xrdp.ini or certificate directory is a warning with its fix", async () => {
    const other = otherUser();
    const server = await start(certValid(-1, 179));
    const certs = join(server.dir, "certs");
    mkdirSync(certs);
    renameSync(server.certPath, join(certs, "cert.pem"));
    renameSync(server.keyPath, join(certs, "key.pem"));
    writeFileSync(
      server.iniPath,
      readFileSync(server.iniPath, "utf8").replace(server.certPath, join(certs, "cert.pem")).replace(server.keyPath, join(certs, "key.pem")),
    );
    chmodSync(certs, 0o777);
    chmodSync(server.iniPath, 0o666);
    const run = await rdpcert(["status", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), "--json"]);
    const findings = (JSON.parse(run.stdout) as { findings: { severity: string; code: string; message: string; fix: string | null }[] }).findings;
    expect(findings).toEqual(
      expect.arrayContaining([
        { severity: "warn", code: "ini-world-writable", message: expect.stringContaining("writable by every user"), fix: `chmod o-w ${server.iniPath}` },
        { severity: "warn", code: "cert-dir-world-writable", message: expect.stringContaining(certs), fix: `chmod o-w ${certs}` },
      ]),
    );
    chmodSync(certs, 0o755);
    chownSync(certs, other.uid, other.gid);
    const again = await rdpcert(["status", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), "--json"]);
    const codes = (JSON.parse(again.stdout) as { findings: { code: string; fix: string | null }[] }).findings;
    expect(codes).toEqual(
      expect.arrayContaining([
        { severity: "warn", code: "cert-dir-foreign-owner", message: expect.stringContaining(`uid ${other.uid}`), fix: `chown root ${certs}` },
      ]),
    );
  });
});

describe("issue 12: never overwrite what is not the listener's pair (case 7)", () => {
  const start = xrdpPool({ requireRoot: true });

  it.each([
    ["key_file= names a copy of a password file", "key"],
    ["certificate= names a copy of a password file", "certificate"],
  ])("%s: rotate refuses (exit 3), nothing changes, and the file is never quoted", async (_name, role) => {
    const server = await start(certValid(-170, 10));
    const victim = join(server.dir, "passwd-copy");
    writeFileSync(victim, "root:x:0:0:root:/root:/bin/bash\nsecretline:x:1:1::/:/bin/sh\n", { mode: 0o600 });
    const path = role === "key" ? server.keyPath : server.certPath;
    writeFileSync(server.iniPath, readFileSync(server.iniPath, "utf8").replace(`=${path}`, `=${victim}`));
    const before = snapshot([victim, server.certPath, server.keyPath, server.iniPath]);
    const { code, json } = await rotateJson(server, "--no-restart", "--force");
    expect([json.outcome, code]).toEqual(["refused", 3]);
    expect(json.reason).toBe(`${victim} exists but holds no PEM ${role === "key" ? "private key" : "certificate"}: rdpcert will not overwrite it`);
    expect(JSON.stringify(json)).not.toContain("secretline");
    expect(snapshot([victim, server.certPath, server.keyPath, server.iniPath])).toEqual(before);
    expect(existsSync(join(server.dir, "state", "backups", "0001"))).toBe(false);
  });

  it("status does not advise chgrp on a key_file= that is not a key", async () => {
    const server = await start(certValid(-170, 10));
    const victim = join(server.dir, "passwd-copy");
    writeFileSync(victim, "root:x:0:0:root:/root:/bin/bash\n", { mode: 0o600 });
    writeFileSync(server.iniPath, readFileSync(server.iniPath, "utf8").replace(`=${server.keyPath}`, `=${victim}`));
    const run = await rdpcert(["status", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), "--json"]);
    const json = JSON.parse(run.stdout) as { configured: { key: { state: string; reason: string } }; problems: { fix: string | null }[] };
    expect(json.configured.key.state).toBe("not-a-key");
    expect(run.stdout).not.toMatch(/chgrp/);
    expect(run.stdout).not.toContain("root:x:0:0");
  });

  it("a truncated key (it has the BEGIN line) is still repaired", async () => {
    const pair = certValid(-170, 10);
    const server = await start({ certPem: pair.certPem, keyPem: pair.keyPem.slice(0, 200) });
    const { code, json } = await rotateJson(server, "--no-restart");
    expect([json.outcome, code, json.outcome === "rotated" ? "" : json.reason]).toEqual(["rotated", 0, ""]);
    expect((await presented(server)).certificate!.thumbprint).toBe(json.newThumbprint);
  });

  it.each([
    ["named directly by Debian's snakeoil names", "ssl-cert-snakeoil", null],
    ["a file with more than one hard link", "shared", "hardlink"],
    ["a key in group ssl-cert", "shared", "ssl-cert"],
  ])("a shared pair %s: run writes rdpcert's own pair, repoints the ini, and leaves the shared files byte-identical", async (_name, base, how) => {
    const shared = certValid(-170, 10, "shared-pair");
    const server = await start(shared);
    if (
      how === "ssl-cert" &&
      !readFileSync("/etc/group", "utf8")
        .split("\n")
        .some((l) => l.startsWith("ssl-cert:"))
    )
      execFileSync("groupadd", ["--system", "ssl-cert"]);
    const dir = join(server.dir, "ssl");
    mkdirSync(dir);
    const cert = join(dir, `${base}.pem`);
    const key = join(dir, `${base}.key`);
    writeOwned(cert, shared.certPem, 0o644, server.runAs);
    writeOwned(key, shared.keyPem, 0o640, server.runAs);
    if (how === "ssl-cert") execFileSync("chgrp", ["ssl-cert", key]);
    if (how === "hardlink") linkSync(key, join(dir, "other-service.key"));
    writeFileSync(server.iniPath, readFileSync(server.iniPath, "utf8").replace(`=${server.certPath}`, `=${cert}`).replace(`=${server.keyPath}`, `=${key}`));
    const before = snapshot([cert, key]);
    const config = writeXrdpConfig(server);
    const run = await rdpcert(["run", "--config", config, "--json"]);
    const json = JSON.parse(run.stdout) as { outcome: string; exitCode: number; rotation: { plan: string[] } | null };
    expect([json.outcome, run.code]).toEqual(["rotated", 0]);
    expect(snapshot([cert, key])).toEqual(before);
    const managedCert = join(server.dir, "rdpcert", "cert.pem");
    expect(readFileSync(server.iniPath, "utf8")).toContain(`certificate=${managedCert}`);
    expect(readFileSync(server.iniPath, "utf8")).toContain(`key_file=${join(server.dir, "rdpcert", "key.pem")}`);
    expect((await presented(server)).certificate!.thumbprint).toBe(sha1(readFileSync(managedCert)));
  });
});

describe("issue 12: a rollback never overwrites a newer pair (case 8)", () => {
  const start = xrdpPool({ requireRoot: true });

  it("someone deploys a valid pair while the rotation runs (the restart command does it, then fails): rollback-failed, exit 2, their pair kept", async () => {
    const old = certValid(-170, 10);
    const server = await start(old);
    const deployed = certValid(-1, 179, "deployed-meanwhile", generateKey());
    const newCert = join(server.dir, "deployed-cert.pem");
    const newKey = join(server.dir, "deployed-key.pem");
    writeFileSync(newCert, deployed.certPem, { mode: 0o644 });
    writeFileSync(newKey, deployed.keyPem, { mode: 0o600 });
    const restart = `sh -c 'cp ${newCert} ${server.certPath} && cp ${newKey} ${server.keyPath}; exit 1'`;
    const { code, json } = await rotateJson(server, "--restart-command", restart);
    expect([json.outcome, code]).toEqual(["rollback-failed", 2]);
    expect(json.reason).toMatch(/changed during the rotation: it holds neither the backup nor what rdpcert wrote .*nothing was restored or overwritten/);
    expect(json.fix).toMatch(/^someone else changed the pair during the rotation and it was left as they wrote it/);
    expect(json.fix).not.toMatch(/^restore by hand/);
    expect(readFileSync(server.certPath, "utf8")).toBe(deployed.certPem);
    expect(readFileSync(server.keyPath, "utf8")).toBe(deployed.keyPem);
    expect(json.steps.map((s) => [s.step, s.ok])).toEqual([
      ["backup", true],
      ["replace", true],
      ["config-test", true],
      ["restart", false],
      ["restore", false],
    ]);
    expect(JSON.stringify(json)).not.toContain("PRIVATE KEY");
  });

  it("without a concurrent deploy the rollback still restores the old pair", async () => {
    const old = certValid(-170, 10);
    const server = await start(old);
    const { code, json } = await rotateJson(server, "--restart-command", "false");
    expect([json.outcome, code]).toEqual(["rolled-back", 2]);
    expect(readFileSync(server.certPath, "utf8")).toBe(old.certPem);
  });
});

describe("issue 12: a stale lock whose pid is another live process (case 9)", () => {
  const start = xrdpPool({ requireRoot: true });
  let sleeper: ChildProcess | null = null;
  afterEach(() => {
    sleeper?.kill("SIGKILL");
  });

  it("is taken over with a warning when the start time differs", async () => {
    const server = await start(certValid(-170, 10));
    const state = join(server.dir, "state");
    mkdirSync(state, { mode: 0o700 });
    sleeper = spawn("sleep", ["600"], { stdio: "ignore" });
    await new Promise((resolve) => sleeper!.once("spawn", resolve));
    const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    writeFileSync(join(state, "rotate.lock"), JSON.stringify({ pid: sleeper.pid, host: hostname(), since: "2026-01-01T00:00:00Z", startTime: "1", bootId }), {
      mode: 0o600,
    });
    const run = await rdpcert(["rotate", "--xrdp-ini", server.iniPath, "--state-dir", state, "--yes", "--no-restart"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`took over the rotation lock left by pid ${sleeper.pid} (pid ${sleeper.pid} is now another process)`);
    expect(sleeper.exitCode).toBeNull();
  });

  it("a lock held by the live process that took it is still busy", async () => {
    const server = await start(certValid(-170, 10));
    const state = join(server.dir, "state");
    mkdirSync(state, { mode: 0o700 });
    sleeper = spawn("sleep", ["600"], { stdio: "ignore" });
    await new Promise((resolve) => sleeper!.once("spawn", resolve));
    const startTime = readFileSync(`/proc/${sleeper.pid}/stat`, "latin1").split(") ")[1]!.split(" ")[19];
    const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    writeFileSync(join(state, "rotate.lock"), JSON.stringify({ pid: sleeper.pid, host: hostname(), since: "2026-01-01T00:00:00Z", startTime, bootId }), {
      mode: 0o600,
    });
    const { code, json } = await rotateJson(server, "--no-restart");
    expect([json.outcome, code]).toEqual(["busy", 3]);
  });
});

describe("issue 12: leftover temp files of interrupted writes (case 12)", () => {
  const start = xrdpPool({ requireRoot: true });

  it.each(["status", "rotate", "run"])("%s removes rdpcert's own leftover key copies beside the key, and nothing else", async (command) => {
    const other = otherUser();
    const pair = certValid(-170, 10);
    const server = await start(pair);
    const dead = spawn(process.execPath, ["-e", ""]);
    await new Promise((resolve) => dead.once("exit", resolve));
    const leftover = join(server.dir, `.key.pem.rdpcert-${dead.pid}-0a1b2c3d`);
    const leftoverCert = join(server.dir, `.cert.pem.rdpcert-${dead.pid}-deadbeef`);
    const notOurPattern = join(server.dir, `.key.pem.rdpcert-${dead.pid}-zzzz`);
    const notOurs = join(server.dir, `.key.pem.rdpcert-${dead.pid}-11111111`);
    const aDirectory = join(server.dir, `.key.pem.rdpcert-${dead.pid}-22222222`);
    for (const path of [leftover, leftoverCert, notOurPattern]) writeFileSync(path, pair.keyPem, { mode: 0o600 });
    writeFileSync(notOurs, "theirs", { mode: 0o600 });
    chownSync(notOurs, other.uid, other.gid);
    mkdirSync(aDirectory);
    const state = join(server.dir, "state");
    let run;
    if (command === "run") {
      const config = join(adminDir(), "config.json");
      writeFileSync(config, JSON.stringify({ xrdpIni: server.iniPath, stateDir: state, logDir: join(server.dir, "log"), restartCommand: null }));
      run = await rdpcert(["run", "--config", config]);
    } else if (command === "rotate") run = await rdpcert(["rotate", "--xrdp-ini", server.iniPath, "--state-dir", state, "--yes", "--no-restart"]);
    else run = await rdpcert(["status", "--xrdp-ini", server.iniPath, "--state-dir", state]);
    expect(run.stderr).toContain(`removed ${leftover}, left over by an interrupted write`);
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(leftoverCert)).toBe(false);
    expect(existsSync(notOurPattern)).toBe(true);
    expect(existsSync(notOurs)).toBe(true);
    expect(lstatSync(aDirectory).isDirectory()).toBe(true);
  });
});

describe("issue 12: backups restore never prunes the backup it restores (case 13)", () => {
  const start = xrdpPool({ requireRoot: true });

  it("restoring the oldest of --keep-backups 2 keeps it", async () => {
    const old = certValid(-170, 10);
    const server = await start(old);
    const state = join(server.dir, "state");
    const first = await rotateJson(server, "--no-restart", "--keep-backups", "2");
    expect(first.json.outcome).toBe("rotated");
    const second = await rotateJson(server, "--no-restart", "--keep-backups", "2", "--force");
    expect(second.json.outcome).toBe("rotated");
    expect([first.json.backupId, second.json.backupId]).toEqual(["0001", "0002"]);
    const restore = await rdpcert([
      "backups",
      "restore",
      "0001",
      "--xrdp-ini",
      server.iniPath,
      "--state-dir",
      state,
      "--yes",
      "--no-restart",
      "--keep-backups",
      "2",
      "--json",
    ]);
    const result = JSON.parse(restore.stdout) as { outcome: string; safetyBackupId: string };
    expect([result.outcome, restore.code]).toEqual(["restored", 0]);
    expect((await presented(server)).certificate!.thumbprint).toBe(sha1(old.certPem));
    const list = JSON.parse((await rdpcert(["backups", "list", "--state-dir", state, "--json"])).stdout) as { backups: { id: string }[] };
    expect(list.backups.map((b) => b.id)).toContain("0001");
    expect(list.backups.map((b) => b.id)).toContain(result.safetyBackupId);
  });
});

describe("issue 12: a symlinked xrdp.ini (case 16)", () => {
  const start = xrdpPool({ requireRoot: true });

  it("is edited at its target, crash-safely, and the link is kept; the listener serves the new pair", async () => {
    const shared = certValid(-170, 10, "shared-linked");
    const server = await start(shared);
    // The pair is shared (links), so the rotation repoints the ini; rdpcert is given a link to the ini xrdp reads.
    const sharedDir = join(server.dir, "ssl");
    mkdirSync(sharedDir);
    writeOwned(join(sharedDir, "c.pem"), shared.certPem, 0o644, server.runAs);
    writeOwned(join(sharedDir, "k.pem"), shared.keyPem, 0o600, server.runAs);
    execFileSync("rm", [server.certPath, server.keyPath]);
    symlinkSync(join(sharedDir, "c.pem"), server.certPath);
    symlinkSync(join(sharedDir, "k.pem"), server.keyPath);
    const link = join(server.dir, "xrdp-link.ini");
    symlinkSync(server.iniPath, link);
    const iniMode = statSync(server.iniPath).mode;
    const run = await rdpcert([
      "rotate",
      "--xrdp-ini",
      link,
      "--state-dir",
      join(server.dir, "state"),
      "--yes",
      "--json",
      "--no-restart",
      "--verify-timeout",
      "8000",
    ]);
    const json = JSON.parse(run.stdout) as RotateJson;
    expect([json.outcome, run.code]).toEqual(["rotated", 0]);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(server.iniPath);
    expect(statSync(server.iniPath).mode).toBe(iniMode);
    const managedCert = join(server.dir, "rdpcert", "cert.pem");
    expect(readFileSync(server.iniPath, "utf8")).toContain(`certificate=${managedCert}`);
    expect((await presented(server)).certificate!.thumbprint).toBe(sha1(readFileSync(managedCert)));
    expect(readdirSync(server.dir).filter((n) => n.includes(".rdpcert-"))).toEqual([]);
  });

  it("a failed rotation restores the target and keeps the link", async () => {
    const shared = certValid(-170, 10, "shared-linked");
    const server = await start(shared);
    const sharedDir = join(server.dir, "ssl");
    mkdirSync(sharedDir);
    writeOwned(join(sharedDir, "c.pem"), shared.certPem, 0o644, server.runAs);
    writeOwned(join(sharedDir, "k.pem"), shared.keyPem, 0o600, server.runAs);
    execFileSync("rm", [server.certPath, server.keyPath]);
    symlinkSync(join(sharedDir, "c.pem"), server.certPath);
    symlinkSync(join(sharedDir, "k.pem"), server.keyPath);
    const link = join(server.dir, "xrdp-link.ini");
    symlinkSync(server.iniPath, link);
    const iniBefore = readFileSync(server.iniPath, "utf8");
    const run = await rdpcert([
      "rotate",
      "--xrdp-ini",
      link,
      "--state-dir",
      join(server.dir, "state"),
      "--yes",
      "--json",
      "--restart-command",
      "false",
      "--verify-timeout",
      "8000",
    ]);
    expect([(JSON.parse(run.stdout) as RotateJson).outcome, run.code]).toEqual(["rolled-back", 2]);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(server.iniPath, "utf8")).toBe(iniBefore);
    expect((await presented(server)).certificate!.thumbprint).toBe(sha1(shared.certPem));
  });
});
