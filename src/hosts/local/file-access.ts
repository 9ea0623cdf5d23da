import { type Stats, realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";

/** A process identity: what the kernel checks file permissions against. */
export interface Identity {
  readonly name: string;
  readonly uid: number;
  /** Primary and supplementary groups. */
  readonly gids: readonly number[];
}

/**
 * `checked: false`: this process could not look (it lacks permission to
 * resolve or stat the path), so nothing is known about the server's access.
 */
/** `closedDir`: the directory on the way that `who` cannot enter (the fix is there, not on the file). */
export type Access =
  | { readonly ok: true }
  | { readonly ok: false; readonly checked: true; readonly reason: string; readonly closedDir?: string }
  | { readonly ok: false; readonly checked: false; readonly reason: string };

const denied = (error: unknown): boolean => ["EACCES", "EPERM"].includes((error as NodeJS.ErrnoException).code ?? "");

function modeText(stats: Stats): string {
  return `mode ${(stats.mode & 0o7777).toString(8).padStart(4, "0")}, owner ${stats.uid}:${stats.gid}`;
}

function allows(stats: Stats, who: Identity, bit: 4 | 1): boolean {
  if (who.uid === 0) return bit === 4 || stats.isDirectory() || (stats.mode & 0o111) !== 0;
  if (stats.uid === who.uid) return ((stats.mode >> 6) & bit) !== 0;
  if (who.gids.includes(stats.gid)) return ((stats.mode >> 3) & bit) !== 0;
  return (stats.mode & bit) !== 0;
}

/**
 * Whether `who` can open `path` for reading: traverse every directory on the
 * resolved path and read the file, by mode bits (POSIX ACLs and capabilities
 * other than root's are not considered; docs/xrdp.md says so).
 */
export function readableBy(path: string, who: Identity): Access {
  let resolved: string;
  try {
    resolved = realpathSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    if (denied(error)) return { ok: false, checked: false, reason: `${path} cannot be resolved by this user (${code}; run as root)` };
    return { ok: false, checked: true, reason: `${path} cannot be resolved (${code})` };
  }
  const chain: string[] = [];
  for (let dir = dirname(resolved); ; dir = dirname(dir)) {
    chain.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  try {
    for (const dir of chain) {
      const stats = statSync(dir);
      if (!allows(stats, who, 1)) return { ok: false, checked: true, reason: `${who.name} cannot enter ${dir} (${modeText(stats)})`, closedDir: dir };
    }
    const stats = statSync(resolved);
    if (!allows(stats, who, 4)) {
      const via = resolved === path ? path : `${path} (-> ${resolved})`;
      return { ok: false, checked: true, reason: `${who.name} cannot read ${via} (${modeText(stats)})` };
    }
  } catch (error) {
    if (denied(error)) return { ok: false, checked: false, reason: `${resolved} cannot be examined by this user (run as root)` };
    return { ok: false, checked: true, reason: `${resolved} cannot be examined (${(error as NodeJS.ErrnoException).code ?? "error"})` };
  }
  return { ok: true };
}
