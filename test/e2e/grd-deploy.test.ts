import { execFileSync, spawnSync } from "node:child_process";
import { type FSWatcher, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, watch, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { lookupUser } from "../../scripts/xrdp-server";
import { runCommand } from "../../src/hosts/command-runner";
import { readGsettingsPair, userAccount } from "../../src/hosts/gnome-remote-desktop/grd-gsettings";
import { certValid } from "../helpers/certs";
import { rdpcert, rdpcertJson } from "../helpers/cli";
import { type GrdListener, grdListener } from "../helpers/grd-listener";
import { type RunningProcess, httpGet, startExporterCli } from "../helpers/prometheus";
import { type TestCa, makeTestCa, opensslThumbprint } from "../helpers/test-ca";

/**
 * `deploy` of a CA-issued certificate on gnome-remote-desktop's user mode, and the exporter's
 * module=local on the same setup (issue 24): the real gsettings and dconf as the user, a test
 * CA made by openssl, and the listener of grd-rotate.test.ts that loads the pair GSettings
 * names only when it "restarts" (the restart command touches a file).
 */
const USER = "rdpcert-grddep";
const SCHEMA = `<schemalist>
  <schema id='org.gnome.desktop.remote-desktop.rdp' path='/org/gnome/desktop/remote-desktop/rdp/'>
    <key name='enable' type='b'><default>false</default></key>
    <key name='tls-cert' type='s'><default>''</default></key>
    <key name='tls-key' type='s'><default>''</default></key>
  </schema>
</schemalist>
`;

interface DeployJson {
  outcome: string;
  reason: string;
  newThumbprint: string | null;
  steps: { step: string; ok: boolean; detail: string | null }[];
}

describe("rdpcert deploy and exporter module=local --backend gnome-remote-desktop (user mode)", () => {
  let home: string;
  let admin: string;
  let schemas: string;
  let flag: string;
  let user: { uid: number; gid: number };
  let listener: GrdListener;
  let watcher: FSWatcher;
  let certPath: string;
  let keyPath: string;
  let dir: string;
  let ca: TestCa;
  let restarts = 0;
  const running: RunningProcess[] = [];
  const pair = certValid(-720, 10, "GNOME");
  const userEnv = (): NodeJS.ProcessEnv => ({
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    GSETTINGS_SCHEMA_DIR: schemas,
    GSETTINGS_BACKEND: "dconf",
    PATH: "/usr/bin:/bin",
  });
  const gsettingsSet = (key: string, value: string): void => {
    const run = spawnSync("dbus-run-session", ["--", "gsettings", "set", "org.gnome.desktop.remote-desktop.rdp", key, value], {
      uid: user.uid,
      gid: user.gid,
      env: userEnv(),
      encoding: "utf8",
    });
    if (run.status !== 0) throw new Error(`gsettings set ${key} failed: ${run.stderr}`);
  };
  const configured = async (): Promise<{ certPath: string; keyPath: string }> => {
    const got = await readGsettingsPair(runCommand, userAccount(USER)!, userEnv());
    if (!got.ok) throw new Error(got.reason);
    return got;
  };
  /** The user's dconf database: what `gsettings set` changes, byte for byte. */
  const database = (): string => readFileSync(join(home, ".config", "dconf", "user"), "base64");

  beforeAll(async () => {
    ca = makeTestCa(join(execFileSync("mktemp", ["-d", "/tmp/rdpcert-ca-XXXXXX"], { encoding: "utf8" }).trim(), "ca"));
    home = mkdtempSync(join(tmpdir(), "rdpcert-grddep-home-"));
    chmodSync(home, 0o755);
    if (lookupUser(USER)) execFileSync("usermod", ["--home", home, USER]);
    else execFileSync("useradd", ["--system", "--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin", USER]);
    user = lookupUser(USER)!;
    chownSync(home, user.uid, user.gid);
    admin = mkdtempSync(join(tmpdir(), "rdpcert-grddep-admin-"));
    chmodSync(admin, 0o755);
    schemas = join(admin, "schemas");
    mkdirSync(schemas);
    writeFileSync(join(schemas, "org.gnome.desktop.remote-desktop.gschema.xml"), SCHEMA);
    execFileSync("glib-compile-schemas", [schemas]);
    dir = join(home, ".local", "share", "gnome-remote-desktop");
    mkdirSync(dir, { recursive: true });
    certPath = join(dir, "rdp-tls.crt");
    keyPath = join(dir, "rdp-tls.key");
    writeFileSync(certPath, pair.certPem, { mode: 0o644 });
    writeFileSync(keyPath, pair.keyPem, { mode: 0o600 });
    for (const p of [join(home, ".local"), join(home, ".local", "share"), dir, certPath, keyPath]) chownSync(p, user.uid, user.gid);
    gsettingsSet("tls-cert", certPath);
    gsettingsSet("tls-key", keyPath);
    listener = await grdListener(pair);
    const flags = join(admin, "flags");
    mkdirSync(flags);
    flag = join(flags, "restart");
    // A restart: read the configured pair (as g-r-d does when it starts) and serve it.
    watcher = watch(flags, () => {
      void configured().then((now) => {
        try {
          listener.reload({ certPem: readFileSync(now.certPath, "utf8"), keyPem: readFileSync(now.keyPath, "utf8") });
          restarts += 1;
        } catch {
          // A pair that cannot be loaded: g-r-d would not serve RDP; the old context stays here.
        }
      });
    });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(running.map((r) => r.stop()));
    watcher?.close();
    await listener?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(admin, { recursive: true, force: true });
    if (ca) rmSync(dirname(ca.dir), { recursive: true, force: true });
    if (lookupUser(USER)) execFileSync("userdel", [USER]);
  });

  const deploy = (restart: string, extra: string[]) =>
    rdpcertJson<DeployJson>(
      [
        "deploy",
        "--yes",
        "--json",
        "--backend",
        "gnome-remote-desktop",
        "--grd-user",
        USER,
        "--grd-conf",
        join(admin, "absent.conf"),
        "--state-dir",
        join(admin, "state"),
        "--log-dir",
        join(admin, "logs"),
        "--restart-command",
        restart,
        ...extra,
      ],
      { env: { ...process.env, GSETTINGS_SCHEMA_DIR: schemas, RDPCERT_PORT: String(listener.port) } },
    );
  const presented = async (): Promise<string> => {
    const probed = JSON.parse((await rdpcert(["probe", "--json", `127.0.0.1:${listener.port}`])).stdout);
    return probed.results[0].certificate.sha256 as string;
  };

  it("a key that does not belong to the certificate is refused before any change: GSettings byte-identical, no file written", async () => {
    const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
    const other = ca.issue("other.example.test");
    const before = database();
    const { code, json } = await deploy(`/usr/bin/touch ${flag}`, ["--cert", leaf.fullchainPath, "--key", other.keyPath, "--verify-timeout", "5000"]);
    expect(code).not.toBe(0);
    expect(json.outcome).toBe("refused");
    expect(json.reason).toMatch(/private key does not belong to the certificate/);
    expect(database()).toBe(before);
    expect(await configured()).toEqual(expect.objectContaining({ certPath, keyPath }));
    expect(existsSync(join(dir, "rdpcert-tls.crt"))).toBe(false);
    expect(existsSync(join(dir, "rdpcert-tls.key"))).toBe(false);
  }, 60_000);

  it("a failed verification (the restart does not load the new pair) points GSettings back at the old pair", async () => {
    const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
    const { code, json } = await deploy("/usr/bin/true", [
      "--cert",
      leaf.certPath,
      "--key",
      leaf.keyPath,
      "--chain",
      leaf.chainPath,
      "--verify-timeout",
      "2000",
    ]);
    expect(code).not.toBe(0);
    expect(json.outcome).toBe("rolled-back");
    expect(json.steps.find((s) => s.step === "restore")).toMatchObject({ ok: true });
    expect(await configured()).toEqual(expect.objectContaining({ certPath, keyPath }));
    // The old pair was never touched, and the listener still serves it.
    expect(readFileSync(certPath, "utf8")).toBe(pair.certPem);
    expect(await presented()).toBe(new X509Certificate(pair.certPem).fingerprint256.replace(/:/g, ""));
  }, 60_000);

  it("deploys a CA-issued certificate: written beside the old pair (key 0600, the user's), GSettings names it, the restarted listener presents exactly it", async () => {
    const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
    const before = restarts;
    const { code, json } = await deploy(`/usr/bin/touch ${flag}`, [
      "--cert",
      leaf.certPath,
      "--key",
      leaf.keyPath,
      "--chain",
      leaf.chainPath,
      "--verify-timeout",
      "20000",
    ]);
    expect([json.outcome, code]).toEqual(["deployed", 0]);
    expect(json.newThumbprint).toBe(opensslThumbprint(leaf.certPath));
    expect(restarts).toBeGreaterThan(before);
    const now = await configured();
    expect(now).toEqual(expect.objectContaining({ certPath: join(dir, "rdpcert-tls.crt"), keyPath: join(dir, "rdpcert-tls.key") }));
    const key = statSync(now.keyPath);
    expect([key.mode & 0o777, key.uid, key.gid]).toEqual([0o600, user.uid, user.gid]);
    expect(statSync(now.certPath).uid).toBe(user.uid);
    expect(readFileSync(now.keyPath, "utf8").trim()).toBe(leaf.keyPem.trim());
    // Leaf first, then its chain, as certbot's fullchain.pem.
    expect(new X509Certificate(readFileSync(now.certPath)).fingerprint256).toBe(new X509Certificate(leaf.certPem).fingerprint256);
    expect(readFileSync(now.certPath, "utf8").match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(await presented()).toBe(new X509Certificate(leaf.certPem).fingerprint256.replace(/:/g, ""));
    // The old pair stays where it was.
    expect(readFileSync(certPath, "utf8")).toBe(pair.certPem);
    expect(readFileSync(keyPath, "utf8")).toBe(pair.keyPem);
  }, 90_000);

  it("deploys a certbot lineage next (--from-certbot): the other A/B names, GSettings moved to them, the restarted listener presents it", async () => {
    const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
    const lineage = join(dirname(ca.dir), "live", "rdp.example.test");
    mkdirSync(lineage, { recursive: true, mode: 0o700 });
    writeFileSync(join(lineage, "fullchain.pem"), readFileSync(leaf.fullchainPath));
    writeFileSync(join(lineage, "privkey.pem"), leaf.keyPem, { mode: 0o600 });
    const { code, json } = await rdpcertJson<DeployJson>(
      [
        "deploy",
        "--yes",
        "--json",
        "--from-certbot",
        "--backend",
        "gnome-remote-desktop",
        "--grd-user",
        USER,
        "--grd-conf",
        join(admin, "absent.conf"),
        "--state-dir",
        join(admin, "state"),
        "--log-dir",
        join(admin, "logs"),
        "--restart-command",
        `/usr/bin/touch ${flag}`,
        "--verify-timeout",
        "20000",
      ],
      { env: { ...process.env, GSETTINGS_SCHEMA_DIR: schemas, RDPCERT_PORT: String(listener.port), RENEWED_LINEAGE: lineage } },
    );
    expect([json.outcome, code]).toEqual(["deployed", 0]);
    expect(json.newThumbprint).toBe(opensslThumbprint(leaf.certPath));
    expect(await configured()).toEqual(expect.objectContaining({ certPath: join(dir, "rdpcert-tls-b.crt"), keyPath: join(dir, "rdpcert-tls-b.key") }));
    expect(await presented()).toBe(new X509Certificate(leaf.certPem).fingerprint256.replace(/:/g, ""));
  }, 90_000);

  it("exporter module=local reports the expiry of the certificate GSettings names", async () => {
    const now = await configured();
    const notAfter = Math.floor(Date.parse(new X509Certificate(readFileSync(now.certPath)).validTo) / 1000);
    const config = join(admin, "rdpcert.json");
    writeFileSync(config, JSON.stringify({ backend: "gnome-remote-desktop", grdUser: USER, grdConf: join(admin, "absent.conf"), port: listener.port }));
    const exporter = await startExporterCli(["--config", config], ["/usr/bin/env", `GSETTINGS_SCHEMA_DIR=${schemas}`]);
    running.push(exporter);
    const answer = await httpGet(`${exporter.url}/probe?module=local`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(new RegExp(`^rdpcert_local_cert_not_after_seconds ${notAfter}$`, "m"));
  }, 60_000);
});
