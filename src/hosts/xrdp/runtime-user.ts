import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { CommandRunner } from "../command-runner";
import type { Identity } from "./file-access";

/** Where systemd looks for xrdp.service and its drop-ins, lowest precedence first. */
export const XRDP_UNIT_DIRS = ["/usr/lib/systemd/system", "/lib/systemd/system", "/run/systemd/system", "/etc/systemd/system"];

export interface RuntimeUserSetting {
  readonly user: string | null;
  readonly group: string | null;
  /** The unit files that were read, for the report. */
  readonly sources: readonly string[];
}

/**
 * User= and Group= of xrdp.service: the identity xrdp reads its key as. The
 * last unit file (or drop-in) that sets a value wins, as in systemd. Debian's
 * unit sets User=xrdp, Group=xrdp.
 */
export function xrdpServiceIdentity(unitDirs: readonly string[] = XRDP_UNIT_DIRS): RuntimeUserSetting {
  let user: string | null = null;
  let group: string | null = null;
  const sources: string[] = [];
  const read = (file: string): void => {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      return;
    }
    sources.push(file);
    let section = "";
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (line.startsWith("[")) section = line;
      else if (section === "[Service]") {
        const m = /^(User|Group)\s*=\s*(.*)$/.exec(line);
        if (m?.[1] === "User") user = m[2]!.trim() || null;
        if (m?.[1] === "Group") group = m[2]!.trim() || null;
      }
    }
  };
  const main = [...unitDirs]
    .reverse()
    .map((dir) => join(dir, "xrdp.service"))
    .find((file) => existsSync(file));
  if (main) read(main);
  const dropIns = new Map<string, string>();
  for (const dir of unitDirs) {
    const d = join(dir, "xrdp.service.d");
    let names: string[] = [];
    try {
      names = readdirSync(d).filter((name) => name.endsWith(".conf"));
    } catch {
      continue;
    }
    for (const name of names) dropIns.set(name, join(d, name));
  }
  for (const name of [...dropIns.keys()].sort()) read(dropIns.get(name)!);
  return { user, group, sources };
}

/** The local account files; tests point them elsewhere. */
export interface AccountFiles {
  readonly passwd: string;
  readonly group: string;
}
export const ACCOUNT_FILES: AccountFiles = { passwd: "/etc/passwd", group: "/etc/group" };

function readLines(path: string): string[] {
  try {
    return readFileSync(path, "utf8").split("\n");
  } catch {
    return [];
  }
}

/** A local user from the account files: uid, primary gid, and the groups that list it as a member; null when it is not a local user. */
function localUser(user: string, files: AccountFiles): { uid: number; gids: number[]; groupIds: Map<string, number> } | null {
  const entry = readLines(files.passwd)
    .map((line) => line.split(":"))
    .find((f) => f[0] === user && f.length >= 7);
  if (!entry) return null;
  const uid = Number(entry[2]);
  const primary = Number(entry[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(primary) || entry[2] === "" || entry[3] === "") return null;
  const groupIds = new Map<string, number>();
  const supplementary: number[] = [];
  for (const line of readLines(files.group)) {
    const f = line.split(":");
    if (f.length < 4 || f[2] === "") continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) continue;
    if (!groupIds.has(f[0]!)) groupIds.set(f[0]!, gid);
    if (f[3]!.split(",").includes(user) && gid !== primary && !supplementary.includes(gid)) supplementary.push(gid);
  }
  return { uid, gids: [primary, ...supplementary], groupIds };
}

/**
 * Resolves a user (and optional group) to ids. A local user (in `/etc/passwd`,
 * its groups in `/etc/group`) is read from the files, which costs no process
 * on `status`'s start-up path; any other user goes through NSS with one `id`
 * call (`uid=102(xrdp) gid=109(xrdp) groups=109(xrdp),103(ssl-cert)`), so LDAP
 * users work too; `getent group` only for a Group= found in neither.
 */
export async function resolveIdentity(
  runner: CommandRunner,
  user: string,
  group: string | null,
  files: AccountFiles = ACCOUNT_FILES,
): Promise<{ ok: true; identity: Identity } | { ok: false; reason: string }> {
  const name = group ? `${user}:${group}` : user;
  const local = localUser(user, files);
  let uid: number;
  let gids: number[];
  let named: Map<string, number>;
  if (local) {
    ({ uid, gids, groupIds: named } = local);
  } else {
    // `--` ends option parsing: a unit's User= value is never taken as an option.
    const id = await runner("id", ["--", user], { timeoutMs: 5000 });
    const parsedUid = /uid=(\d+)/.exec(id.stdout)?.[1];
    if (id.exitCode !== 0 || parsedUid === undefined) {
      return { ok: false, reason: `user ${user} (xrdp's runtime user) does not exist: ${(id.stderr || id.spawnError || "").trim()}` };
    }
    uid = Number(parsedUid);
    named = new Map<string, number>();
    for (const m of id.stdout.matchAll(/(\d+)\(([^)]+)\)/g)) named.set(m[2]!, Number(m[1]));
    const primary = Number(/gid=(\d+)/.exec(id.stdout)?.[1] ?? NaN);
    const groups = [...(/groups=(.*)$/m.exec(id.stdout)?.[1] ?? "").matchAll(/(\d+)/g)].map((m) => Number(m[1]));
    gids = [primary, ...groups.filter((g) => g !== primary)].filter(Number.isInteger);
  }
  if (group !== null) {
    let gid = named.get(group);
    if (gid === undefined) {
      const g = await runner("getent", ["group", "--", group], { timeoutMs: 5000 });
      const parsed = Number(g.stdout.split(":")[2]);
      if (g.exitCode === 0 && Number.isInteger(parsed)) gid = parsed;
    }
    // Group= replaces the primary group; supplementary groups of the user still apply.
    if (gid !== undefined) gids[0] = gid;
  }
  return { ok: true, identity: { name, uid, gids } };
}
