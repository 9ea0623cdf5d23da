import { closeSync, constants, fchmodSync, fchownSync, fsyncSync, lstatSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { isAlive, processStartedAtMs } from "./process-info";
import { trustedOwners } from "./trust";

export interface AtomicWriteOptions {
  readonly mode: number;
  /** Owner to set before the file becomes visible; omit to keep the writer's. */
  readonly uid?: number;
  readonly gid?: number;
}

/**
 * Crash-safe replace: a temp file in the same directory with the final mode
 * and owner, fsync, rename over the target, fsync the directory. A crash at
 * any point leaves either the old file or the new one, never a half-written
 * key or certificate. A symlink at `path` is replaced, not followed: callers
 * that must not touch a link target check first.
 */
export function writeFileAtomic(path: string, data: string | Buffer, options: AtomicWriteOptions): void {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.rdpcert-${process.pid}-${randomBytes(4).toString("hex")}`);
  // 0600 until the final mode is set: a key is never readable by others, not even briefly.
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    try {
      const buffer = typeof data === "string" ? Buffer.from(data) : data;
      let offset = 0;
      while (offset < buffer.length) offset += writeSync(fd, buffer, offset, buffer.length - offset);
      if (options.uid !== undefined || options.gid !== undefined) fchownSync(fd, options.uid ?? -1, options.gid ?? -1);
      fchmodSync(fd, options.mode);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // Already renamed or never created.
    }
    throw error;
  }
  fsyncDirectory(dir);
}

export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `.NAME.rdpcert-PID-8HEX`: the temp files writeFileAtomic makes beside NAME. */
const TEMP_NAME = /^\.([^]+)\.rdpcert-(\d+)-[0-9a-f]{8}$/;

/**
 * A crash inside writeFileAtomic leaves its temp file (a private key copy,
 * when the target is a key, so it must not stay behind). Removes the leftovers beside
 * `path`: only names of writeFileAtomic's own pattern for that file, regular
 * files owned by root or the running user, whose writer is gone (its pid is
 * not running, or is a process that started after the file was written).
 * Returns what it removed; never throws.
 */
export function removeLeftoverTemps(path: string): string[] {
  const dir = dirname(path);
  const base = basename(path);
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const match = TEMP_NAME.exec(name);
    if (!match || match[1] !== base) continue;
    const temp = join(dir, name);
    try {
      const stats = lstatSync(temp);
      if (!stats.isFile() || !trustedOwners().includes(stats.uid)) continue;
      const pid = Number(match[2]);
      if (pid === process.pid) continue;
      if (isAlive(pid)) {
        const started = processStartedAtMs(pid);
        // The same pid may be the writer still at work; a process started after the write is not.
        if (started === null || started <= stats.mtimeMs + 1000) continue;
      }
      unlinkSync(temp);
      removed.push(temp);
    } catch {
      // Gone meanwhile, or not ours to remove.
    }
  }
  return removed;
}
