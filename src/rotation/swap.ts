import { randomBytes } from "node:crypto";
import type { HostInspection, Replacement, RotationSteps, SuppliedCertificate } from "../hosts/host-backend";
import type { Journal, JournalClose, JournalStep } from "../hosts/local/state-dir";
import { oldOf, printsOf } from "./decide";
import { rollBack } from "./recover";
import { type Decision, PINNED_CLIENTS, type RotationContext, type RotationResult, type RotationSettings, type StepRecord, blank } from "./types";
import { checksChain, configuredMatches, expectNew, expectSupplied, restartIfStale, signature, timed, waitForListener } from "./verify";

/**
 * The swap, by phase (certbot's deploy_certificate as the model): journal and
 * backup (a failure changes nothing); change the files (a failure restores
 * them); restart and verify on the wire (a failure rolls back and restarts);
 * then close the journal into the history.
 */

export function journalEntry(ctx: RotationContext, old: string | null, reason: string | null, presentedBefore: string, kind: "rotate" | "deploy"): Journal {
  return {
    kind,
    id: `${ctx.now().toISOString().replace(/[-:.]/g, "").slice(0, 15)}-${randomBytes(3).toString("hex")}`,
    pid: process.pid,
    startedAt: ctx.now().toISOString(),
    backend: ctx.backend.kind,
    step: "started",
    oldThumbprint: old,
    newThumbprint: null,
    backupId: null,
    reason,
    presentedBefore,
  };
}

/**
 * One swap in progress: what every phase reads, and the journal it advances. Before any file
 * changed, a journal write that fails ends the swap (nothing to undo); once files may have changed,
 * a state dir that fills up or turns read-only must not skip the verification or the rollback:
 * the journal on disk stays at its last step, which makes the next run or
 * status check what the listener presents.
 */
class SwapRun {
  readonly inspection: HostInspection;
  readonly steps: RotationSteps;
  readonly records: StepRecord[] = [];
  readonly oldThumbprint: string | null;
  /** What the listener presented before: a rollback must bring it back. */
  readonly beforeSignature: string;
  readonly supplied: SuppliedCertificate | null;
  readonly startedAt: Date;
  journal: Journal;
  private journalTrouble = false;

  constructor(
    readonly ctx: RotationContext,
    readonly settings: RotationSettings,
    readonly decision: Decision,
    readonly replacement: Replacement,
  ) {
    this.inspection = decision.inspection!;
    this.steps = ctx.backend.rotation as RotationSteps;
    this.oldThumbprint = oldOf(decision);
    this.beforeSignature = signature(decision.before!);
    this.supplied = replacement.kind === "supplied" ? replacement.certificate : null;
    this.startedAt = ctx.now();
    this.journal = journalEntry(ctx, this.oldThumbprint, settings.reason ?? decision.reason, this.beforeSignature, this.supplied ? "deploy" : "rotate");
  }

  /** Before any change: a failure to write the journal throws (and nothing was changed). */
  advance(step: JournalStep, patch: Partial<Journal> = {}): void {
    this.journal = { ...this.journal, ...patch, step };
    this.ctx.store.writeJournal(this.journal);
  }

  /** After files may have changed: a failure to write is logged once, and the swap goes on. */
  advanceAfterChange(step: JournalStep, patch: Partial<Journal> = {}): void {
    this.record("update the journal", () => this.advance(step, patch));
  }

  close(how: JournalClose): void {
    this.record("close the journal", () => this.ctx.store.closeJournal(this.journal, how));
  }

  result(outcome: RotationResult["outcome"], reason: string, extra: Partial<RotationResult> = {}): RotationResult {
    return blank(outcome, reason, {
      plan: this.decision.plan,
      oldThumbprint: this.oldThumbprint,
      assessment: this.decision.assessment,
      steps: this.records,
      ...extra,
    });
  }

  private record(what: string, write: () => void): void {
    try {
      write();
    } catch (error) {
      if (!this.journalTrouble)
        this.ctx.log(
          "error",
          `cannot ${what} in the state dir (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); the rotation goes on, and the next run or status checks what the listener presents`,
        );
      this.journalTrouble = true;
    }
  }
}

/** A phase that failed after files may have changed: why, and what the listener was meant to present by then. */
interface Failed {
  readonly ok: false;
  readonly reason: string;
  readonly newThumbprint: string | null;
}

type Phase<T> = { readonly ok: true; readonly value: T } | Failed;

interface Backup {
  readonly id: string;
  readonly path: string;
}

/**
 * journal -> backup -> replace -> restart -> verify. Each phase owns its failure policy, as
 * certbot's deploy_certificate does with its two error-handler scopes:
 * - backup: a failure changed nothing; the journal closes as not started;
 * - replace (before the restart): the files are recovered from the backup;
 * - restart and verify: rolled back and restarted, and the old state verified on the wire.
 * Both recoveries go through rollBack (restore, restart, verify the old state): unlike certbot,
 * a replace that failed half-way may already have changed what the server reads live (xrdp
 * reads its pair for every connection; Windows' binding), so the old state is verified on the
 * wire in both cases.
 */
export async function swap(ctx: RotationContext, settings: RotationSettings, decision: Decision, replacement: Replacement): Promise<RotationResult> {
  const run = new SwapRun(ctx, settings, decision, replacement);
  run.advance("started");
  ctx.fault("after-journal");

  const backup = await backUp(run);
  if (!backup.ok) {
    run.close({ outcome: "not-started", reason: backup.reason, finishedAt: ctx.now().toISOString() });
    ctx.log("error", `rotation not started: ${backup.reason}`);
    return run.result("rolled-back", `nothing was changed: ${backup.reason}`, { fix: "check the state dir (--state-dir) is writable" });
  }

  const replaced = await replaceFiles(run);
  if (!replaced.ok) return recoverFiles(run, backup.value, replaced);

  const verified = await restartAndVerify(run, replaced.value);
  if (!verified.ok) return rollBackAndRestart(run, backup.value, verified);

  return finish(run, backup.value, verified.value);
}

/** Phase 1: the backup of everything the replacement will touch, saved in the state dir. */
async function backUp(run: SwapRun): Promise<{ ok: true; value: Backup } | { ok: false; reason: string }> {
  const { ctx, settings, decision } = run;
  const saved = await timed(
    run.records,
    "backup",
    async () => {
      const collected = await run.steps.collectBackup(run.inspection, run.replacement);
      if (!collected.ok) return collected;
      try {
        return { ok: true as const, value: ctx.store.saveBackup(collected.value, settings.reason ?? decision.reason, settings.keepBackups) };
      } catch (error) {
        return { ok: false as const, reason: `cannot write the backup: ${(error as Error).message}` };
      }
    },
    (id) => `backup ${id}`,
  );
  if (!saved.ok) return saved;
  run.advance("backed-up", { backupId: saved.value });
  ctx.fault("after-backup");
  return { ok: true, value: { id: saved.value, path: ctx.store.backupPath(saved.value) } };
}

interface Replaced {
  readonly thumbprint: string | null;
  readonly presentedMayStay: boolean;
}

/** Phase 2: the new pair (or the supplied certificate) written in place; the listener not restarted yet. */
async function replaceFiles(run: SwapRun): Promise<Phase<Replaced>> {
  const { ctx, steps } = run;
  run.advance("replacing");
  const replaced = await timed(
    run.records,
    "replace",
    () => steps.replace(run.inspection, run.replacement, ctx.now(), (written) => run.advance("replacing", { written })),
    (v) => `wrote ${v.written.join(", ")}${v.keygenMs !== undefined ? `; key and certificate generated in ${v.keygenMs.toFixed(0)} ms` : ""}`,
  );
  if (!replaced.ok) return { ok: false, reason: replaced.reason, newThumbprint: null };
  const thumbprint = replaced.value.thumbprint;
  run.advanceAfterChange("replaced", { newThumbprint: thumbprint });
  ctx.fault("after-replace");
  // certbot's config_test: what the server will load is checked before anything restarts onto it.
  if (steps.configTest) {
    const configTest = steps.configTest.bind(steps);
    const tested = await timed(
      run.records,
      "config-test",
      () => configTest(run.inspection, run.replacement, thumbprint),
      (v) => v.checked,
    );
    if (!tested.ok) return { ok: false, reason: `config test failed: ${tested.reason}`, newThumbprint: thumbprint };
  }
  return { ok: true, value: { thumbprint: replaced.value.thumbprint, presentedMayStay: replaced.value.presentedMayStay === true } };
}

interface Verified {
  readonly thumbprint: string;
  readonly sha256: string;
}

/** Phase 3: restart, then real handshakes until the new certificate is presented, and what else the backend checks. */
async function restartAndVerify(run: SwapRun, replaced: Replaced): Promise<Phase<Verified>> {
  const { ctx, settings, steps, supplied, inspection } = run;
  const restarted = await timed(
    run.records,
    "restart",
    () => steps.restart(settings.restart, run.oldThumbprint),
    (v) => v.command ?? "no restart",
  );
  if (!restarted.ok) return { ok: false, reason: restarted.reason, newThumbprint: replaced.thumbprint };
  run.advanceAfterChange("restarted");
  ctx.fault("after-restart");
  run.advanceAfterChange("verifying");
  ctx.fault("before-verify");
  const chainChecked = checksChain(steps, supplied);
  const accept = supplied
    ? expectSupplied(ctx.now, supplied, chainChecked)
    : expectNew(ctx.now, replaced.presentedMayStay ? null : run.oldThumbprint, replaced.thumbprint);
  await restartIfStale(ctx, settings, inspection, run.records, accept, run.beforeSignature, chainChecked);
  const what = supplied
    ? `${supplied.thumbprint}${chainChecked ? " and its chain" : ""}`
    : replaced.presentedMayStay
      ? "a valid certificate"
      : "new certificate";
  const verified = await timed(
    run.records,
    "verify",
    () => waitForListener(ctx, inspection, settings, accept, chainChecked),
    (v) => `${what} presented after ${v.attempts} handshake(s)`,
  );
  if (!verified.ok) return { ok: false, reason: `verification failed: ${verified.reason}`, newThumbprint: replaced.thumbprint };
  const presented = verified.value.result.certificate!;
  const configuredCheck = (await configuredMatches(ctx, presented.thumbprint)) ?? (await steps.confirm?.(inspection, run.replacement, run.startedAt)) ?? null;
  if (configuredCheck) return { ok: false, reason: `verification failed: ${configuredCheck}`, newThumbprint: presented.thumbprint };
  return { ok: true, value: { thumbprint: presented.thumbprint, sha256: presented.sha256 } };
}

/** Phase 4: the journal closed into the history, both fingerprints logged; deploy --remove-old. */
async function finish(run: SwapRun, backup: Backup, verified: Verified): Promise<RotationResult> {
  const { ctx, supplied, replacement } = run;
  const oldPrints = printsOf(run.decision);
  const done = { newThumbprint: verified.thumbprint, newSha256: verified.sha256, backupId: backup.id, backupPath: backup.path };
  if (supplied) {
    run.close({ outcome: "deployed", reason: null, finishedAt: ctx.now().toISOString() });
    ctx.log(
      "info",
      `deployed ${supplied.origin} on the ${ctx.backend.kind} listener: old ${oldPrints} -> new SHA-1 ${verified.thumbprint}, SHA-256 ${verified.sha256}; backup ${backup.id}`,
    );
    const removal =
      replacement.kind === "supplied" && replacement.removeOld ? await removeOld(ctx, backup.id, supplied, run.records) : { removed: [], warnings: [] };
    return run.result("deployed", `the listener presents ${verified.thumbprint} from ${supplied.origin}`, { ...done, ...removal });
  }
  run.close({ outcome: "rotated", reason: null, finishedAt: ctx.now().toISOString() });
  ctx.log(
    "info",
    `rotated the ${ctx.backend.kind} listener certificate: old ${oldPrints} -> new SHA-1 ${verified.thumbprint}, SHA-256 ${verified.sha256}; backup ${backup.id}`,
  );
  return run.result("rotated", `the listener presents the new certificate ${verified.thumbprint}`, { ...done, fix: PINNED_CLIENTS });
}

/** The replace failed before any restart: the files are recovered from the backup (and the old state verified). */
function recoverFiles(run: SwapRun, backup: Backup, failed: Failed): Promise<RotationResult> {
  return undo(run, backup, failed);
}

/** The restart or the verification failed: rolled back and restarted, and the old state verified on the wire. */
function rollBackAndRestart(run: SwapRun, backup: Backup, failed: Failed): Promise<RotationResult> {
  return undo(run, backup, failed);
}

async function undo(run: SwapRun, backup: Backup, failed: Failed): Promise<RotationResult> {
  const { ctx, settings } = run;
  const failure = failed.reason;
  const newThumbprint = failed.newThumbprint;
  ctx.log("warn", `rotation failed (${failure}); restoring backup ${backup.id}`);
  run.advanceAfterChange("restoring");
  const rolledBack = await rollBack(ctx, settings, run.inspection, backup.id, run.beforeSignature, run.records, run.journal.written, newThumbprint);
  const outcome = rolledBack.ok ? "rolled-back" : "rollback-failed";
  run.close({ outcome, reason: rolledBack.ok ? failure : `${failure}; rollback: ${rolledBack.reason}`, finishedAt: ctx.now().toISOString() });
  if (rolledBack.ok) {
    ctx.log("error", `rotation rolled back: ${failure}; old certificate ${run.oldThumbprint ?? "none"} in place again`);
    return run.result("rolled-back", failure, {
      newThumbprint,
      backupId: backup.id,
      backupPath: backup.path,
      fix: "see the reason; the old certificate is in place again",
    });
  }
  // Someone deployed another pair meanwhile: restoring the old one by hand would undo their work.
  const fix = rolledBack.conflict
    ? `someone else changed the pair during the rotation and it was left as they wrote it: check what the listener presents (rdpcert status); the old pair is in backup ${backup.id} (${backup.path}) only if it is really wanted back`
    : `restore by hand: rdpcert backups restore ${backup.id} (files in ${backup.path})`;
  ctx.log("error", `ROLLBACK FAILED: ${failure}; ${rolledBack.reason}. ${fix}`);
  return run.result("rollback-failed", `${failure}; rollback failed: ${rolledBack.reason}`, {
    newThumbprint,
    backupId: backup.id,
    backupPath: backup.path,
    fix,
  });
}

/** deploy --remove-old, after verification: a failure here is a warning, never a rollback (the new certificate works). */
export async function removeOld(
  ctx: RotationContext,
  backupId: string,
  supplied: SuppliedCertificate,
  records: StepRecord[],
): Promise<{ removed: readonly string[]; warnings: readonly string[] }> {
  const steps = ctx.backend.rotation as RotationSteps;
  const backup = ctx.store.loadBackup(backupId);
  if (!steps.removeOld)
    return {
      removed: [],
      warnings: [`--remove-old does nothing on ${ctx.backend.kind}: the previous files are left as they were (their copy is in backup ${backupId})`],
    };
  if (!backup) return { removed: [], warnings: [`the previous certificate was not removed: backup ${backupId} cannot be read`] };
  const result = await timed(
    records,
    "remove-old",
    () => steps.removeOld!(backup, supplied),
    (v) => (v.removed.length ? `removed ${v.removed.join(", ")}` : "nothing to remove"),
  );
  if (!result.ok) {
    ctx.log("warn", `the previous certificate was not removed: ${result.reason}`);
    return { removed: [], warnings: [`the previous certificate was not removed: ${result.reason}`] };
  }
  for (const path of result.value.removed) ctx.log("info", `removed the previous certificate ${path} (a copy is in backup ${backupId})`);
  return { removed: result.value.removed, warnings: [] };
}
