import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CommandRunner } from "../command-runner";

/**
 * gnome-remote-desktop 43's user mode (Debian 12): the pair is GSettings
 * `org.gnome.desktop.remote-desktop.rdp` `tls-cert` / `tls-key` of the user whose session
 * runs the daemon, in that user's dconf database (`$XDG_CONFIG_HOME/dconf/user`). Read with
 * the real `gsettings` (argv, no shell) as that user, with that user's environment: reading
 * a dconf database needs no bus, so this works from a root shell while the user is away.
 */
export const GRD_RDP_SCHEMA = "org.gnome.desktop.remote-desktop.rdp";

export interface UserAccount {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

/** A local user from the passwd file (name, uid, primary gid, home); null when not there. */
export function userAccount(name: string, passwd = "/etc/passwd"): UserAccount | null {
  let text: string;
  try {
    text = readFileSync(passwd, "utf8");
  } catch {
    return null;
  }
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 7 || f[0] !== name || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) continue;
    return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! };
  }
  return null;
}

/** The same for a uid (the owner of the listening process). */
export function userByUid(uid: number, passwd = "/etc/passwd"): UserAccount | null {
  let text: string;
  try {
    text = readFileSync(passwd, "utf8");
  } catch {
    return null;
  }
  const name = text
    .split("\n")
    .map((l) => l.split(":"))
    .find((f) => f.length >= 7 && f[2] === String(uid))?.[0];
  return name ? userAccount(name, passwd) : null;
}

/**
 * Where schemas live, passed through from ours when set (a non-standard prefix, the tests'
 * schema). Never XDG_CONFIG_HOME or DCONF_PROFILE: those would make a root shell's own
 * environment choose whose database is read.
 */
const PASSED = ["GSETTINGS_SCHEMA_DIR", "XDG_DATA_DIRS"] as const;

/** The user's own environment for gsettings: HOME, XDG_CONFIG_HOME under it, the session's runtime dir when it exists. */
export function gsettingsEnvironment(user: UserAccount, ours: NodeJS.ProcessEnv = process.env, runtimeRoot = "/run/user"): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    PATH: "/usr/local/bin:/usr/bin:/bin",
    XDG_CONFIG_HOME: join(user.home, ".config"),
    // The default backend a GNOME session uses; an environment's other choice must not change whose database is read.
    GSETTINGS_BACKEND: "dconf",
  };
  for (const name of PASSED) if (ours[name] !== undefined) env[name] = ours[name];
  const runtime = join(runtimeRoot, String(user.uid));
  if (existsSync(runtime)) env.XDG_RUNTIME_DIR = runtime;
  return env;
}

/**
 * GVariant text of a string, as `gsettings get` prints it ('...' or "..." with
 * backslash escapes); null when the text is not one string.
 */
export function parseGVariantString(text: string): string | null {
  const t = text.trim();
  const quote = t[0];
  if ((quote !== "'" && quote !== '"') || t.length < 2 || t[t.length - 1] !== quote) return null;
  let out = "";
  for (let i = 1; i < t.length - 1; i++) {
    const c = t[i]!;
    if (c === quote) return null;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const n = t[++i];
    if (n === undefined || i >= t.length - 1) return null;
    const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", f: "\f", v: "\v", "\\": "\\", "'": "'", '"': '"' };
    if (n in simple) out += simple[n];
    else if (n === "u" || n === "U") {
      const digits = n === "u" ? 4 : 8;
      const hex = t.slice(i + 1, i + 1 + digits);
      if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) return null;
      out += String.fromCodePoint(parseInt(hex, 16));
      i += digits;
    } else return null;
  }
  return out;
}

export type GsettingsPair =
  | { readonly ok: true; readonly certPath: string; readonly keyPath: string; readonly source: string }
  | { readonly ok: false; readonly reason: string; readonly fix: string | null };

const TIMEOUT_MS = 10_000;

/** As `user` when rdpcert runs as root and is someone else; else as itself (reading its own settings). */
function asUser(user: UserAccount): { uid?: number; gid?: number } {
  const me = process.getuid?.() ?? -1;
  return me === 0 && user.uid !== 0 ? { uid: user.uid, gid: user.gid } : {};
}

/** `gsettings get org.gnome.desktop.remote-desktop.rdp KEY` as the serving user. */
export async function readGsettingsKey(
  runner: CommandRunner,
  user: UserAccount,
  key: "tls-cert" | "tls-key" | "enable",
  env: NodeJS.ProcessEnv = gsettingsEnvironment(user),
): Promise<{ ok: true; text: string } | { ok: false; reason: string; fix: string | null }> {
  const result = await runner("gsettings", ["get", GRD_RDP_SCHEMA, key], { timeoutMs: TIMEOUT_MS, wholeEnv: env, ...asUser(user) });
  if (result.spawnError) return { ok: false, reason: `cannot run gsettings: ${result.spawnError}`, fix: "apt install libglib2.0-bin (gsettings)" };
  if (result.timedOut) return { ok: false, reason: `gsettings get ${GRD_RDP_SCHEMA} ${key} did not finish within ${TIMEOUT_MS} ms`, fix: null };
  if (result.exitCode !== 0) {
    const first = (result.stderr.split("\n").find((l) => l.trim() !== "") ?? "").trim().slice(0, 200);
    const noSchema = /No such schema/i.test(result.stderr);
    return {
      ok: false,
      reason: noSchema
        ? `the schema ${GRD_RDP_SCHEMA} is not installed: gnome-remote-desktop is not installed here`
        : `gsettings get ${GRD_RDP_SCHEMA} ${key} as ${user.name} failed: ${first || `exit ${result.exitCode}`}`,
      fix: noSchema ? "install gnome-remote-desktop, or check a remote listener with rdpcert probe HOST" : null,
    };
  }
  return { ok: true, text: result.stdout };
}

export async function readGsettingsPair(runner: CommandRunner, user: UserAccount, env?: NodeJS.ProcessEnv): Promise<GsettingsPair> {
  const source = `GSettings ${GRD_RDP_SCHEMA} of ${user.name}`;
  const paths: string[] = [];
  for (const key of ["tls-cert", "tls-key"] as const) {
    const got = await readGsettingsKey(runner, user, key, env);
    if (!got.ok) return got;
    const value = parseGVariantString(got.text);
    if (value === null) return { ok: false, reason: `gsettings printed no string for ${key} (not g-r-d's schema?)`, fix: null };
    if (value === "") {
      return {
        ok: false,
        reason: `${source}: ${key} is empty, so gnome-remote-desktop has no TLS pair and does not start its RDP server`,
        fix: `open GNOME Settings > Sharing > Remote Desktop as ${user.name} (it generates a pair)`,
      };
    }
    paths.push(value);
  }
  return { ok: true, certPath: paths[0]!, keyPath: paths[1]!, source };
}
