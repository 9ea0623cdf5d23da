import { type Stats, closeSync, constants, fstatSync, lstatSync, openSync, readSync, readlinkSync, statSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { type ReadKind, readBoundedFd } from "./bounded-read";
import { hostOs } from "./host-os";

/**
 * rdpcert runs as root: whatever steers it (its state dir, its config file,
 * the restart command it runs) must be as trustworthy as root itself. A path
 * that another user owns or can write, or a symlink inside the state dir
 * (which another user could have placed), is refused with one line; the CLI maps this to exit 3.
 */
export class UntrustedPathError extends Error {
  override name = "UntrustedPathError";
  constructor(
    reason: string,
    readonly fix = "use files that only root owns and can write (docs/trust.md: the state dir's trust rules)",
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
  // Windows has no POSIX owner and mode: the state dir is locked down by ACL instead (host-os.ts: windowsAclArgs).
  if (!hostOs.posixOwnership) return null;
  if (!trustedOwners().includes(stats.uid))
    return `${what} is owned by uid ${stats.uid}, not by root${trustedOwners().length > 1 ? " or the running user" : ""} (${modeText(stats)})`;
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
 * The restart (or renew) command runs as root: its executable, every link on
 * the way to it and every directory above each of them must be root's (or the
 * running user's) and writable by nobody else (trustedChain). Returns the
 * reason to refuse, or null. Node cannot exec a checked descriptor, so this
 * is race-free only because nobody else can rename anything on that path.
 */
export function untrustedExecutable(file: string, what = "the restart command"): string | null {
  const found = resolveExecutable(file);
  if (!found) return null; // Not found: the restart step reports that it could not start.
  try {
    if (!file.includes("/")) {
      // Spawned by name later: every PATH directory searched up to the match must be as trusted,
      // or another user could put a program of the same name earlier on PATH meanwhile.
      for (const dir of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(delimiter)) {
        if (!dir) continue;
        checkTrustedDirectory(dir, `${what} ${file} is looked up on PATH, whose directory`);
        if (join(dir, file) === found) break;
      }
    }
    const chain = trustedChain(found, `${what}'s executable ${found}`);
    if (chain === null) return null;
    const reason = untrustedReason(`${what}'s executable ${chain.real}${chain.real === found ? "" : ` (via ${found})`}`, chain.stats);
    return reason;
  } catch (error) {
    if (error instanceof UntrustedPathError) return error.message;
    return null;
  }
}

/** Why a directory on the way to a file root acts on lets another user swap what lies below it, or null. */
export function untrustedDirectory(path: string, stats: Stats, last: boolean): string | null {
  if (!trustedOwners().includes(stats.uid))
    return `${path} is owned by uid ${stats.uid}, not by root${trustedOwners().length > 1 ? " or the running user" : ""} (${modeText(stats)})`;
  if ((stats.mode & 0o022) === 0) return null;
  // A sticky directory of root's (/tmp): others may add entries but never rename or remove root's,
  // and the entry below it is judged in turn (a file or directory they added is theirs, and refused).
  // Not when the directory itself is what root reads from or writes into (`last`).
  if (!last && stats.uid === 0 && (stats.mode & 0o1000) !== 0) return null;
  return `${path} is writable by ${(stats.mode & 0o002) !== 0 ? "every user" : "its group"} (${modeText(stats)})`;
}

/** The most links one path may pass through, as the kernel's MAXSYMLINKS. */
const MAX_LINKS = 40;

/**
 * sshd's StrictModes for a path root is about to act on: walks it
 * from `/` one component at a time, following links by reading them (never
 * through the kernel), and refuses (UntrustedPathError) when any directory on
 * the way, including every directory a link passes through, is owned by
 * another user or writable by its group or others (a root-owned sticky
 * directory such as /tmp excepted, see untrustedDirectory), or when a link is
 * not root's (in a trusted directory only root could have made it anyway; in
 * a sticky one, anyone). Returns the path it resolves to and
 * its lstat, unjudged (callers judge the file itself by fstat of what they
 * open), or null when a component does not exist. Relative paths are taken
 * from the working directory. Windows: no POSIX owners; the path as given.
 */
export function trustedChain(path: string, what: string): { real: string; stats: Stats } | null {
  if (!hostOs.posixOwnership) {
    const stats = lstatOrNull(path);
    return stats ? { real: path, stats } : null;
  }
  const refuse = (reason: string): never => {
    throw new UntrustedPathError(
      `${what}: ${reason}: refusing to use it (another user could swap what root reads or runs)`,
      `make every directory on the way root's and writable only by root (chown root; chmod go-w), as sshd's StrictModes wants`,
    );
  };
  const pending = resolve(path)
    .split("/")
    .filter((part) => part !== "");
  let current = "/";
  let stats = lstatSync("/");
  const top = untrustedDirectory("/", stats, pending.length === 0);
  if (top) refuse(top);
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === ".") continue;
    if (name === "..") {
      // Every prefix of `current` was checked on the way down: its parent is trusted.
      current = dirname(current);
      stats = lstatSync(current);
      continue;
    }
    const next = join(current, name);
    const found = lstatOrNull(next);
    if (found === null) return null;
    if (found.isSymbolicLink()) {
      if (++links > MAX_LINKS) refuse(`${path} passes through more than ${MAX_LINKS} links`);
      // In a sticky directory (/tmp) anyone may add a link: it must be root's (as fs.protected_symlinks wants).
      if (!trustedOwners().includes(found.uid))
        refuse(`${next} is a link owned by uid ${found.uid}, not by root${trustedOwners().length > 1 ? " or the running user" : ""}`);
      const target = readlinkSync(next);
      pending.unshift(...target.split("/").filter((part) => part !== ""));
      if (isAbsolute(target)) current = "/";
      continue;
    }
    if (pending.length > 0) {
      if (!found.isDirectory()) return null;
      const reason = untrustedDirectory(next, found, false);
      if (reason) refuse(reason);
    }
    current = next;
    stats = found;
  }
  return { real: current, stats };
}

/**
 * Reads a file that steers root (a config file, a certificate and key to
 * deploy) under the trust rules: trustedChain for every directory and link on
 * the way, then the file opened without following a link, checked by fstat of
 * that descriptor (regular, within READ_LIMITS[kind], the very file the walk
 * found, root's and writable by nobody else) and read from it. ENOENT (and
 * other errno failures) are thrown unchanged; a FIFO or device is a
 * BoundedReadError; a file or directory others control an UntrustedPathError.
 */
export function readTrustedFile(path: string, kind: ReadKind, what: string): Buffer {
  const chain = trustedChain(path, `${what} ${path}`);
  if (chain === null) throw Object.assign(new Error(`${path}: no such file`), { code: "ENOENT" });
  const shown = chain.real === path ? path : `${path} (${chain.real})`;
  let fd: number;
  try {
    fd = openSync(chain.real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | (constants.O_NOCTTY ?? 0));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP")
      throw new UntrustedPathError(`${what} ${shown} changed into a link while it was read: refusing to use it`);
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    if (hostOs.posixOwnership && (stats.ino !== chain.stats.ino || stats.dev !== chain.stats.dev))
      throw new UntrustedPathError(`${what} ${shown} was replaced while it was read: refusing to use it`);
    if (stats.isFile()) {
      const reason = untrustedReason(`${what} ${shown}`, stats);
      if (reason)
        throw new UntrustedPathError(
          `${reason}: refusing to use it (as root, a file that another user can write decides what root does)`,
          `chown root:root ${chain.real} && chmod go-w ${chain.real}`,
        );
    }
    return readBoundedFd(fd, stats, kind);
  } finally {
    closeSync(fd);
  }
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
 * A directory root reads from (deploySource): trustedChain up to it, and the
 * directory itself root's and writable by nobody else. "missing" when it does
 * not exist (yet); throws UntrustedPathError otherwise.
 */
export function checkTrustedDirectory(path: string, what: string): "ok" | "missing" {
  const chain = trustedChain(path, `${what} ${path}`);
  if (chain === null) return "missing";
  if (!hostOs.posixOwnership) return "ok";
  const fix = `make ${chain.real} and every directory above it root's and writable only by root (chown root; chmod go-w)`;
  if (!chain.stats.isDirectory()) throw new UntrustedPathError(`${what} ${path}: ${chain.real} is not a directory`, fix);
  const reason = untrustedDirectory(chain.real, chain.stats, true);
  if (reason) throw new UntrustedPathError(`${what} ${path}: ${reason}: refusing to use it (another user could put their own certificate and key there)`, fix);
  return "ok";
}
