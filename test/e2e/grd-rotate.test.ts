import { execFileSync, spawnSync } from "node:child_process";
import { type FSWatcher, chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, watch, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lookupUser } from "../../scripts/xrdp-server";
import { runCommand } from "../../src/hosts/command-runner";
import { readGsettingsPair, userAccount } from "../../src/hosts/gnome-remote-desktop/grd-gsettings";
import { certValid } from "../helpers/certs";
import { rdpcert } from "../helpers/cli";
import { type GrdListener, grdListener } from "../helpers/grd-listener";

/**
 * `rotate` on gnome-remote-desktop 43's user mode (issue 24), with the real gsettings and
 * dconf as the user, and a listener that negotiates as g-r-d does and, like g-r-d, loads its
 * pair only when it "restarts": the restart command touches a file, and the listener then
 * reads the pair GSettings names (as the user) and serves it.
 */
const USER = "rdpcert-grdrot";
const SCHEMA = `<schemalist>
  <schema id='org.gnome.desktop.remote-desktop.rdp' path='/org/gnome/desktop/remote-desktop/rdp/'>
    <key name='enable' type='b'><default>false</default></key>
    <key name='tls-cert' type='s'><default>''</default></key>
    <key name='tls-key' type='s'><default>''</default></key>
  </schema>
</schemalist>
`;

describe("rdpcert rotate --backend gnome-remote-desktop (user mode)", () => {
  let home: string;
  let admin: string;
  let schemas: string;
  let flag: string;
  let user: { uid: number; gid: number };
  let listener: GrdListener;
  let watcher: FSWatcher;
  let certPath: string;
  let keyPath: string;
  let restarts = 0;
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

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "rdpcert-grdrot-home-"));
    chmodSync(home, 0o755);
    if (lookupUser(USER)) execFileSync("usermod", ["--home", home, USER]);
    else execFileSync("useradd", ["--system", "--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin", USER]);
    user = lookupUser(USER)!;
    chownSync(home, user.uid, user.gid);
    admin = mkdtempSync(join(tmpdir(), "rdpcert-grdrot-admin-"));
    chmodSync(admin, 0o755);
    schemas = join(admin, "schemas");
    mkdirSync(schemas);
    writeFileSync(join(schemas, "org.gnome.desktop.remote-desktop.gschema.xml"), SCHEMA);
    execFileSync("glib-compile-schemas", [schemas]);
    const dir = join(home, ".local", "share", "gnome-remote-desktop");
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
  });
  afterAll(async () => {
    watcher?.close();
    await listener?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(admin, { recursive: true, force: true });
    if (lookupUser(USER)) execFileSync("userdel", [USER]);
  });

  const rotate = (restart: string, extra: string[] = []) =>
    rdpcert(
      [
        "rotate",
        "--yes",
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

  it("--dry-run prints the plan: a new pair beside the old, GSettings pointed at it, the restart", async () => {
    const run = await rotate(`/usr/bin/touch ${flag}`, ["--dry-run"]);
    expect(run.stdout).toContain(
      `write ${join(home, ".local/share/gnome-remote-desktop/rdpcert-tls.crt")} (0644) and ${join(home, ".local/share/gnome-remote-desktop/rdpcert-tls.key")} (0600), owned by ${USER}`,
    );
    expect(run.stdout).toContain(`point GSettings org.gnome.desktop.remote-desktop.rdp tls-cert and tls-key of ${USER}`);
    expect(run.stdout).toContain(`restart: /usr/bin/touch ${flag}`);
    expect(await configured()).toEqual(expect.objectContaining({ certPath, keyPath }));
  });

  it("a failed verification (the restart does not load the new pair) points GSettings back at the old pair", async () => {
    const run = await rotate("/usr/bin/true", ["--verify-timeout", "2000"]);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/^rolled-back +verification failed: the listener still presents the old certificate [0-9A-F]{40}/m);
    expect(run.stdout).toMatch(/^ {2}ok {3}restore .*restored GSettings org\.gnome\.desktop\.remote-desktop\.rdp tls-cert and tls-key of rdpcert-grdrot/m);
    expect(run.stdout).toMatch(/^ {2}ok {3}verify-old .*old state presented again$/m);
    expect(await configured()).toEqual(expect.objectContaining({ certPath, keyPath }));
    // The old pair was never touched.
    expect(readFileSync(certPath, "utf8")).toBe(pair.certPem);
  });

  it("rdpcert run --dry-run: GNOME Settings' certificate near its end would be rotated (the schedule is what renews it)", async () => {
    const run = await rdpcert(
      [
        "run",
        "--dry-run",
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
        `/usr/bin/touch ${flag}`,
      ],
      { env: { ...process.env, GSETTINGS_SCHEMA_DIR: schemas, RDPCERT_PORT: String(listener.port) } },
    );
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ schema: "rdpcert.run/v1", dryRun: true, action: "rotate", outcome: "dry-run: would rotate" });
    expect(await configured()).toEqual(expect.objectContaining({ certPath, keyPath }));
  });

  it("rotates: a new pair owned by the user (key 0600), GSettings names it, the restarted listener serves it", async () => {
    const before = restarts;
    const run = await rotate(`/usr/bin/touch ${flag}`, ["--verify-timeout", "20000"]);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(restarts).toBeGreaterThan(before);
    const now = await configured();
    expect(now.certPath).toBe(join(home, ".local/share/gnome-remote-desktop/rdpcert-tls.crt"));
    expect(now.keyPath).toBe(join(home, ".local/share/gnome-remote-desktop/rdpcert-tls.key"));
    const key = statSync(now.keyPath);
    expect([key.mode & 0o777, key.uid, key.gid]).toEqual([0o600, user.uid, user.gid]);
    expect(statSync(now.certPath).uid).toBe(user.uid);
    const served = new X509Certificate(readFileSync(now.certPath));
    expect(served.validTo).not.toBe(new X509Certificate(pair.certPem).validTo);
    const probed = JSON.parse((await rdpcert(["probe", "--json", `127.0.0.1:${listener.port}`])).stdout);
    expect(probed.results[0]).toMatchObject({ status: "ok", nlaPolicy: "required", certificate: { sha256: served.fingerprint256.replace(/:/g, "") } });
    // The old pair stays where it was.
    expect(readFileSync(certPath, "utf8")).toBe(pair.certPem);
  });
});
