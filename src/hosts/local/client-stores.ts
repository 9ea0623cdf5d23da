import { lstatSync, mkdirSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { writeFileAtomic } from "./atomic-write";
import { BoundedReadError, readBounded } from "./bounded-read";

/**
 * The FreeRDP client stores of the user running rdpcert (issue 25): where they
 * are, read bounded, written atomically with the user's file mode kept.
 *
 * FreeRDP's config dir (2.11.7 libfreerdp/core/settings.c:
 * GetKnownSubPath(KNOWN_PATH_XDG_CONFIG_HOME, "freerdp"); winpr/libwinpr/path/shell.c
 * GetPath_XDG_CONFIG_HOME: $XDG_CONFIG_HOME when set and not empty, else
 * $HOME/.config); FreeRDP 3 keeps the same ConfigPath. Inside it: `known_hosts2`
 * (FreeRDP 2) and `server/` (FreeRDP 3).
 */
export function freerdpConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec: a relative $XDG_CONFIG_HOME is invalid and ignored.
  if (xdg && isAbsolute(xdg)) return join(xdg, "freerdp");
  return join(env.HOME || homedir(), ".config", "freerdp");
}

export interface StoreFile {
  readonly path: string;
  /** The text, or null when the file does not exist. */
  readonly text: string | null;
}

/** A store file's text, or null when it does not exist; a FIFO, device or oversized file is refused (BoundedReadError). */
export function readStoreFile(path: string): StoreFile {
  try {
    return { path, text: readBounded(path, "config").toString("utf8") };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { path, text: null };
    throw error;
  }
}

export { BoundedReadError };

/**
 * Replaces a store file atomically (temp in the same directory, fsync, rename).
 * An existing file keeps its mode and owner; a symlink (a dotfiles manager's)
 * is kept and its target replaced. A new file gets `newMode` (FreeRDP itself
 * creates them 0644 under the umask), and missing directories are created 0700
 * (the XDG Base Directory spec's mode for a config dir rdpcert has to create).
 */
export function writeStoreFile(path: string, data: string, newMode = 0o644): void {
  let target = path;
  let mode = newMode;
  let owner: { uid: number; gid: number } | null = null;
  try {
    if (lstatSync(path).isSymbolicLink()) target = realpathSync(path);
    const stats = statSync(target);
    mode = stats.mode & 0o7777;
    owner = { uid: stats.uid, gid: stats.gid };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  const keepOwner = owner && process.getuid?.() === 0 ? { uid: owner.uid, gid: owner.gid } : {};
  writeFileAtomic(target, data, { mode, ...keepOwner });
}
