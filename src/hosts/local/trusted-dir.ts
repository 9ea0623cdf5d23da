import { closeSync, constants, existsSync, fstatSync, mkdirSync, openSync } from "node:fs";
import { hostOs } from "./host-os";
import { UntrustedPathError, lstatOrNull, trustedChain, untrustedDirectory } from "./trust";

/**
 * A directory root writes into (e.g. rdpcert's managed `rdpcert/` beside
 * the ini, the textfile directory), opened without following a link and
 * judged by fstat of that descriptor. `at` names the opened directory itself
 * (`/proc/self/fd/N` on Linux): files created and renamed under it land in the
 * directory that was checked, even if its path is renamed or replaced by a
 * link meanwhile (Node has no openat; the magic link is its equivalent).
 */
export interface OpenDirectory {
  readonly path: string;
  readonly at: string;
  close(): void;
}

export interface OpenDirectoryOptions {
  /** What to call it in a refusal ("the textfile directory"). */
  readonly what: string;
  /**
   * "full": every directory and link on the way from / must pass the trust rules (trustedChain);
   * "last": only the directory itself (its parent may belong to another user, e.g. xrdp's own ini directory).
   */
  readonly chain: "full" | "last";
  /** Create it with this mode when missing (its parent must exist); without it, a missing directory is ENOENT. */
  readonly create?: number;
}

const refusal = (what: string, path: string, reason: string): UntrustedPathError =>
  new UntrustedPathError(
    `${what} ${path}: ${reason}: refusing to write there (as root, through a path another user controls)`,
    `make ${path} a real directory that only root owns and writes (chown root:root ${path}; chmod 755 ${path}), or move it aside and let rdpcert create it`,
  );

export function openTrustedDirectory(path: string, options: OpenDirectoryOptions): OpenDirectory {
  if (!hostOs.posixOwnership) {
    if (options.create !== undefined) mkdirSync(path, { recursive: true });
    return { path, at: path, close: () => undefined };
  }
  let expected: { ino: number; dev: number } | null = null;
  let real = path;
  if (options.chain === "full") {
    const chain = trustedChain(path, `${options.what} ${path}`);
    if (chain !== null) {
      expected = chain.stats;
      real = chain.real;
    }
  }
  if (options.create !== undefined) {
    try {
      mkdirSync(real, { mode: options.create });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  let fd: number;
  try {
    fd = openSync(real, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // O_DIRECTORY | O_NOFOLLOW on a link: ELOOP or ENOTDIR, depending on the kernel.
    if (code === "ELOOP" || (code === "ENOTDIR" && lstatOrNull(real)?.isSymbolicLink())) throw refusal(options.what, path, `${real} is a link`);
    if (code === "ENOTDIR") throw refusal(options.what, path, `${real} is not a directory`);
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    if (expected !== null && (stats.ino !== expected.ino || stats.dev !== expected.dev))
      throw refusal(options.what, path, "it was replaced while it was checked");
    const reason = untrustedDirectory(real, stats, true);
    if (reason) throw refusal(options.what, path, reason);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  const at = `/proc/self/fd/${fd}`;
  return { path, at: existsSync(at) ? at : real, close: () => closeSync(fd) };
}

/** Runs `fn` with the directory open (see openTrustedDirectory), and closes it. */
export function withTrustedDirectory<T>(path: string, options: OpenDirectoryOptions, fn: (at: string) => T): T {
  const dir = openTrustedDirectory(path, options);
  try {
    return fn(dir.at);
  } finally {
    dir.close();
  }
}
