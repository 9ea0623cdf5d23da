import { chmodSync, closeSync, constants, fstatSync, linkSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { type Backoff, NO_BACKOFF } from "../../core/run-policy";
import type { BackupItem, BackupSet, WrittenFile } from "../host-backend";
import { BACKEND_KINDS } from "../../core/inspection";
import { fsyncDirectory, removeLeftoverTemps, writeFileAtomic } from "./atomic-write";
import { bootId, isAlive, processStartTime, processStartedAtMs } from "./process-info";
import { UntrustedPathError, lstatOrNull, readOwnFile, untrustedReason } from "./trust";
import { hostOs } from "./host-os";

/** node:os only when a lock is taken: `status` reads the state dir and never locks, and loading os costs its start-up. */
function hostname(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on use (see above)
  return (require("node:os") as typeof import("node:os")).hostname();
}

/**
 * rdpcert's own state on a host: the rotation lock, the journal of the rotation
 * in progress (so an interrupted one can be finished or undone), the history of
 * finished ones, and numbered backups. Directories 0700, files 0600: backups
 * hold private keys.
 */

export interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  /** Field 22 of /proc/PID/stat and the boot id: a reused pid is not the holder. */
  readonly startTime?: string | null;
  readonly bootId?: string | null;
}

export type LockOutcome =
  | { readonly ok: true; readonly release: () => void; readonly tookOverFrom: LockInfo | null; readonly tookOverBecause?: string }
  | { readonly ok: false; readonly heldBy: LockInfo };

export type JournalStep = "started" | "backed-up" | "replacing" | "replaced" | "restarted" | "verifying" | "restoring";

export interface Journal {
  readonly id: string;
  /** What replaced the certificate: a new self-signed one (rotate) or a supplied one (deploy). Absent in older journals: rotate. */
  readonly kind?: "rotate" | "deploy";
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
  /**
   * What the replacement writes (path and SHA-256), recorded before it writes:
   * a rollback overwrites only files that still hold the backup or these
   * (anything else was deployed by someone else meanwhile). Absent in journals of older versions.
   */
  readonly written?: readonly WrittenFile[];
}

export interface JournalClose {
  readonly outcome: string;
  readonly reason: string | null;
  readonly finishedAt: string;
}

/** The first backup in a state dir: what was there before rdpcert changed anything. Kept beyond keepBackups. */
export const ORIGINAL_BACKUP = "0001";

export interface BackupSummary {
  readonly id: string;
  readonly createdAt: string;
  readonly backend: string;
  readonly thumbprint: string | null;
  readonly reason: string | null;
  readonly items: readonly { readonly role: string; readonly originalPath: string; readonly wasLink: boolean }[];
}

/** Caps for rdpcert's own files: anything larger was not written by it. */
const MAX_STATE_FILE = 1 << 20;
const MAX_BACKUP_ITEM = 1 << 20;

/**
 * The journal's and backup metadata's schemas, built on first use: zod is a
 * heavy module, and a status without an open journal never needs it.
 */
function schemas() {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { z } = require("zod") as typeof import("zod");
  const sha256Text = z.string().regex(/^[0-9a-f]{64}$/);
  const journalSchema = z.object({
    id: z.string().max(64),
    kind: z.enum(["rotate", "deploy"]).optional(),
    pid: z.number().int(),
    startedAt: z.string().max(64),
    backend: z.enum(BACKEND_KINDS),
    step: z.enum(["started", "backed-up", "replacing", "replaced", "restarted", "verifying", "restoring"]),
    oldThumbprint: z.string().max(128).nullable(),
    newThumbprint: z.string().max(128).nullable(),
    backupId: z
      .string()
      .regex(/^\d{4,10}$/)
      .nullable(),
    reason: z.string().max(4096).nullable().default(null),
    presentedBefore: z.string().max(256).nullable().default(null),
    written: z
      .array(z.object({ path: z.string().startsWith("/").max(4096), sha256: sha256Text }))
      .max(16)
      .optional(),
  });

  const backupMetaSchema = z.object({
    id: z
      .string()
      .regex(/^\d{4,10}$/)
      .optional(),
    createdAt: z.string().max(64),
    backend: z.enum(BACKEND_KINDS),
    thumbprint: z.string().max(128).nullable().default(null),
    reason: z.string().max(4096).nullable().default(null),
    items: z
      .array(
        z.object({
          file: z.string().regex(/^\d{1,3}-(certificate|key|config|pfx|thumbprint)$/),
          role: z.enum(["certificate", "key", "config", "pfx", "thumbprint"]),
          originalPath: z.string().min(1).max(4096),
          mode: z.number().int().min(0).max(0o7777),
          uid: z.number().int().min(0),
          gid: z.number().int().min(0),
          wasLink: z.boolean(),
        }),
      )
      .max(16),
    extra: z.record(z.string(), z.unknown()).nullable().optional(),
  });
  return { journalSchema, backupMetaSchema };
}
let cachedSchemas: ReturnType<typeof schemas> | null = null;
const validators = (): ReturnType<typeof schemas> => (cachedSchemas ??= schemas());

type BackupMeta = import("zod").infer<ReturnType<typeof schemas>["backupMetaSchema"]>;

/** Why the process named in a lock no longer holds it, or null when it still may. */
function staleBecause(holder: LockInfo, host: string): string | null {
  if (holder.host !== host) return "it was taken on another host";
  if (!isAlive(holder.pid)) return "no longer running";
  const boot = bootId();
  if (holder.bootId && boot && holder.bootId !== boot) return "it was taken before the last reboot";
  const start = processStartTime(holder.pid);
  if (holder.startTime && start && holder.startTime !== start) return `pid ${holder.pid} is now another process`;
  if (!holder.startTime) {
    // A lock from a version that did not record the start time: a process that started after it was taken is not its holder.
    const startedAt = processStartedAtMs(holder.pid);
    const since = Date.parse(holder.since);
    if (startedAt !== null && Number.isFinite(since) && startedAt > since + 2000)
      return `pid ${holder.pid} is now another process (it started after the lock was taken)`;
  }
  return null;
}

/** What the last `rdpcert run` met writing its textfile (rdpcert.prom), for module=local. */
export interface TextfileRecord {
  readonly at: Date;
  /** The errno code of the failed write (EACCES, ENOENT, ...) or "untrusted directory"; null when it was written. */
  readonly error: string | null;
}

const TEXTFILE_RECORD = "textfile.json";

export class StateDir {
  constructor(readonly path: string) {}

  private file(name: string): string {
    return join(this.path, name);
  }

  /**
   * The trust rules (docs/trust.md): the state dir,
   * `backups/`, every backup and every file in them are root's (or the running
   * user's when not root), writable by nobody else, and no symlink anywhere.
   * Throws UntrustedPathError (exit 3) naming the first offender and the fix.
   * A state dir that does not exist yet passes (ensure() creates it).
   */
  check(): void {
    const top = lstatOrNull(this.path);
    if (top === null) return;
    const refuse = (reason: string): never => {
      throw new UntrustedPathError(
        `state dir ${this.path}: ${reason}: refusing to use it (as root, a state dir that others control can make rdpcert write anywhere)`,
        "use a state dir that only root owns and writes (mode 0700): move this one aside and let rdpcert create a new one",
      );
    };
    if (top.isSymbolicLink()) refuse(`${this.path} is a symlink`);
    if (!top.isDirectory()) refuse(`${this.path} is not a directory`);
    const own = untrustedReason(this.path, top);
    if (own) refuse(own);
    const walk = (dir: string, depth: number): void => {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch (error) {
        // Not root: a root-owned 0700 state dir cannot be listed, and nobody else can write it either.
        if ((error as NodeJS.ErrnoException).code === "EACCES") return;
        throw error;
      }
      for (const name of names) {
        const path = join(dir, name);
        const stats = lstatOrNull(path);
        if (stats === null) continue;
        if (stats.isSymbolicLink()) refuse(`${path} is a symlink`);
        const reason = untrustedReason(path, stats);
        if (reason) refuse(reason);
        if (stats.isDirectory() && depth < 2) walk(path, depth + 1);
      }
    };
    walk(this.path, 0);
  }

  /** Creates the directory (0700, owned by the running user: root) after checking what is there; fails with a clear reason when it cannot. */
  ensure(): void {
    this.check();
    const created = mkdirSync(this.path, { recursive: true, mode: 0o700 });
    if (created !== undefined) hostOs.lockDownNewDirectory(this.path);
    chmodSync(this.path, 0o700);
    mkdirSync(this.file("backups"), { recursive: true, mode: 0o700 });
    chmodSync(this.file("backups"), 0o700);
    for (const name of ["journal.json", "rotate.lock", "backoff.json", TEXTFILE_RECORD]) removeLeftoverTemps(this.file(name));
    this.removeStaleLockFiles();
  }

  /**
   * lock() writes `rotate.lock.PID` and moves a stale lock aside as
   * `rotate.lock.stale.PID`; a crash between those steps leaves them behind
   * (the trust rules). Removes them (and writeFileAtomic's temps of them) when
   * their process is gone: only those names, regular files owned by root or
   * the running user, whose pid is not running or is a process that started
   * after the file was written. Never throws.
   */
  private removeStaleLockFiles(): void {
    let names: string[];
    try {
      names = readdirSync(this.path);
    } catch {
      return;
    }
    for (const name of names) {
      const match = /^rotate\.lock\.(?:stale\.)?(\d+)$/.exec(name);
      if (!match) {
        const temp = /^\.(rotate\.lock\.(?:stale\.)?\d+)\.rdpcert-\d+-[0-9a-f]{8}$/.exec(name);
        if (temp) removeLeftoverTemps(this.file(temp[1]!));
        continue;
      }
      const path = this.file(name);
      try {
        const stats = lstatOrNull(path);
        if (stats === null || !stats.isFile() || untrustedReason(path, stats) !== null) continue;
        const pid = Number(match[1]);
        if (pid === process.pid) continue;
        if (isAlive(pid)) {
          const started = processStartedAtMs(pid);
          // The same pid may be the writer still at work; a process started after the write is not.
          if (started === null || started <= stats.mtimeMs + 1000) continue;
        }
        unlinkSync(path);
      } catch {
        // Gone meanwhile, or not ours to remove.
      }
    }
  }

  /**
   * One rotation at a time per host. The lock file is created with O_EXCL; a
   * lock whose process is gone (its pid not running, or running a process
   * with another start time or from another boot) is moved aside atomically
   * (rename) before a new one is created, so two processes taking over the
   * same stale lock cannot both succeed.
   */
  lock(): LockOutcome {
    this.ensure();
    const path = this.file("rotate.lock");
    const mine: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString(), startTime: processStartTime(process.pid), bootId: bootId() };
    let tookOverFrom: LockInfo | null = null;
    let tookOverBecause: string | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const temp = `${path}.${process.pid}`;
      writeFileAtomic(temp, JSON.stringify(mine), { mode: 0o600 });
      try {
        linkSync(temp, path);
        unlinkSync(temp);
        fsyncDirectory(this.path);
        return { ok: true, tookOverFrom, tookOverBecause, release: () => this.unlockIfMine(path) };
      } catch (error) {
        unlinkSync(temp);
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = this.readLock(path);
      if (holder && staleBecause(holder, mine.host) === null) return { ok: false, heldBy: holder };
      const aside = `${path}.stale.${process.pid}`;
      try {
        renameSync(path, aside);
      } catch {
        continue;
      }
      const moved = this.readLock(aside);
      if (moved && staleBecause(moved, mine.host) === null) {
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
      tookOverBecause = tookOverFrom ? (staleBecause(tookOverFrom, mine.host) ?? undefined) : "the lock file was unreadable";
    }
    const holder = this.readLock(path);
    return { ok: false, heldBy: holder ?? { pid: 0, host: "unknown", since: "unknown" } };
  }

  private readLock(path: string): LockInfo | null {
    try {
      const info = JSON.parse(readOwnFile(path, 4096).toString("utf8")) as Partial<LockInfo> | null;
      if (!info || typeof info.pid !== "number" || typeof info.host !== "string") return null;
      return {
        pid: info.pid,
        host: info.host,
        since: String(info.since),
        startTime: typeof info.startTime === "string" ? info.startTime : null,
        bootId: typeof info.bootId === "string" ? info.bootId : null,
      };
    } catch (error) {
      if (error instanceof UntrustedPathError) throw error;
      return null;
    }
  }

  private unlockIfMine(path: string): void {
    const holder = this.readLock(path);
    if (holder?.pid === process.pid) unlinkSync(path);
  }

  /** The open journal, validated; null when there is none. A journal that is not rdpcert's (bad shape, wrong owner, a symlink) is refused. */
  readJournal(): Journal | null {
    let text: string;
    try {
      text = readOwnFile(this.file("journal.json"), MAX_STATE_FILE).toString("utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Not root: root's state dir cannot be read, so there is no journal to act on here.
      if (code === "ENOENT" || code === "EACCES") return null;
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    const result = validators().journalSchema.safeParse(parsed);
    if (!result.success) {
      throw new UntrustedPathError(
        `${this.file("journal.json")} is not a journal rdpcert wrote: refusing to act on it`,
        "move it aside, then check the listener with rdpcert status",
      );
    }
    return result.data;
  }

  writeJournal(journal: Journal): void {
    this.ensure();
    writeFileAtomic(this.file("journal.json"), `${JSON.stringify(journal, null, 2)}\n`, { mode: 0o600 });
  }

  /** Appends the finished rotation to history.jsonl (never through a symlink) and removes the open journal. */
  closeJournal(journal: Journal, close: JournalClose): void {
    this.appendHistory({ ...journal, ...close });
    rmSync(this.file("journal.json"), { force: true });
    fsyncDirectory(this.path);
  }

  /**
   * Writes one listener's pin files (issue 25) into `pins/`: each file atomically,
   * 0644 (fingerprints and a certificate: public, and hooks publish them), the
   * directory 0755 inside the 0700 state dir. `stem` is a file name without
   * separators; returns the paths in the order given.
   */
  writePinFiles(stem: string, files: ReadonlyArray<{ readonly suffix: string; readonly data: string | Buffer }>): string[] {
    if (!/^[A-Za-z0-9._-]+$/.test(stem) || stem.startsWith(".")) throw new Error(`pin file stem ${JSON.stringify(stem)} is not a plain file name`);
    this.check();
    this.ensure();
    const dir = this.file("pins");
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const stats = lstatOrNull(dir);
    const reason =
      stats === null ? `${dir} vanished` : stats.isSymbolicLink() || !stats.isDirectory() ? `${dir} is not a directory` : untrustedReason(dir, stats);
    if (reason) throw new UntrustedPathError(`${reason}: refusing to write pins there`, "move it aside and let rdpcert create it again");
    chmodSync(dir, 0o755);
    return files.map(({ suffix, data }) => {
      const path = join(dir, `${stem}${suffix}`);
      removeLeftoverTemps(path);
      writeFileAtomic(path, data, { mode: 0o644 });
      return path;
    });
  }

  /** Appends one finished change (a rotation, a deploy, a restore) to history.jsonl, never through a symlink. */
  appendHistory(record: object): void {
    this.check();
    this.ensure();
    const line = `${JSON.stringify(record)}\n`;
    const fd = openSync(this.file("history.jsonl"), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    try {
      const reason = untrustedReason(this.file("history.jsonl"), fstatSync(fd));
      if (reason || !fstatSync(fd).isFile())
        throw new UntrustedPathError(`${reason ?? `${this.file("history.jsonl")} is not a regular file`}: refusing to append to it`);
      writeSync(fd, line);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The failures `run` remembers (backoff.json), read as any state file is: never through a
   * link, only root's (or the running user's). Missing, unreadable, untrusted or not
   * rdpcert's shape: no backoff (the worst is a retry sooner).
   */
  readBackoff(): Backoff {
    try {
      const parsed = JSON.parse(readOwnFile(this.file("backoff.json"), MAX_STATE_FILE).toString("utf8")) as Partial<Backoff> | null;
      if (parsed === null || typeof parsed !== "object" || typeof parsed.failures !== "number") return NO_BACKOFF;
      return { ...NO_BACKOFF, ...parsed };
    } catch {
      return NO_BACKOFF;
    }
  }

  writeBackoff(backoff: Backoff): void {
    this.ensure();
    writeFileAtomic(this.file("backoff.json"), `${JSON.stringify(backoff, null, 2)}\n`, { mode: 0o600 });
  }

  /**
   * What the last `rdpcert run` met writing its textfile (textfile.json): when the textfile
   * directory cannot be written the textfile cannot say so itself, so `exporter`'s
   * module=local reports it. Read as any state file is (never through a link, only root's or
   * the running user's); missing, untrusted or not rdpcert's shape: null.
   */
  readTextfileRecord(): TextfileRecord | null {
    try {
      const raw = JSON.parse(readOwnFile(this.file(TEXTFILE_RECORD), MAX_STATE_FILE).toString("utf8")) as { at?: unknown; error?: unknown } | null;
      if (raw === null || typeof raw !== "object") return null;
      const at = typeof raw.at === "string" ? new Date(raw.at) : null;
      if (at === null || Number.isNaN(at.getTime())) return null;
      return { at, error: typeof raw.error === "string" ? raw.error.slice(0, 32) : null };
    } catch {
      return null;
    }
  }

  /** Best effort, through the trust checks: a state dir that cannot be written (or is untrusted) is another step's problem, and the pass's warnings already carry a textfile failure. */
  writeTextfileRecord(record: TextfileRecord): void {
    try {
      this.ensure();
      writeFileAtomic(this.file(TEXTFILE_RECORD), `${JSON.stringify({ at: record.at.toISOString(), error: record.error })}\n`, { mode: 0o600 });
    } catch {
      // Nothing more to do.
    }
  }

  history(): unknown[] {
    try {
      return readOwnFile(this.file("history.jsonl"), 64 * MAX_STATE_FILE)
        .toString("utf8")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as unknown);
    } catch (error) {
      if (error instanceof UntrustedPathError) throw error;
      return [];
    }
  }

  /**
   * Writes a numbered backup (0001, 0002, ...) and keeps the newest `keep` and 0001 (the original pair);
   * `protect` names backups that must survive the pruning (the one being
   * restored, so a restore can never delete its own source).
   */
  saveBackup(set: BackupSet, reason: string | null, keep: number, protect: readonly string[] = []): string {
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
    // 0001 is the pair from before rdpcert's first change here: the admin's original, never pruned.
    const kept = new Set([ORIGINAL_BACKUP, ...protect.map((id) => id.padStart(4, "0"))]);
    for (const old of this.backupIds().slice(0, -Math.max(1, keep))) if (!kept.has(old)) rmSync(join(root, old), { recursive: true, force: true });
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

  /** A backup's validated meta.json (never through a symlink), or null when it is missing or not rdpcert's. */
  private readMeta(id: string): BackupMeta | null {
    const dir = join(this.file("backups"), id);
    const stats = lstatOrNull(dir);
    if (stats === null || !stats.isDirectory()) return null;
    if (untrustedReason(dir, stats)) return null;
    try {
      const result = validators().backupMetaSchema.safeParse(JSON.parse(readOwnFile(join(dir, "meta.json"), MAX_STATE_FILE).toString("utf8")));
      return result.success ? result.data : null;
    } catch {
      return null;
    }
  }

  listBackups(): BackupSummary[] {
    this.check();
    // Backups that this user cannot read are not "no backups": the errno (EACCES) goes up, one line, exit 3.
    try {
      readdirSync(this.file("backups"));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    return this.backupIds().flatMap((id) => {
      const meta = this.readMeta(id);
      return meta
        ? [
            {
              id,
              createdAt: meta.createdAt,
              backend: meta.backend,
              thumbprint: meta.thumbprint,
              reason: meta.reason,
              items: meta.items.map(({ role, originalPath, wasLink }) => ({ role, originalPath, wasLink })),
            },
          ]
        : [];
    });
  }

  /**
   * A backup as rdpcert wrote it: meta.json validated, item files read
   * without following links, and only permission bits kept (no setuid,
   * setgid or sticky: a backup must not plant a setuid file). null when missing or not valid.
   */
  loadBackup(id: string): BackupSet | null {
    if (!/^\d{1,10}$/.test(id)) return null;
    this.check();
    const padded = id.padStart(4, "0");
    const meta = this.readMeta(padded);
    if (!meta) return null;
    const dir = join(this.file("backups"), padded);
    try {
      return {
        backend: meta.backend,
        thumbprint: meta.thumbprint,
        extra: meta.extra ?? undefined,
        items: meta.items.map((item) => ({
          role: item.role as BackupItem["role"],
          originalPath: item.originalPath,
          mode: item.mode & 0o777,
          uid: item.uid,
          gid: item.gid,
          wasLink: item.wasLink,
          data: readOwnFile(join(dir, item.file), MAX_BACKUP_ITEM),
        })),
      };
    } catch {
      return null;
    }
  }

  backupPath(id: string): string {
    return join(this.file("backups"), id);
  }
}
