/**
 * The one place rdpcert names the operating system it runs on, and what
 * differs per OS as plain values: where its files go by default and what an
 * absolute path is. Pure (no I/O): the file-system and process behaviour that
 * differs per OS is src/hosts/local/host-os.ts, chosen from this.
 *
 * Everything else asks these functions, never `process.platform`
 * (test/unit/architecture/platform.test.ts enforces it). Functions take the
 * platform (and the environment) as an argument, defaulting to this host, so
 * that tests and `platform` options can ask about the other OS.
 */

/** The OS as Node names it ("win32", "linux", "darwin", "freebsd"...): backends and messages use these names. */
export type Platform = NodeJS.Platform;

/** What most differences depend on: Windows, or a POSIX system (Linux, the BSDs, macOS). */
export type OsFamily = "windows" | "posix";

/** This host's platform. */
export function currentPlatform(): Platform {
  return process.platform;
}

export function osFamily(platform: Platform = currentPlatform()): OsFamily {
  return platform === "win32" ? "windows" : "posix";
}

export function isWindows(platform: Platform = currentPlatform()): boolean {
  return osFamily(platform) === "windows";
}

/** Linux: /proc lists processes and their sockets (who listens on a port, a zombie from a running process). */
export function isLinux(platform: Platform = currentPlatform()): boolean {
  return platform === "linux";
}

/** rdpcert's default places: the config file, the state dir (lock, journal, backups) and the log directory. */
export interface DefaultPaths {
  readonly configFile: string;
  readonly stateDir: string;
  readonly logDir: string;
}

/**
 * Windows: everything under `%ProgramData%\rdpcert` (C:\ProgramData when the
 * variable is unset); POSIX: the FHS places.
 */
export function defaultPaths(platform: Platform = currentPlatform(), env: Readonly<Record<string, string | undefined>> = process.env): DefaultPaths {
  if (osFamily(platform) === "posix") return { configFile: "/etc/rdpcert/config.json", stateDir: "/var/lib/rdpcert", logDir: "/var/log/rdpcert" };
  const home = `${env.ProgramData ?? "C:\\ProgramData"}\\rdpcert`;
  return { configFile: `${home}\\config.json`, stateDir: home, logDir: `${home}\\logs` };
}

/** An absolute path on `platform`: Windows a drive (`C:\`, `C:/`), a UNC or a root-relative path; POSIX a leading `/`. */
export function isAbsolutePathOn(platform: Platform, value: string): boolean {
  return osFamily(platform) === "windows" ? /^([A-Za-z]:[\\/]|[\\/])/.test(value) : value.startsWith("/");
}
