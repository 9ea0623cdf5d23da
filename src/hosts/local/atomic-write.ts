import { closeSync, constants, fchmodSync, fchownSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";

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
