import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { probe } from "../../src/probe/prober";
import type { XrdpServer } from "../../scripts/xrdp-server";
import { certValid } from "../helpers/certs";
import { rdpcert, rdpcertJson } from "../helpers/cli";
import { type TestCa, makeTestCa, opensslThumbprint } from "../helpers/test-ca";
import { mountTmpfs } from "../helpers/tmpfs";
import { ensureUser } from "../helpers/users";
import { snapshotFiles, xrdpArgs, xrdpPool } from "../helpers/xrdp-pool";

/**
 * `rdpcert deploy` against real xrdp servers on loopback, with a test CA made
 * by openssl in the test: the listener presents the deployed
 * certificate and its chain, bad inputs change no byte, a failing restart and
 * a kill -9 are rolled back or recovered.
 */
interface DeployJson {
  schema: string;
  outcome: string;
  exitCode: number;
  reason: string;
  fix: string | null;
  oldThumbprint: string | null;
  newThumbprint: string | null;
  backupId: string | null;
  plan: string[];
  steps: { step: string; ok: boolean; detail: string | null }[];
  certificate?: { thumbprint: string; names: string[]; chainLength: number; origin: string };
  warnings?: string[];
}

const presented = (server: XrdpServer, withChain = false) =>
  probe({ input: `127.0.0.1:${server.port}`, host: "127.0.0.1", port: server.port }, { timeoutMs: 5000, withChain });

function deployJson(server: XrdpServer, args: readonly string[], options: Parameters<typeof rdpcert>[1] = {}) {
  return rdpcertJson<DeployJson>(
    ["deploy", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), "--no-restart", "--verify-timeout", "8000", "--json", ...args],
    options,
  );
}

const groupOf = (name: string): number => Number(execFileSync("getent", ["group", name], { encoding: "utf8" }).split(":")[2]);

describe("rdpcert deploy against real xrdp", () => {
  const start = xrdpPool({ requireRoot: true });
  let ca: TestCa;
  beforeAll(() => {
    ca = makeTestCa(join(execFileSync("mktemp", ["-d", "/tmp/rdpcert-ca-XXXXXX"], { encoding: "utf8" }).trim(), "ca"));
  });
  // The CA (its keys too) lives in a temp dir of its own: removed with it.
  afterAll(() => rmSync(dirname(ca.dir), { recursive: true, force: true }));

  it("deploys a CA-issued chain: the listener presents it (thumbprint as openssl prints it) with its intermediate; key root:xrdp 0640; the old pair untouched; a second deploy changes nothing", async () => {
    const old = certValid(-10, 170);
    const server = await start(old);
    const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
    const { code, json } = await deployJson(server, ["--cert", leaf.fullchainPath, "--key", leaf.keyPath, "--yes"]);
    expect([json.outcome, code, json.reason]).toEqual(["deployed", 0, json.outcome === "deployed" ? expect.any(String) : "(no failure)"]);
    expect(json.schema).toBe("rdpcert.deploy/v1");
    const thumbprint = opensslThumbprint(leaf.certPath);
    expect(json.newThumbprint).toBe(thumbprint);
    expect(json.certificate).toMatchObject({ thumbprint, chainLength: 2, names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
    const now = await presented(server, true);
    expect(now.error).toBeNull();
    expect(now.certificate!.thumbprint).toBe(thumbprint);
    expect(now.chain!.length).toBeGreaterThanOrEqual(2);
    expect(opensslFingerprintOfDer(now.chain![1]!)).toBe(opensslThumbprint(leaf.chainPath));
    // rdpcert's own files next to the ini; the configured pair is left as it was.
    const managedKey = join(server.dir, "rdpcert", "key.pem");
    const managedCert = join(server.dir, "rdpcert", "cert.pem");
    expect(statSync(managedKey).mode & 0o777).toBe(0o640);
    expect([statSync(managedKey).uid, statSync(managedKey).gid]).toEqual([0, groupOf("xrdp")]);
    expect(readFileSync(server.certPath, "utf8")).toBe(old.certPem);
    expect(readFileSync(server.keyPath, "utf8")).toBe(old.keyPem);
    const ini = readFileSync(server.iniPath, "utf8");
    expect(ini).toContain(`certificate=${managedCert}`);
    expect(ini).toContain(`key_file=${managedKey}`);
    expect(readFileSync(managedKey, "utf8")).not.toContain("BEGIN CERTIFICATE");
    // The key never reaches the output.
    expect(JSON.stringify(json)).not.toContain("PRIVATE KEY");
    const before = snapshotFiles(server.dir);
    const again = await deployJson(server, ["--cert", leaf.fullchainPath, "--key", leaf.keyPath, "--yes"]);
    expect([again.json.outcome, again.code]).toEqual(["not-needed", 0]);
    expect(snapshotFiles(server.dir)).toEqual(before);
    // The history says what happened, and that rdpcert did not issue this certificate.
    const history = readFileSync(join(server.dir, "state", "history.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind?: string; outcome: string });
    expect(history.at(-1)).toMatchObject({ kind: "deploy", outcome: "deployed" });
  }, 120_000);

  it("refuses bad inputs with one line and exit 3, and changes no byte: the wrong key, expired, client-only EKU, RSA 1024, a leaf without its chain", async () => {
    const server = await start(certValid(-10, 170));
    const good = ca.issue("rdp.example.test");
    const other = ca.issue("other.example.test");
    const expired = ca.issue("old.example.test", { at: "2020-01-01 00:00:00", days: 30 });
    const client = ca.issue("client.example.test", { eku: "clientAuth" });
    const weak = ca.issue("weak.example.test", { key: "rsa1024" });
    const before = snapshotFiles(server.dir);
    const cases: [string[], RegExp][] = [
      [["--cert", good.fullchainPath, "--key", other.keyPath], /private key does not belong to the certificate/],
      [["--cert", expired.fullchainPath, "--key", expired.keyPath], /expired on 2020-01-31/],
      [["--cert", client.fullchainPath, "--key", client.keyPath], /not for server authentication/],
      [["--cert", weak.fullchainPath, "--key", weak.keyPath], /RSA key has 1024 bits/],
      [["--cert", good.certPath, "--key", good.keyPath], /the chain is incomplete/],
    ];
    for (const [args, reason] of cases) {
      const { code, json } = await deployJson(server, [...args, "--yes"]);
      expect([json.outcome, code, json.reason]).toEqual(["refused", 3, expect.stringMatching(reason)]);
      expect(json.reason).not.toMatch(/BEGIN|PRIVATE/);
      // Text mode: one line with the reason, one with the fix.
      const text = await rdpcert(["deploy", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), ...args, "--yes"]);
      expect(text.code).toBe(3);
      expect(text.stdout.trim().split("\n")).toEqual([expect.stringMatching(/^refused {2}/), expect.stringMatching(/^ {2}fix: /)]);
    }
    // The leaf alone is fine with --chain.
    const withChain = await deployJson(server, ["--cert", good.certPath, "--chain", good.chainPath, "--key", good.keyPath, "--dry-run"]);
    expect([withChain.json.outcome, withChain.code]).toEqual(["planned", 0]);
    expect(snapshotFiles(server.dir)).toEqual(before);
    expect(existsSync(join(server.dir, "state", "journal.json"))).toBe(false);
  }, 120_000);

  it("an EC P-256 certificate from a PFX (password on standard input, or in --pfx-password-file); a wrong password is refused", async () => {
    const server = await start(certValid(-10, 170));
    const leaf = ca.issue("ec.example.test", { key: "ec256", names: ["DNS:ec.example.test"] });
    const pfx = join(ca.dir, "ec.pfx");
    execFileSync("openssl", ["pkcs12", "-export", "-in", leaf.fullchainPath, "-inkey", leaf.keyPath, "-out", pfx, "-passout", "pass:s3cret pass"]);
    const wrong = await deployJson(server, ["--pfx", pfx, "--yes"], { input: "nope\n" });
    expect([wrong.json.outcome, wrong.code, wrong.json.reason]).toEqual(["refused", 3, expect.stringContaining("the PFX password is wrong")]);
    const { code, json } = await deployJson(server, ["--pfx", pfx, "--yes"], { input: "s3cret pass\n" });
    expect([json.outcome, code]).toEqual(["deployed", 0]);
    expect((await presented(server)).certificate!.thumbprint).toBe(opensslThumbprint(leaf.certPath));
    expect((await presented(server)).certificate!.publicKey.type).toBe("ec");
    // The same PFX again, its password from a file: already presented.
    const passFile = join(ca.dir, "pfx.pass");
    writeFileSync(passFile, "s3cret pass\n", { mode: 0o600 });
    const again = await deployJson(server, ["--pfx", pfx, "--pfx-password-file", passFile, "--yes"]);
    expect([again.json.outcome, again.code]).toEqual(["not-needed", 0]);
  }, 120_000);

  it("a failing restart rolls back: the old certificate presented again, the ini as it was, exit 2", async () => {
    const old = certValid(-10, 170);
    const server = await start(old);
    const leaf = ca.issue("rdp.example.test");
    const iniBefore = readFileSync(server.iniPath, "utf8");
    const { code, json } = await rdpcertJson<DeployJson>([
      "deploy",
      "--xrdp-ini",
      server.iniPath,
      "--state-dir",
      join(server.dir, "state"),
      "--restart-command",
      "/bin/false",
      "--verify-timeout",
      "8000",
      "--json",
      "--cert",
      leaf.fullchainPath,
      "--key",
      leaf.keyPath,
      "--yes",
    ]);
    expect([json.outcome, code]).toEqual(["rolled-back", 2]);
    expect(json.reason).toContain("restart command /bin/false exited with 1");
    expect(readFileSync(server.iniPath, "utf8")).toBe(iniBefore);
    expect((await presented(server)).certificate!.thumbprint).toBe(json.oldThumbprint);
    expect(existsSync(join(server.dir, "rdpcert", "key.pem"))).toBe(false);
  }, 120_000);

  it("kill -9 after the files are written: the next status finishes the deploy (the listener presents it), and the history says so", async () => {
    const server = await start(certValid(-10, 170));
    const leaf = ca.issue("rdp.example.test");
    const state = join(server.dir, "state");
    const killed = await rdpcert(
      ["deploy", "--xrdp-ini", server.iniPath, "--state-dir", state, "--no-restart", "--cert", leaf.fullchainPath, "--key", leaf.keyPath, "--yes"],
      { env: { ...process.env, RDPCERT_TEST_FAULT: "after-replace" } },
    );
    expect(killed.signal).toBe("SIGKILL");
    expect(JSON.parse(readFileSync(join(state, "journal.json"), "utf8"))).toMatchObject({ kind: "deploy", step: "replaced" });
    const status = await rdpcert(["status", "--xrdp-ini", server.iniPath, "--state-dir", state]);
    expect(status.stdout + status.stderr).toMatch(/interrupted rotation .*completed/);
    expect(existsSync(join(state, "journal.json"))).toBe(false);
    expect((await presented(server)).certificate!.thumbprint).toBe(opensslThumbprint(leaf.certPath));
    const history = readFileSync(join(state, "history.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind?: string; outcome: string });
    expect(history.at(-1)).toMatchObject({ kind: "deploy", outcome: "recovered:completed" });
  }, 120_000);

  it("kill -9 after the backup, before any write: the next status closes the journal, and the old certificate is still presented", async () => {
    const old = certValid(-10, 170);
    const server = await start(old);
    const leaf = ca.issue("rdp.example.test");
    const state = join(server.dir, "state");
    const killed = await rdpcert(
      ["deploy", "--xrdp-ini", server.iniPath, "--state-dir", state, "--no-restart", "--cert", leaf.fullchainPath, "--key", leaf.keyPath, "--yes"],
      { env: { ...process.env, RDPCERT_TEST_FAULT: "after-backup" } },
    );
    expect(killed.signal).toBe("SIGKILL");
    const status = await rdpcert(["status", "--xrdp-ini", server.iniPath, "--state-dir", state]);
    expect(status.stdout + status.stderr).toMatch(/interrupted rotation .*abandoned/);
    expect((await presented(server)).certificate!.thumbprint).toBe(opensslThumbprint(server.certPath));
  }, 120_000);

  it("a full and a read-only disk under rdpcert's files: rolled back (exit 2), the ini as it was, the old certificate presented", async () => {
    const old = certValid(-10, 170);
    const server = await start(old);
    const leaf = ca.issue("rdp.example.test");
    const iniBefore = readFileSync(server.iniPath, "utf8");
    const managed = join(server.dir, "rdpcert");
    mkdirSync(managed);
    const disk = mountTmpfs(64);
    try {
      execFileSync("mount", ["--bind", disk.dir, managed]);
      try {
        disk.fill();
        const full = await deployJson(server, ["--cert", leaf.fullchainPath, "--key", leaf.keyPath, "--yes"]);
        expect([full.json.outcome, full.code, full.json.reason]).toEqual(["rolled-back", 2, expect.stringContaining("ENOSPC")]);
        expect(readFileSync(server.iniPath, "utf8")).toBe(iniBefore);
        expect((await presented(server)).certificate!.thumbprint).toBe(full.json.oldThumbprint);
        disk.readOnly();
        const readOnly = await deployJson(server, ["--cert", leaf.fullchainPath, "--key", leaf.keyPath, "--yes"]);
        expect([readOnly.json.outcome, readOnly.code, readOnly.json.reason]).toEqual(["rolled-back", 2, expect.stringContaining("EROFS")]);
        expect(readFileSync(server.iniPath, "utf8")).toBe(iniBefore);
        expect(existsSync(join(server.dir, "state", "journal.json"))).toBe(false);
      } finally {
        execFileSync("umount", [managed]);
      }
    } finally {
      disk.unmount();
    }
  }, 120_000);

  it("run by an unprivileged monitoring user: one line, exit 3, nothing changed", async () => {
    const server = await start(certValid(-10, 170));
    const leaf = ca.issue("rdp.example.test");
    const user = ensureUser("rdpcert-monitor");
    const before = snapshotFiles(server.dir);
    // The user can read the certificate files (the test CA's dir is world-readable), not the state dir or the key.
    const result = await rdpcert(
      ["deploy", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), "--cert", leaf.fullchainPath, "--key", leaf.keyPath, "--yes"],
      user,
    );
    expect(result.code).toBe(3);
    expect(result.stdout + result.stderr).not.toMatch(/BEGIN|PRIVATE KEY-----/);
    expect((result.stdout + result.stderr).trim().split("\n").length).toBeLessThanOrEqual(2);
    expect(snapshotFiles(server.dir)).toEqual(before);
  }, 120_000);

  it("--from-certbot reads $RENEWED_LINEAGE; without it, one line and exit 3; a name that is not the host's is a warning", async () => {
    const server = await start(certValid(-10, 170));
    const leaf = ca.issue("elsewhere.example.test");
    const lineage = join(ca.dir, "live", "elsewhere");
    mkdirSync(lineage, { recursive: true });
    writeFileSync(join(lineage, "fullchain.pem"), readFileSync(leaf.fullchainPath));
    writeFileSync(join(lineage, "privkey.pem"), readFileSync(leaf.keyPath), { mode: 0o600 });
    const env = { ...process.env };
    delete env.RENEWED_LINEAGE;
    const missing = await rdpcert(["deploy", "--xrdp-ini", server.iniPath, "--from-certbot", "--yes"], { env });
    expect([missing.code, missing.stderr.trim()]).toEqual([3, expect.stringContaining("$RENEWED_LINEAGE")]);
    const { code, json } = await deployJson(server, ["--from-certbot", "--yes"], { env: { ...env, RENEWED_LINEAGE: lineage } });
    expect([json.outcome, code]).toEqual(["deployed", 0]);
    expect(json.certificate!.origin).toBe(`certbot lineage ${lineage}`);
    expect(json.warnings).toEqual([expect.stringContaining("the certificate names DNS:elsewhere.example.test")]);
  }, 120_000);
});

describe("rdpcert run with a deploySource: a CA-issued certificate near expiry is replaced by the renewed one, once", () => {
  const start = xrdpPool({ requireRoot: true });
  let ca: TestCa;
  beforeAll(() => {
    ca = makeTestCa(join(execFileSync("mktemp", ["-d", "/tmp/rdpcert-ca-XXXXXX"], { encoding: "utf8" }).trim(), "ca"));
  });
  // The CA (its keys too) lives in a temp dir of its own: removed with it.
  afterAll(() => rmSync(dirname(ca.dir), { recursive: true, force: true }));

  interface RunJson {
    action: string;
    outcome: string;
    exitCode: number;
    reason: string;
    rotation: { outcome: string; newThumbprint: string | null } | null;
  }
  const lineageWith = (leaf: { fullchainPath: string; keyPath: string }, name: string): string => {
    const dir = join(ca.dir, "live", name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "fullchain.pem"), readFileSync(leaf.fullchainPath));
    writeFileSync(join(dir, "privkey.pem"), readFileSync(leaf.keyPath), { mode: 0o600 });
    return dir;
  };
  const run = (server: XrdpServer, ...extra: string[]) => rdpcertJson<RunJson>(["run", ...xrdpArgs(server), ...extra]);

  it("deploys the newer certificate for the same names; the next run does nothing; a dry run changes nothing", async () => {
    const expiring = ca.issue("rdp.example.test", { days: 10, names: ["DNS:rdp.example.test"] });
    const server = await start({ certPem: readFileSync(expiring.fullchainPath, "utf8"), keyPem: expiring.keyPem });
    const renewed = ca.issue("rdp.example.test", { days: 90, names: ["DNS:rdp.example.test", "DNS:rdp"] });
    const source = lineageWith(renewed, "renewed");
    const before = snapshotFiles(server.dir);
    const dry = await run(server, "--deploy-source", source, "--dry-run");
    expect([dry.json.outcome, dry.code, dry.json.reason]).toEqual(["dry-run: would deploy", 0, expect.stringContaining(opensslThumbprint(renewed.certPath))]);
    expect(snapshotFiles(server.dir)).toEqual(before);
    const first = await run(server, "--deploy-source", source);
    expect([first.json.action, first.json.outcome, first.code]).toEqual(["deploy", "deployed", 0]);
    expect((await presented(server)).certificate!.thumbprint).toBe(opensslThumbprint(renewed.certPath));
    const second = await run(server, "--deploy-source", source);
    expect([second.json.outcome, second.code]).toEqual(["nothing", 0]);
  }, 120_000);

  it("does not deploy a certificate that is not newer or lacks one of the names: a warning, and no byte changed", async () => {
    const expiring = ca.issue("rdp.example.test", { days: 10, names: ["DNS:rdp.example.test", "DNS:rdp"] });
    const server = await start({ certPem: readFileSync(expiring.fullchainPath, "utf8"), keyPem: expiring.keyPem });
    const before = snapshotFiles(server.dir);
    const narrower = lineageWith(ca.issue("rdp.example.test", { days: 90, names: ["DNS:rdp.example.test"] }), "narrower");
    const result = await run(server, "--deploy-source", narrower);
    expect([result.json.outcome, result.code, result.json.reason]).toEqual([
      "no-newer-certificate",
      1,
      expect.stringContaining("not newer than the configured certificate or lacks one of its names"),
    ]);
    const same = lineageWith(expiring, "same");
    expect((await run(server, "--deploy-source", same)).json.outcome).toBe("no-newer-certificate");
    const listenerFiles = (snap: Record<string, string>) =>
      Object.fromEntries(Object.entries(snap).filter(([path]) => !path.includes("/state/") && !path.includes("/log/")));
    expect(listenerFiles(snapshotFiles(server.dir))).toEqual(listenerFiles(before));
  }, 120_000);
});

function opensslFingerprintOfDer(der: Buffer): string {
  const result = spawnSync("openssl", ["x509", "-inform", "DER", "-noout", "-fingerprint", "-sha1"], { input: der, encoding: "utf8" });
  return result.stdout.trim().replace(/^.*=/, "").replace(/:/g, "").toUpperCase();
}
