import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readFileSync, watch, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lookupUser } from "../../scripts/xrdp-server";
import { runCommand } from "../../src/hosts/command-runner";
import { readGsettingsPair, userAccount } from "../../src/hosts/gnome-remote-desktop/grd-gsettings";
import type { Disposer } from "./dispose";
import { type GrdListener, grdListener } from "./grd-listener";

/**
 * gnome-remote-desktop 43's user mode, set up for real: a system user (`name`) with a temporary
 * home, the schema of Debian 12's gnome-remote-desktop 43.3-1 (org.gnome.desktop.remote-desktop.rdp:
 * tls-cert, tls-key as strings) compiled with glib-compile-schemas into an admin dir, GNOME
 * Settings' pair in the user's data dir (key 0600, the user's), tls-cert and tls-key pointing at
 * it in the user's own dconf database (written with the real gsettings, as the user, through
 * dconf's service on a private session bus, as GNOME Settings writes it), and a listener that
 * negotiates as g-r-d does, serving that pair. g-r-d itself needs mutter and is not installed.
 * Everything (user, home, admin dir, listener, watcher) is registered with `made` as it is made.
 */
export interface GrdUser {
  readonly name: string;
  readonly user: { uid: number; gid: number };
  readonly home: string;
  /** The test runner's dir (root's, 0755): schemas, state and log dirs, config files. */
  readonly admin: string;
  readonly schemas: string;
  /** The user's data dir, where GNOME Settings puts the pair it makes. */
  readonly dataDir: string;
  /** GNOME Settings' pair, as first configured. */
  readonly certPath: string;
  readonly keyPath: string;
  readonly listener: GrdListener;
  /** The user's environment for gsettings: HOME, XDG_CONFIG_HOME, the schema dir, the dconf backend, PATH. */
  userEnv(): NodeJS.ProcessEnv;
  /** `gsettings set org.gnome.desktop.remote-desktop.rdp KEY VALUE` as the user. */
  gsettingsSet(key: string, value: string): void;
  /** The pair GSettings names now, read as rdpcert reads it. */
  configured(): Promise<{ certPath: string; keyPath: string }>;
  /** The environment for the rdpcert CLI: this process's, with the schema dir and RDPCERT_PORT the listener's. */
  cliEnv(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** rdpcert's options naming this user's g-r-d: --backend gnome-remote-desktop --grd-user NAME --grd-conf (absent, so user mode). */
  targetArgs(): string[];
  /** --state-dir and --log-dir in the admin dir. */
  dirArgs(): string[];
}

/** A g-r-d "restart": touching `flag` makes the listener load the pair GSettings names (as g-r-d does when it starts). */
export interface GrdRestarts {
  readonly flag: string;
  /** How many restarts loaded a pair. */
  count(): number;
}

const SCHEMA = `<schemalist>
  <schema id='org.gnome.desktop.remote-desktop.rdp' path='/org/gnome/desktop/remote-desktop/rdp/'>
    <key name='enable' type='b'><default>false</default></key>
    <key name='tls-cert' type='s'><default>''</default></key>
    <key name='tls-key' type='s'><default>''</default></key>
    <key name='view-only' type='b'><default>true</default></key>
  </schema>
</schemalist>
`;

export async function setUpGrdUser(made: Disposer, name: string, pair: { readonly certPem: string; readonly keyPem: string }): Promise<GrdUser> {
  const home = made.tempDir(`${name}-home-`);
  chmodSync(home, 0o755);
  if (lookupUser(name)) execFileSync("usermod", ["--home", home, name]);
  else execFileSync("useradd", ["--system", "--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin", name]);
  made.add(() => {
    if (lookupUser(name)) execFileSync("userdel", [name]);
  });
  const user = lookupUser(name)!;
  chownSync(home, user.uid, user.gid);
  const admin = made.tempDir(`${name}-admin-`);
  chmodSync(admin, 0o755);
  const schemas = join(admin, "schemas");
  mkdirSync(schemas);
  writeFileSync(join(schemas, "org.gnome.desktop.remote-desktop.gschema.xml"), SCHEMA);
  execFileSync("glib-compile-schemas", [schemas]);
  const dataDir = join(home, ".local", "share", "gnome-remote-desktop");
  mkdirSync(dataDir, { recursive: true });
  const certPath = join(dataDir, "rdp-tls.crt");
  const keyPath = join(dataDir, "rdp-tls.key");
  writeFileSync(certPath, pair.certPem, { mode: 0o644 });
  writeFileSync(keyPath, pair.keyPem, { mode: 0o600 });
  for (const p of [join(home, ".local"), join(home, ".local", "share"), dataDir, certPath, keyPath]) chownSync(p, user.uid, user.gid);

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
  gsettingsSet("tls-cert", certPath);
  gsettingsSet("tls-key", keyPath);
  const listener = made.keep(await grdListener(pair));
  return {
    name,
    user,
    home,
    admin,
    schemas,
    dataDir,
    certPath,
    keyPath,
    listener,
    userEnv,
    gsettingsSet,
    configured: async () => {
      const got = await readGsettingsPair(runCommand, userAccount(name)!, userEnv());
      if (!got.ok) throw new Error(got.reason);
      return got;
    },
    cliEnv: (extra = {}) => ({ ...process.env, GSETTINGS_SCHEMA_DIR: schemas, RDPCERT_PORT: String(listener.port), ...extra }),
    targetArgs: () => ["--backend", "gnome-remote-desktop", "--grd-user", name, "--grd-conf", join(admin, "absent.conf")],
    dirArgs: () => ["--state-dir", join(admin, "state"), "--log-dir", join(admin, "logs")],
  };
}

/** Restarts of `grd`'s listener by a flag file in its admin dir (the restart command touches it). */
export function watchRestarts(made: Disposer, grd: GrdUser): GrdRestarts {
  const flags = join(grd.admin, "flags");
  mkdirSync(flags);
  let restarts = 0;
  const watcher = watch(flags, () => {
    void grd.configured().then((now) => {
      try {
        grd.listener.reload({ certPem: readFileSync(now.certPath, "utf8"), keyPem: readFileSync(now.keyPath, "utf8") });
        restarts += 1;
      } catch {
        // A pair that cannot be loaded: g-r-d would not serve RDP; the old context stays here.
      }
    });
  });
  made.keep(watcher);
  return { flag: join(flags, "restart"), count: () => restarts };
}
