import type { PinsPublished } from "../core/pin-bundle";
import type { Assessment } from "../core/assess";
import type { Policy } from "../core/policy";
import type { BackupSet, HostBackend, HostInspection, ReplacementSpec, RestartSpec } from "../hosts/host-backend";
import type { Journal, JournalClose, LockInfo, LockOutcome } from "../hosts/local/state-dir";
import type { ProbeResult, Prober } from "../probe/prober";

/**
 * The rotation state machine's shared shapes: what it is given (context,
 * settings, the state dir as it needs it) and what it answers. Every phase
 * module (decide, swap, verify, recover) imports these and none imports
 * another phase's module for them.
 */

/** The state dir as rotation needs it (implemented by hosts/local/state-dir.ts). */
export interface RotationStore {
  lock(): LockOutcome;
  readJournal(): Journal | null;
  writeJournal(journal: Journal): void;
  closeJournal(journal: Journal, close: JournalClose): void;
  saveBackup(set: BackupSet, reason: string | null, keep: number, protect?: readonly string[]): string;
  loadBackup(id: string): BackupSet | null;
  backupPath(id: string): string;
  /** Records a finished change that has no journal (a restore by hand) in history.jsonl. */
  appendHistory(record: object): void;
  /** Finished rotations, oldest first (history.jsonl); unparsed records. */
  history(): unknown[];
}

/** Step boundaries where tests kill the process (RDPCERT_TEST_FAULT); a no-op in production. */
export type FaultPoint = "after-lock" | "after-journal" | "after-backup" | "after-replace" | "after-restart" | "before-verify" | "after-restore";

export type LogLevel = "info" | "warn" | "error";

export interface RotationContext {
  readonly backend: HostBackend;
  readonly store: RotationStore;
  readonly prober: Prober;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly fault: (point: FaultPoint) => void;
  readonly log: (level: LogLevel, message: string) => void;
}

export interface RotationSettings {
  readonly spec: ReplacementSpec;
  readonly restart: RestartSpec;
  readonly verifyTimeoutMs: number;
  readonly probeTimeoutMs: number;
  readonly policy: Policy;
  readonly keepBackups: number;
  /** Rotate even when healthy, and even a CA-issued certificate. */
  readonly force: boolean;
  readonly reason: string | null;
}

/** "deployed": a supplied (CA-issued) certificate is in place and verified; "rotated": a new self-signed one. */
export type RotationOutcome = "planned" | "not-needed" | "refused" | "busy" | "rotated" | "deployed" | "rolled-back" | "rollback-failed";

export interface StepRecord {
  readonly step: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly detail: string | null;
}

export interface RecoveryResult {
  readonly journal: Journal;
  /** deferred: left open, because finishing it here would restart Remote Desktop Services inside an RDP session. */
  readonly outcome: "completed" | "rolled-back" | "rollback-failed" | "abandoned" | "deferred";
  readonly reason: string;
}

export interface RotationResult {
  readonly outcome: RotationOutcome;
  readonly reason: string;
  readonly fix: string | null;
  readonly plan: readonly string[];
  readonly oldThumbprint: string | null;
  readonly newThumbprint: string | null;
  /** SHA-256 of the new certificate as presented, for clients that pin it. */
  readonly newSha256: string | null;
  readonly backupId: string | null;
  readonly backupPath: string | null;
  readonly steps: readonly StepRecord[];
  readonly recovered: RecoveryResult | null;
  readonly heldBy: LockInfo | null;
  readonly assessment: Assessment | null;
  /** deploy --remove-old: what was removed after verification. */
  readonly removed?: readonly string[];
  /** Said beside a success (e.g. the old certificate could not be removed). */
  readonly warnings?: readonly string[];
  /** After a verified change: the clients' pin bundle (app/pin-bundle.ts publishPins). */
  readonly pins?: PinsPublished;
}

export interface Decision {
  readonly kind: "rotate" | "not-needed" | "refused";
  readonly reason: string;
  readonly fix: string | null;
  readonly plan: readonly string[];
  readonly inspection: HostInspection | null;
  readonly assessment: Assessment | null;
  readonly before: ProbeResult | null;
}

/** Said in every plan and result: a new certificate is a new identity to clients that pinned the old one. */
export const PINNED_CLIENTS =
  "clients that pinned the old certificate (mstsc's \"Don't ask me again\", FreeRDP /cert:tofu) will be asked to accept the new one: give them its SHA-1 and SHA-256 (printed when the rotation is done)";

export function blank(outcome: RotationOutcome, reason: string, extra: Partial<RotationResult> = {}): RotationResult {
  return {
    outcome,
    reason,
    fix: null,
    plan: [],
    oldThumbprint: null,
    newThumbprint: null,
    newSha256: null,
    backupId: null,
    backupPath: null,
    steps: [],
    recovered: null,
    heldBy: null,
    assessment: null,
    ...extra,
  };
}
