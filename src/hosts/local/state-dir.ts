import { closeSync, constants, linkSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync, chmodSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { hostname } from "node:os";
import { join } from "node:path";
import type { BackupItem, BackupSet } from "../host-backend";
import { fsyncDirectory, writeFileAtomic } from "./atomic-write";
import { ICACLS } from "../windows/system-paths";

/**
 * rdpcert's own state on a host: the rotation lock, the journal of the rotation
 * in progress (so an interrupted one can be finished or undone), the history of
 * finished ones, and numbered backups. Directories 0700, files 0600: backups
 * hold private keys.
 */
export const DEFAULT_STATE_DIR = process.platform === "win32" ? join(process.env.ProgramData ?? "C:\\ProgramData", "rdpcert") : "/var/lib/rdpcert";

export interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

export type LockOutcome =
  | { readonly ok: true; readonly release: () => void; readonly tookOverFrom: LockInfo | null }
  | { readonly ok: false; readonly heldBy: LockInfo };

export type JournalStep = "started" | "backed-up" | "replacing" | "replaced" | "restarted" | "verifying" | "restoring";

export interface Journal {
  readonly id: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly backend: string;
  readonly step: JournalStep;
  readonly oldThumbprint: string | null;
  readonly newThumbprint: string | null;
  readonly backupId: string | null;
  readonly reason: string | null;
  /** What the listener showed before (a thumbprint, or `error:<kind>`): a rollback must bring it back. */
  readonly presentedBefore: string | null;
}

export interface JournalClose {
  readonly outcome: string;
  readonly reason: string | null;
  readonly finishedAt: string;
}

export interface BackupSummary {
  readonly id: string;
  readonly createdAt: string;
  readonly backend: string;
  readonly thumbprint: string | null;
  readonly reason: string | null;
  readonly items: readonly { readonly role: string; readonly originalPath: string; readonly wasLink: boolean }[];
}

/**
 * Windows ignores POSIX modes: the state dir (backups hold PFX files and their
 * passwords) is limited to SYSTEM and Administrators by ACL instead, with
 * inheritance off. SIDs, not names, so localized Windows works too.
 */
export function windowsAclArgs(dir: string): string[] {
  return [dir, "/inheritance:r", "/grant:r", "*S-1-5-18:(OI)(CI)F", "*S-1-5-32-544:(OI)(CI)F"];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class StateDir {
  constructor(readonly path: string) {}

  private file(name: string): string {
    return join(this.path, name);
  }

  /** Creates the directory (0700) and fails with a clear reason when it cannot. */
  ensure(): void {
    const created = mkdirSync(this.path, { recursive: true, mode: 0o700 });
    if (created !== undefined && process.platform === "win32") execFileSync(ICACLS(), windowsAclArgs(this.path), { stdio: "ignore", windowsHide: true });
    chmodSync(this.path, 0o700);
    mkdirSync(this.file("backups"), { recursive: true, mode: 0o700 });
    chmodSync(this.file("backups"), 0o700);
  }

  /**
   * One rotation at a time per host. The lock file is created with O_EXCL; a
   * lock whose process is gone is moved aside atomically (rename) before a new
   * one is created, so two processes taking over the same stale lock cannot
   * both succeed.
   */
  lock(): LockOutcome {
    this.ensure();
    const path = this.file("rotate.lock");
    const mine: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    let tookOverFrom: LockInfo | null = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      const temp = `${path}.${process.pid}`;
      writeFileAtomic(temp, JSON.stringify(mine), { mode: 0o600 });
      try {
        linkSync(temp, path);
        unlinkSync(temp);
        fsyncDirectory(this.path);
        return { ok: true, tookOverFrom, release: () => this.unlockIfMine(path) };
      } catch (error) {
        unlinkSync(temp);
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = this.readLock(path);
      if (holder && isAlive(holder.pid) && holder.host === mine.host) return { ok: false, heldBy: holder };
      const aside = `${path}.stale.${process.pid}`;
      try {
        renameSync(path, aside);
      } catch {
        continue;
      }
      const moved = this.readLock(aside);
      if (moved && isAlive(moved.pid) && moved.host === mine.host) {
        // Another process took the stale lock over between our read and our rename: put it back.
        try {
          linkSync(aside, path);
        } catch {
          // It was re-created meanwhile; the next attempt sees who holds it.
        }
        unlinkSync(aside);
        continue;
      }
      unlinkSync(aside);
      tookOverFrom = moved ?? holder;
    }
    const holder = this.readLock(path);
    return { ok: false, heldBy: holder ?? { pid: 0, host: "unknown", since: "unknown" } };
  }

  private readLock(path: string): LockInfo | null {
    try {
      return JSON.parse(readFileSync(path, "utf8")) as LockInfo;
    } catch {
      return null;
    }
  }

  private unlockIfMine(path: string): void {
    const holder = this.readLock(path);
    if (holder?.pid === process.pid) unlinkSync(path);
  }

  readJournal(): Journal | null {
    try {
      return JSON.parse(readFileSync(this.file("journal.json"), "utf8")) as Journal;
    } catch {
      return null;
    }
  }

  writeJournal(journal: Journal): void {
    this.ensure();
    writeFileAtomic(this.file("journal.json"), `${JSON.stringify(journal, null, 2)}\n`, { mode: 0o600 });
  }

  /** Appends the finished rotation to history.jsonl and removes the open journal. */
  closeJournal(journal: Journal, close: JournalClose): void {
    const line = `${JSON.stringify({ ...journal, ...close })}\n`;
    const fd = openSync(this.file("history.jsonl"), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
    try {
      writeSync(fd, line);
    } finally {
      closeSync(fd);
    }
    rmSync(this.file("journal.json"), { force: true });
    fsyncDirectory(this.path);
  }

  history(): unknown[] {
    try {
      return readFileSync(this.file("history.jsonl"), "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as unknown);
    } catch {
      return [];
    }
  }

  /** Writes a numbered backup (0001, 0002, ...) and keeps the newest `keep`. */
  saveBackup(set: BackupSet, reason: string | null, keep: number): string {
    this.ensure();
    const root = this.file("backups");
    const ids = this.backupIds();
    const next = String((ids.length ? Number(ids[ids.length - 1]) : 0) + 1).padStart(4, "0");
    const staging = join(root, `.${next}.partial`);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { mode: 0o700 });
    const items = set.items.map((item, index) => {
      const name = `${index}-${item.role}`;
      writeFileAtomic(join(staging, name), item.data, { mode: 0o600 });
      return { file: name, role: item.role, originalPath: item.originalPath, mode: item.mode, uid: item.uid, gid: item.gid, wasLink: item.wasLink };
    });
    const meta = { id: next, createdAt: new Date().toISOString(), backend: set.backend, thumbprint: set.thumbprint, reason, items, extra: set.extra ?? null };
    writeFileAtomic(join(staging, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
    // A backup becomes visible only when complete.
    renameSync(staging, join(root, next));
    fsyncDirectory(root);
    for (const old of this.backupIds().slice(0, -Math.max(1, keep))) rmSync(join(root, old), { recursive: true, force: true });
    return next;
  }

  backupIds(): string[] {
    try {
      return readdirSync(this.file("backups"))
        .filter((name) => /^\d{4,}$/.test(name))
        .sort((a, b) => Number(a) - Number(b));
    } catch {
      return [];
    }
  }

  listBackups(): BackupSummary[] {
    return this.backupIds().flatMap((id) => {
      try {
        const meta = JSON.parse(readFileSync(join(this.file("backups"), id, "meta.json"), "utf8")) as BackupSummary;
        return [{ id, createdAt: meta.createdAt, backend: meta.backend, thumbprint: meta.thumbprint, reason: meta.reason, items: meta.items }];
      } catch {
        return [];
      }
    });
  }

  loadBackup(id: string): BackupSet | null {
    if (!/^\d{1,10}$/.test(id)) return null;
    const dir = join(this.file("backups"), id.padStart(4, "0"));
    try {
      statSync(dir);
      const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as {
        backend: BackupSet["backend"];
        thumbprint: string | null;
        extra: Record<string, unknown> | null;
        items: { file: string; role: BackupItem["role"]; originalPath: string; mode: number; uid: number; gid: number; wasLink: boolean }[];
      };
      return {
        backend: meta.backend,
        thumbprint: meta.thumbprint,
        extra: meta.extra ?? undefined,
        items: meta.items.map((item) => ({ ...item, data: readFileSync(join(dir, item.file)) })),
      };
    } catch {
      return null;
    }
  }

  backupPath(id: string): string {
    return join(this.file("backups"), id);
  }
}
