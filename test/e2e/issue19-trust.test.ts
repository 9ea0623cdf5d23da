import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, lchownSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { XrdpServer } from "../../scripts/xrdp-server";
import { probe } from "../../src/probe/prober";
import { adminDir } from "../helpers/admin-dir";
import { certValid } from "../helpers/certs";
import { CLI, rdpcert, rdpcertJson } from "../helpers/cli";
import { type Leaf, type TestCa, makeTestCa, opensslThumbprint } from "../helpers/test-ca";
import { ensureUser } from "../helpers/users";
import { snapshotFiles, xrdpPool } from "../helpers/xrdp-pool";

/**
 * File trust and configuration (docs/trust.md): nothing another user writes decides what root
 * deploys, runs or writes through. The built CLI as root, real xrdp on loopback, a real second
 * user (rdpcert-t2), real links and directories made by the test; each refusal is one line, a
 * documented exit code, and no byte changed (the listener keeps presenting what it did).
 */
const T2 = "rdpcert-t2";

interface Report {
  outcome: string;
  exitCode: number;
  reason: string;
  fix: string | null;
  warnings?: string[];
}

const presented = async (server: XrdpServer): Promise<string | null> =>
  (await probe({ input: `127.0.0.1:${server.port}`, host: "127.0.0.1", port: server.port }, { timeoutMs: 5000 })).certificate?.thumbprint ?? null;

/** certbot's layout: live/NAME/*.pem are relative links into archive/NAME/*1.pem; directories 0700, the key 0600. */
function certbotLineage(root: string, leaf: Leaf, name = "rdp"): { live: string; archive: string } {
  const archive = join(root, "archive", name);
  const live = join(root, "live", name);
  mkdirSync(archive, { recursive: true, mode: 0o700 });
  mkdirSync(live, { recursive: true, mode: 0o700 });
  writeFileSync(join(archive, "fullchain1.pem"), readFileSync(leaf.fullchainPath), { mode: 0o644 });
  writeFileSync(join(archive, "privkey1.pem"), readFileSync(leaf.keyPath), { mode: 0o600 });
  symlinkSync(`../../archive/${name}/fullchain1.pem`, join(live, "fullchain.pem"));
  symlinkSync(`../../archive/${name}/privkey1.pem`, join(live, "privkey.pem"));
  return { live, archive };
}

describe("issue 19: what root deploys comes only from files nobody else can change", () => {
  const start = xrdpPool({ requireRoot: true });
  let ca: TestCa;
  let t2: { uid: number; gid: number };
  beforeAll(() => {
    t2 = ensureUser(T2);
    ca = makeTestCa(join(adminDir("rdpcert-ca-"), "ca"));
  });
  // The CA (its keys too) lives in a temp dir of its own: removed with it.
  afterAll(() => rmSync(dirname(ca.dir), { recursive: true, force: true }));

  const deploy = (server: XrdpServer, lineage: string) =>
    rdpcertJson<Report>(
      [
        "deploy",
        "--from-certbot",
        "--xrdp-ini",
        server.iniPath,
        "--state-dir",
        join(server.dir, "state"),
        "--no-restart",
        "--verify-timeout",
        "8000",
        "--json",
        "--yes",
      ],
      { env: { RENEWED_LINEAGE: lineage } },
    );

  it("deploy --from-certbot follows certbot's live/ links into archive/ when every file and directory is root's", async () => {
    const server = await start(certValid(-10, 170));
    const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
    const { live } = certbotLineage(join(adminDir(), "letsencrypt"), leaf);
    const { code, json } = await deploy(server, live);
    expect([json.outcome, code]).toEqual(["deployed", 0]);
    expect(await presented(server)).toBe(opensslThumbprint(leaf.certPath));
  }, 120_000);

  it.each<[string, (root: string, lineage: { live: string; archive: string }) => void, RegExp]>([
    ["the lineage directory is the other user's", (_root, l) => chownSync(l.live, t2.uid, t2.gid), /live\/rdp is owned by uid \d+, not by root/],
    [
      "the archive/ directory the links lead to is the other user's",
      (_root, l) => chownSync(l.archive, t2.uid, t2.gid),
      /archive\/rdp is owned by uid \d+, not by root/,
    ],
    ["a directory above the lineage is writable by every user", (root) => chmodSync(root, 0o777), /letsencrypt is writable by every user/],
    ["a directory above the lineage is writable by its group", (root) => chmodSync(join(root, "live"), 0o770), /live is writable by its group/],
    [
      "the chain file is the other user's",
      (_root, l) => chownSync(join(l.archive, "fullchain1.pem"), t2.uid, t2.gid),
      /fullchain1\.pem\) is owned by uid \d+, not by root/,
    ],
    ["the key is group-writable", (_root, l) => chmodSync(join(l.archive, "privkey1.pem"), 0o660), /privkey1\.pem\) is writable by its group/],
    [
      "fullchain.pem links to a file in the other user's directory",
      (root, l) => {
        const theirs = join(root, "..", "theirs");
        mkdirSync(theirs, { mode: 0o755 });
        writeFileSync(join(theirs, "fullchain.pem"), readFileSync(join(l.archive, "fullchain1.pem")));
        chownSync(theirs, t2.uid, t2.gid);
        spawnSync("ln", ["-sfn", join(theirs, "fullchain.pem"), join(l.live, "fullchain.pem")]);
      },
      /theirs is owned by uid \d+/,
    ],
  ])(
    "deploy --from-certbot refuses when %s: one line, exit 3, no byte changed",
    async (_name, loosen, reason) => {
      const server = await start(certValid(-10, 170));
      const before = await presented(server);
      // The other user's own certificate and key, for this host's names: exactly what they would plant.
      const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
      const root = join(adminDir(), "letsencrypt");
      const lineage = certbotLineage(root, leaf);
      chmodSync(join(root, ".."), 0o755);
      loosen(root, lineage);
      const files = snapshotFiles(server.dir);
      const { code, json } = await deploy(server, lineage.live);
      expect([json.outcome, code, json.reason]).toEqual(["refused", 3, expect.stringMatching(reason)]);
      expect(json.reason).not.toMatch(/\n|BEGIN|PRIVATE/);
      expect(snapshotFiles(server.dir)).toEqual(files);
      expect(existsSync(join(server.dir, "rdpcert"))).toBe(false);
      expect(await presented(server)).toBe(before);
      // Text mode: one line with the reason, one with the fix.
      const text = await rdpcert(
        ["deploy", "--from-certbot", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), "--no-restart", "--yes"],
        { env: { RENEWED_LINEAGE: lineage.live } },
      );
      expect(text.code).toBe(3);
      expect(text.stdout.trim().split("\n")).toEqual([expect.stringMatching(/^refused {2}.*refusing to use it/), expect.stringMatching(/^ {2}fix: /)]);
    },
    120_000,
  );

  it("a lineage named with `..` that leads into the other user's directory is refused", async () => {
    const server = await start(certValid(-10, 170));
    const leaf = ca.issue("rdp.example.test");
    const base = adminDir();
    chmodSync(base, 0o755);
    const good = certbotLineage(join(base, "letsencrypt"), leaf);
    const evil = certbotLineage(join(base, "evil"), leaf);
    chownSync(join(base, "evil"), t2.uid, t2.gid);
    const files = snapshotFiles(server.dir);
    const { code, json } = await deploy(server, join(good.live, "..", "..", "..", "evil", "live", "rdp"));
    expect([json.outcome, code, json.reason]).toEqual(["refused", 3, expect.stringContaining(`${join(base, "evil")} is owned by uid ${t2.uid}`)]);
    expect(evil.live).toContain("evil");
    expect(snapshotFiles(server.dir)).toEqual(files);
  }, 120_000);

  it("deploy --cert/--key/--pfx from the other user's directory (or a file of theirs) is refused; copied into root's, deployed", async () => {
    const server = await start(certValid(-10, 170));
    const before = await presented(server);
    const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
    const base = adminDir();
    chmodSync(base, 0o755);
    const theirs = join(base, "home-t2");
    mkdirSync(theirs, { mode: 0o755 });
    const cert = join(theirs, "fullchain.pem");
    const key = join(theirs, "privkey.pem");
    writeFileSync(cert, readFileSync(leaf.fullchainPath));
    writeFileSync(key, readFileSync(leaf.keyPath), { mode: 0o600 });
    const pfx = join(theirs, "cert.pfx");
    spawnSync("openssl", ["pkcs12", "-export", "-in", leaf.fullchainPath, "-inkey", leaf.keyPath, "-out", pfx, "-passout", "pass:pw"]);
    chownSync(theirs, t2.uid, t2.gid);
    const files = snapshotFiles(server.dir);
    const args = [
      "deploy",
      "--xrdp-ini",
      server.iniPath,
      "--state-dir",
      join(server.dir, "state"),
      "--no-restart",
      "--verify-timeout",
      "8000",
      "--json",
      "--yes",
    ];
    for (const [extra, input] of [
      [["--cert", cert, "--key", key], ""],
      [["--pfx", pfx], "pw\n"],
    ] as const) {
      const { code, json } = await rdpcertJson<Report>([...args, ...extra], { input });
      expect([json.outcome, code, json.reason]).toEqual(["refused", 3, expect.stringContaining(`${theirs} is owned by uid ${t2.uid}, not by root`)]);
    }
    // A file of theirs in root's directory: refused too.
    const mine = join(base, "mine");
    mkdirSync(mine, { mode: 0o755 });
    writeFileSync(join(mine, "fullchain.pem"), readFileSync(leaf.fullchainPath));
    writeFileSync(join(mine, "privkey.pem"), readFileSync(leaf.keyPath), { mode: 0o600 });
    chownSync(join(mine, "privkey.pem"), t2.uid, t2.gid);
    const theirKey = await rdpcertJson<Report>([...args, "--cert", join(mine, "fullchain.pem"), "--key", join(mine, "privkey.pem")]);
    expect([theirKey.json.outcome, theirKey.code, theirKey.json.reason]).toEqual([
      "refused",
      3,
      expect.stringMatching(/privkey\.pem is owned by uid \d+, not by root/),
    ]);
    expect(snapshotFiles(server.dir)).toEqual(files);
    expect(await presented(server)).toBe(before);
    chownSync(join(mine, "privkey.pem"), 0, 0);
    const ok = await rdpcertJson<Report>([...args, "--cert", join(mine, "fullchain.pem"), "--key", join(mine, "privkey.pem")]);
    expect([ok.json.outcome, ok.code]).toEqual(["deployed", 0]);
  }, 120_000);

  it("run with a deploySource another user controls (flag, RDPCERT_DEPLOY_SOURCE, config file): cannot-run, exit 3, no byte changed", async () => {
    const server = await start(certValid(-10, 170));
    const leaf = ca.issue("rdp.example.test");
    const base = adminDir();
    chmodSync(base, 0o755);
    const { live } = certbotLineage(join(base, "letsencrypt"), leaf);
    chownSync(live, t2.uid, t2.gid);
    const files = snapshotFiles(server.dir);
    const common = ["run", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), "--log-dir", join(base, "log"), "--no-restart", "--json"];
    const config = join(base, "config.json");
    writeFileSync(config, JSON.stringify({ deploySource: live }), { mode: 0o600 });
    for (const [args, env] of [
      [["--deploy-source", live], {}],
      [[], { RDPCERT_DEPLOY_SOURCE: live }],
      [["--config", config], {}],
    ] as const) {
      const { code, json } = await rdpcertJson<Report>([...common, ...args], { env });
      expect([json.outcome, code, json.reason]).toEqual(["cannot-run", 3, expect.stringContaining(`deploySource ${live}: ${live} is owned by uid ${t2.uid}`)]);
    }
    expect(snapshotFiles(server.dir)).toEqual(files);
  }, 120_000);
});

describe("issue 19: the config file and the commands it names", () => {
  const start = xrdpPool({ requireRoot: true });
  let t2: { uid: number; gid: number };
  beforeAll(() => (t2 = ensureUser(T2)));

  it.each<[string, (config: string, base: string) => string]>([
    [
      "a root-owned config in a directory the other user owns",
      (config, base) => {
        const theirs = join(base, "theirs");
        mkdirSync(theirs, { mode: 0o755 });
        writeFileSync(join(theirs, "config.json"), readFileSync(config), { mode: 0o600 });
        chownSync(theirs, t2.uid, t2.gid);
        return join(theirs, "config.json");
      },
    ],
    [
      "a link (root's, in root's directory) to a config in the other user's directory",
      (config, base) => {
        const theirs = join(base, "theirs");
        mkdirSync(theirs, { mode: 0o755 });
        writeFileSync(join(theirs, "real.json"), readFileSync(config), { mode: 0o600 });
        chownSync(theirs, t2.uid, t2.gid);
        symlinkSync(join(theirs, "real.json"), join(base, "link.json"));
        return join(base, "link.json");
      },
    ],
  ])(
    "%s is refused: its restartCommand never runs as root, no byte changed",
    async (_name, place) => {
      const server = await start(certValid(-170, 10));
      const base = adminDir();
      chmodSync(base, 0o755);
      const marker = join(base, "ran-as-root");
      const config = join(base, "config.json");
      writeFileSync(
        config,
        JSON.stringify({ xrdpIni: server.iniPath, stateDir: join(server.dir, "state"), logDir: join(base, "log"), restartCommand: ["/usr/bin/touch", marker] }),
        { mode: 0o600 },
      );
      const files = snapshotFiles(server.dir);
      const run = await rdpcert(["run", "--config", place(config, base), "--json"]);
      expect(run.code).toBe(3);
      expect(run.stderr.trim()).toMatch(
        new RegExp(`^rdpcert: the config file .*: ${join(base, "theirs")} is owned by uid ${t2.uid}, not by root.*refusing to use it.*; fix: `),
      );
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(existsSync(marker)).toBe(false);
      expect(snapshotFiles(server.dir)).toEqual(files);
    },
    120_000,
  );

  it("a restart command that is a link to a root-owned program in the other user's directory is refused before anything changes", async () => {
    const server = await start(certValid(-170, 10));
    const base = adminDir();
    chmodSync(base, 0o755);
    const theirs = join(base, "theirs");
    mkdirSync(theirs, { mode: 0o755 });
    const marker = join(base, "ran-as-root");
    writeFileSync(join(theirs, "restart"), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    chownSync(theirs, t2.uid, t2.gid);
    symlinkSync(join(theirs, "restart"), join(base, "restart-xrdp"));
    const files = snapshotFiles(server.dir);
    const { code, json } = await rdpcertJson<Report>([
      "rotate",
      "--xrdp-ini",
      server.iniPath,
      "--state-dir",
      join(server.dir, "state"),
      "--yes",
      "--json",
      "--restart-command",
      join(base, "restart-xrdp"),
    ]);
    expect([json.outcome, code, json.reason]).toEqual(["refused", 3, expect.stringContaining(`${theirs} is owned by uid ${t2.uid}`)]);
    expect(existsSync(marker)).toBe(false);
    expect(snapshotFiles(server.dir)).toEqual(files);
  }, 120_000);

  it("a renew command found on PATH after a directory the other user owns is refused: cannot-run, exit 3", async () => {
    const server = await start(certValid(-10, 170));
    const base = adminDir();
    chmodSync(base, 0o755);
    const theirs = join(base, "bin");
    mkdirSync(theirs, { mode: 0o755 });
    chownSync(theirs, t2.uid, t2.gid);
    const config = join(base, "config.json");
    writeFileSync(
      config,
      JSON.stringify({ xrdpIni: server.iniPath, stateDir: join(server.dir, "state"), logDir: join(base, "log"), restartCommand: null, renewCommand: ["true"] }),
      { mode: 0o600 },
    );
    const { code, json } = await rdpcertJson<Report>(["run", "--config", config, "--json"], { env: { PATH: `${theirs}:/usr/bin:/bin` } });
    expect([json.outcome, code, json.reason]).toEqual(["cannot-run", 3, expect.stringContaining(`${theirs} is owned by uid ${t2.uid}`)]);
  }, 120_000);

  it("a config saved with a UTF-8 BOM (Windows PowerShell 5.1) is accepted; a deeply nested value is one typed line, exit 3", async () => {
    const base = adminDir();
    const bom = join(base, "bom.json");
    writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ warnDays: 20, stateDir: "/var/lib/rdpcert" }, null, 2))]), {
      mode: 0o600,
    });
    expect(await rdpcert(["config", "validate", "--config", bom])).toMatchObject({ code: 0, stdout: `${bom}: valid\n` });
    expect((await rdpcert(["config", "show", "--config", bom])).stdout).toContain('"warnDays": 20');
    const deep = join(base, "deep.json");
    writeFileSync(deep, `{"renewCommand": ${"[".repeat(50_000)}${"]".repeat(50_000)}}`, { mode: 0o600 });
    const run = await rdpcert(["run", "--config", deep, "--dry-run"]);
    expect(run.code).toBe(3);
    expect(run.stderr).toBe(`rdpcert: ${deep}: renewCommand: the value is nested more than 32 levels deep, which no field of rdpcert's configuration allows\n`);
  }, 60_000);

  it("relative paths: refused from the config file and RDPCERT_*, naming the field; a flag is taken from the working directory", async () => {
    const base = adminDir();
    for (const field of ["stateDir", "logDir", "textfileDir", "deploySource", "xrdpIni"]) {
      const config = join(base, `${field}.json`);
      writeFileSync(config, JSON.stringify({ [field]: "relative/dir" }), { mode: 0o600 });
      const run = await rdpcert(["config", "validate", "--config", config]);
      expect([run.code, run.stderr]).toEqual([
        3,
        `rdpcert: ${config}: ${field}: "relative/dir" is not allowed (must be an absolute path: a relative one would depend on the directory rdpcert is started from)\n`,
      ]);
    }
    const env = await rdpcert(["backups", "list", "--json"], { env: { RDPCERT_STATE_DIR: "state" } });
    expect([env.code, env.stderr]).toEqual([
      3,
      expect.stringMatching(/stateDir: "state" is not allowed \(must be an absolute path.*\(environment overrides: RDPCERT_STATE_DIR\)\n$/),
    ]);
    // A flag: from the working directory, as an admin expects of --state-dir ./state.
    const flag = spawnSync(process.execPath, [CLI, "backups", "list", "--json", "--state-dir", "state"], { cwd: base, encoding: "utf8" });
    expect([flag.status, (JSON.parse(flag.stdout) as { stateDir: string }).stateDir]).toEqual([0, join(base, "state")]);
  }, 60_000);
});

describe("issue 19: root writes only into directories it checked, never through a link", () => {
  const start = xrdpPool({ requireRoot: true });
  let ca: TestCa;
  let t2: { uid: number; gid: number };
  beforeAll(() => {
    t2 = ensureUser(T2);
    ca = makeTestCa(join(adminDir("rdpcert-ca-"), "ca"));
  });
  // The CA (its keys too) lives in a temp dir of its own: removed with it.
  afterAll(() => rmSync(dirname(ca.dir), { recursive: true, force: true }));

  it.each<[string, (server: XrdpServer, victim: string) => void, RegExp]>([
    [
      "rdpcert/ beside the ini is a link (planted by the xrdp user, who owns the ini's directory) to another directory",
      (server, victim) => {
        symlinkSync(victim, join(server.dir, "rdpcert"));
        lchownSync(join(server.dir, "rdpcert"), server.runAs!.uid, server.runAs!.gid);
      },
      /rdpcert's own directory .*\/rdpcert is a link: rdpcert will not write the certificate and key through it/,
    ],
    [
      "rdpcert/ beside the ini is a directory of the xrdp user's",
      (server) => {
        mkdirSync(join(server.dir, "rdpcert"), { mode: 0o755 });
        chownSync(join(server.dir, "rdpcert"), server.runAs!.uid, server.runAs!.gid);
      },
      /rdpcert's own directory .*\/rdpcert is owned by uid \d+, not by root/,
    ],
  ])(
    "deploy refuses when %s: exit 3, the other directory's key.pem unchanged",
    async (_name, plant, reason) => {
      const server = await start(certValid(-10, 170));
      const before = await presented(server);
      const victim = join(adminDir(), "victim");
      mkdirSync(victim, { mode: 0o755 });
      writeFileSync(join(victim, "key.pem"), "-----BEGIN PRIVATE KEY-----\nvictim\n-----END PRIVATE KEY-----\n", { mode: 0o600 });
      writeFileSync(join(victim, "cert.pem"), "-----BEGIN CERTIFICATE-----\nvictim\n-----END CERTIFICATE-----\n", { mode: 0o644 });
      plant(server, victim);
      const victimFiles = snapshotFiles(victim);
      const files = snapshotFiles(server.dir);
      const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
      const { code, json } = await rdpcertJson<Report>([
        "deploy",
        "--xrdp-ini",
        server.iniPath,
        "--state-dir",
        join(server.dir, "state"),
        "--no-restart",
        "--verify-timeout",
        "8000",
        "--json",
        "--yes",
        "--cert",
        leaf.fullchainPath,
        "--key",
        leaf.keyPath,
      ]);
      expect([json.outcome, code, json.reason]).toEqual(["refused", 3, expect.stringMatching(reason)]);
      expect(snapshotFiles(victim)).toEqual(victimFiles);
      expect(snapshotFiles(server.dir)).toEqual(files);
      expect(await presented(server)).toBe(before);
      // rotate's shared-pair path writes to the same managed directory: refused the same way.
      spawnSync("ln", ["-f", server.keyPath, join(server.dir, "other-service.key")]);
      const rotate = await rdpcertJson<Report>([
        "rotate",
        "--xrdp-ini",
        server.iniPath,
        "--state-dir",
        join(server.dir, "state"),
        "--no-restart",
        "--verify-timeout",
        "8000",
        "--json",
        "--yes",
        "--force",
      ]);
      expect([rotate.json.outcome, rotate.code, rotate.json.reason]).toEqual(["refused", 3, expect.stringMatching(reason)]);
      expect(snapshotFiles(victim)).toEqual(victimFiles);
      expect(t2.uid).toBeGreaterThan(0);
    },
    120_000,
  );

  it("after a deploy (the ini names rdpcert/'s pair), rdpcert/ replaced by a link: rotate --force is refused, the other directory unchanged", async () => {
    const server = await start(certValid(-10, 170));
    const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
    const args = ["--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), "--no-restart", "--verify-timeout", "8000", "--json", "--yes"];
    const deployed = await rdpcertJson<Report>(["deploy", ...args, "--cert", leaf.fullchainPath, "--key", leaf.keyPath]);
    expect([deployed.json.outcome, deployed.code]).toEqual(["deployed", 0]);
    const managed = join(server.dir, "rdpcert");
    expect([statSync(managed).uid, statSync(managed).mode & 0o777]).toEqual([0, 0o755]);
    // The xrdp user, who owns the ini's directory, moves rdpcert/ aside and plants a link to another directory.
    const victim = join(adminDir(), "victim");
    mkdirSync(victim, { mode: 0o755 });
    writeFileSync(join(victim, "key.pem"), "-----BEGIN PRIVATE KEY-----\nvictim\n-----END PRIVATE KEY-----\n", { mode: 0o600 });
    writeFileSync(join(victim, "cert.pem"), "-----BEGIN CERTIFICATE-----\nvictim\n-----END CERTIFICATE-----\n", { mode: 0o644 });
    spawnSync("mv", [managed, join(server.dir, "moved")]);
    symlinkSync(victim, managed);
    lchownSync(managed, server.runAs!.uid, server.runAs!.gid);
    const victimFiles = snapshotFiles(victim);
    const rotate = await rdpcertJson<Report>(["rotate", ...args, "--force"]);
    expect([rotate.json.outcome, rotate.code, rotate.json.reason]).toEqual(["refused", 3, expect.stringContaining(`${managed} is a link`)]);
    expect(snapshotFiles(victim)).toEqual(victimFiles);
  }, 120_000);

  it.each<[string, (dir: string, base: string) => string]>([
    [
      "a link to the other user's directory",
      (theirs, base) => {
        symlinkSync(theirs, join(base, "textfile"));
        return join(base, "textfile");
      },
    ],
    ["the other user's directory", (theirs) => theirs],
    [
      "a directory inside the other user's directory",
      (theirs) => {
        const inner = join(theirs, "inner");
        mkdirSync(inner, { mode: 0o755 });
        return inner;
      },
    ],
    [
      "a directory writable by every user",
      (_theirs, base) => {
        const open = join(base, "open");
        mkdirSync(open);
        chmodSync(open, 0o1777);
        return open;
      },
    ],
  ])(
    "textfileDir that is %s: a warning in the run's result and on stderr, nothing written, the pass's exit code unchanged",
    async (_name, place) => {
      const server = await start(certValid(-1, 179));
      const base = adminDir();
      chmodSync(base, 0o755);
      const theirs = join(base, "theirs");
      mkdirSync(theirs, { mode: 0o755 });
      const dir = place(theirs, base);
      chownSync(theirs, t2.uid, t2.gid);
      const run = await rdpcertJson<Report>([
        "run",
        "--xrdp-ini",
        server.iniPath,
        "--state-dir",
        join(server.dir, "state"),
        "--log-dir",
        join(base, "log"),
        "--no-restart",
        "--json",
        "--textfile-dir",
        dir,
      ]);
      expect([run.code, run.json.outcome]).toEqual([0, "nothing"]);
      expect(run.json.warnings).toEqual([
        expect.stringMatching(/^not writing the textfile metrics .*rdpcert\.prom: the textfile directory .*refusing to (write there|use it).*; fix: /),
      ]);
      expect(run.stderr).toContain("not writing the textfile metrics");
      const written = spawnSync("find", [base, "-name", "*rdpcert.prom*"], { encoding: "utf8" }).stdout;
      expect(written).toBe("");
    },
    120_000,
  );

  it("a trusted textfileDir still gets rdpcert.prom (control)", async () => {
    const server = await start(certValid(-1, 179));
    const base = adminDir();
    const dir = join(base, "textfile");
    mkdirSync(dir, { mode: 0o755 });
    const run = await rdpcertJson<Report>([
      "run",
      "--xrdp-ini",
      server.iniPath,
      "--state-dir",
      join(server.dir, "state"),
      "--log-dir",
      join(base, "log"),
      "--no-restart",
      "--json",
      "--textfile-dir",
      dir,
    ]);
    expect([run.code, run.json.warnings]).toEqual([0, []]);
    expect(readdirSync(dir)).toEqual(["rdpcert.prom"]);
  }, 120_000);
});

describe("issue 19: lock files left by crashes do not accumulate", () => {
  const start = xrdpPool({ requireRoot: true });

  it("a rotation removes rotate.lock.PID and rotate.lock.stale.PID of dead processes, and leaves nothing of its own", async () => {
    const server = await start(certValid(-170, 10));
    const state = join(server.dir, "state");
    mkdirSync(state, { mode: 0o700 });
    const dead = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
    const leftovers = [`rotate.lock.${dead}`, `rotate.lock.stale.${dead}`, `.rotate.lock.${dead}.rdpcert-${dead}-0a1b2c3d`];
    for (const name of leftovers)
      writeFileSync(join(state, name), JSON.stringify({ pid: dead, host: "x", since: "2026-01-01T00:00:00.000Z" }), { mode: 0o600 });
    const { code, json } = await rdpcertJson<Report>([
      "rotate",
      "--xrdp-ini",
      server.iniPath,
      "--state-dir",
      state,
      "--no-restart",
      "--verify-timeout",
      "8000",
      "--json",
      "--yes",
    ]);
    expect([json.outcome, code]).toEqual(["rotated", 0]);
    expect(readdirSync(state).filter((name) => name.includes("rotate.lock"))).toEqual([]);
  }, 120_000);
});
