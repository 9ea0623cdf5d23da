import type * as ChildProcess from "node:child_process";
import { type OsFamily, type Platform, currentPlatform, isLinux, osFamily } from "../../core/platform";
import { ICACLS } from "../windows/system-paths";

/**
 * How files and processes behave on the OS rdpcert runs on: one POSIX and one
 * Windows implementation of one interface, chosen once from src/core/platform.ts
 * (`hostOs`). The trust rules, the state dir, the command runner and the
 * logs ask it instead of testing the platform themselves.
 */
export interface HostOs {
  readonly family: OsFamily;
  /**
   * Files carry a POSIX owner, mode and inode number that the trust rules
   * judge (src/hosts/local/trust.ts). Windows: none of them mean that, the
   * state dir is locked down by ACL instead (lockDownNewDirectory), and a
   * path is used as given.
   */
  readonly posixOwnership: boolean;
  /** A command and what it started form a process group that can be signalled as one (Windows: the command alone is ended). */
  readonly processGroups: boolean;
  /** /proc tells a running process from an exited one that is not yet reaped (Linux). */
  readonly procFs: boolean;
  /** The Windows event log (Application, source rdpcert) is one of the logs of `run` and `schedule`. */
  readonly eventLog: boolean;
  /** After the state dir was created: Windows limits it to SYSTEM and Administrators by ACL; POSIX needs nothing (its mode is set by chmod). */
  lockDownNewDirectory(path: string): void;
}

/**
 * Windows ignores POSIX modes: the state dir (backups hold PFX files and their
 * passwords) is limited to SYSTEM and Administrators by ACL instead, with
 * inheritance off. SIDs, not names, so localized Windows works too.
 */
export function windowsAclArgs(dir: string): string[] {
  return [dir, "/inheritance:r", "/grant:r", "*S-1-5-18:(OI)(CI)F", "*S-1-5-32-544:(OI)(CI)F"];
}

function posixHostOs(platform: Platform): HostOs {
  return {
    family: "posix",
    posixOwnership: true,
    processGroups: true,
    procFs: isLinux(platform),
    eventLog: false,
    lockDownNewDirectory: () => undefined,
  };
}

const windowsHostOs: HostOs = {
  family: "windows",
  posixOwnership: false,
  processGroups: false,
  procFs: false,
  eventLog: true,
  lockDownNewDirectory: (path) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- node:child_process only on Windows: `status` starts faster without it
    const { execFileSync } = require("node:child_process") as typeof ChildProcess;
    execFileSync(ICACLS(), windowsAclArgs(path), { stdio: "ignore", windowsHide: true });
  },
};

/** The implementation for `platform` (tests ask for the other OS's values). */
export function hostOsFor(platform: Platform): HostOs {
  return osFamily(platform) === "windows" ? windowsHostOs : posixHostOs(platform);
}

/** This host's, chosen once. */
export const hostOs: HostOs = hostOsFor(currentPlatform());
