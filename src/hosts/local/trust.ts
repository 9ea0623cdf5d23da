import { type Stats, closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

/**
 * rdpcert runs as root: whatever steers it (its state dir, its config file,
 * the restart command it runs) must be as trustworthy as root itself. A path
 * that another user owns or can write, or a symlink inside the state dir
 * (issue 12, case 6), is refused with one line; the CLI maps this to exit 3.
 */
export class UntrustedPathError extends Error {
  override name = "UntrustedPathError";
  constructor(
    reason: string,
    readonly fix = "use files that only root owns and can write (README: the state dir's trust rules)",
  ) {
    super(reason);
  }
}

/** The owners rdpcert trusts: root, and the running user when it is not root. */
export function trustedOwners(): readonly number[] {
  const uid = process.geteuid?.() ?? 0;
  return uid === 0 ? [0] : [0, uid];
}

function modeText(stats: Stats): string {
  return `mode ${(stats.mode & 0o7777).toString(8).padStart(4, "0")}, owner uid ${stats.uid}`;
}

/** Why `stats` is not trustworthy (another owner, writable by group or others), or null. */
export function untrustedReason(what: string, stats: Stats): string | null {
  // Windows has no POSIX owner and mode: the state dir is locked down by ACL instead (windowsAclArgs).
  if (process.platform === "win32") return null;
  if (!trustedOwners().includes(stats.uid)) return `${what} is owned by uid ${stats.uid}, not by root${trustedOwners().length > 1 ? " or the running user" : ""} (${modeText(stats)})`;
  if ((stats.mode & 0o022) !== 0) return `${what} is writable by ${(stats.mode & 0o002) !== 0 ? "every user" : "its group"} (${modeText(stats)})`;
  return null;
}

/**
 * Reads a file of rdpcert's own without following a symlink, refusing one
 * that is not a regular file, not ours, writable by others, or larger than
 * `maxBytes`. ENOENT is passed through for callers that treat it as "none".
 */
export function readOwnFile(path: string, maxBytes: number): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new UntrustedPathError(`${path} is not a regular file: refusing to read it`);
    const reason = untrustedReason(path, stats);
    if (reason) throw new UntrustedPathError(`${reason}: refusing to use it`);
    if (stats.size > maxBytes) throw new UntrustedPathError(`${path} is larger than ${maxBytes} bytes: refusing to read it`);
    const buffer = Buffer.alloc(stats.size);
    let offset = 0;
    while (offset < buffer.length) {
      const n = readSync(fd, buffer, offset, buffer.length - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return buffer.subarray(0, offset);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") throw new UntrustedPathError(`${path} is a symlink: refusing to follow it`);
    throw error;
  } finally {
    closeSync(fd);
  }
}

/** The executable an argv[0] names: itself when it has a slash, else the first match on PATH. */
export function resolveExecutable(file: string, path = process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"): string | null {
  if (file.includes("/")) return isAbsolute(file) ? file : join(process.cwd(), file);
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, file);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not in this PATH entry.
    }
  }
  return null;
}

/**
 * The restart (or renew) command runs as root: its executable (after links) must be
 * root's (or the running user's) and writable by nobody else. Returns the
 * reason to refuse, or null.
 */
export function untrustedExecutable(file: string, what = "the restart command"): string | null {
  const found = resolveExecutable(file);
  if (!found) return null; // Not found: the restart step reports that it could not start.
  let real: string;
  try {
    real = realpathSync(found);
  } catch {
    return null;
  }
  const stats = statSync(real);
  return untrustedReason(`${what}'s executable ${real}${real === found ? "" : ` (via ${found})`}`, stats);
}

/** lstat that returns null for a missing path. */
export function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/**
 * The config file steers what runs as root (restartCommand, renewCommand):
 * the reason to refuse it, or null (also for a missing file).
 */
export function untrustedConfig(path: string): string | null {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch {
    return null;
  }
  const reason = untrustedReason(`the config file ${path}`, stats);
  return reason ? `${reason}: refusing to use it (its commands would run as root); fix: chown root:root ${path} && chmod 600 ${path}` : null;
}
