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
  const main = [...unitDirs].reverse().map((dir) => join(dir, "xrdp.service")).find((file) => existsSync(file));
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

/**
 * Resolves a user (and optional group) to ids through NSS with one `id` call
 * (`uid=102(xrdp) gid=109(xrdp) groups=109(xrdp),103(ssl-cert)`), so LDAP users
 * work too; `getent group` only for a Group= that is not among the user's groups.
 */
export async function resolveIdentity(
  runner: CommandRunner,
  user: string,
  group: string | null,
): Promise<{ ok: true; identity: Identity } | { ok: false; reason: string }> {
  // `--` ends option parsing: a unit's User= value is never taken as an option.
  const id = await runner("id", ["--", user], { timeoutMs: 5000 });
  const uid = /uid=(\d+)/.exec(id.stdout)?.[1];
  if (id.exitCode !== 0 || uid === undefined) {
    return { ok: false, reason: `user ${user} (xrdp's runtime user) does not exist: ${(id.stderr || id.spawnError || "").trim()}` };
  }
  const named = new Map<string, number>();
  for (const m of id.stdout.matchAll(/(\d+)\(([^)]+)\)/g)) named.set(m[2]!, Number(m[1]));
  const primary = Number(/gid=(\d+)/.exec(id.stdout)?.[1] ?? NaN);
  const groups = [...(/groups=(.*)$/m.exec(id.stdout)?.[1] ?? "").matchAll(/(\d+)/g)].map((m) => Number(m[1]));
  const gids = [primary, ...groups.filter((g) => g !== primary)].filter(Number.isInteger);
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
  return { ok: true, identity: { name: group ? `${user}:${group}` : user, uid: Number(uid), gids } };
}
