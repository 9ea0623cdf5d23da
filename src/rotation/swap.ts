import { randomBytes } from "node:crypto";
import type { Replacement, RotationSteps, SuppliedCertificate } from "../hosts/host-backend";
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

export async function swap(ctx: RotationContext, settings: RotationSettings, decision: Decision, replacement: Replacement): Promise<RotationResult> {
  const inspection = decision.inspection!;
  const steps = ctx.backend.rotation as RotationSteps;
  const records: StepRecord[] = [];
  const oldThumbprint = oldOf(decision);
  const oldPrints = printsOf(decision);
  const beforeSignature = signature(decision.before!);
  const supplied = replacement.kind === "supplied" ? replacement.certificate : null;
  const startedAt = ctx.now();
  let journal = journalEntry(ctx, oldThumbprint, settings.reason ?? decision.reason, beforeSignature, supplied ? "deploy" : "rotate");
  const advance = (step: JournalStep, patch: Partial<Journal> = {}): void => {
    journal = { ...journal, ...patch, step };
    ctx.store.writeJournal(journal);
  };
  // Once files may have changed, a state dir that fills up or turns read-only must not skip the
  // verification or the rollback (issue 12, case 5): the journal on disk stays at its last step,
  // which makes the next run or status check what the listener presents.
  let journalTrouble = false;
  const record = (what: string, write: () => void): void => {
    try {
      write();
    } catch (error) {
      if (!journalTrouble) ctx.log("error", `cannot ${what} in the state dir (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); the rotation goes on, and the next run or status checks what the listener presents`);
      journalTrouble = true;
    }
  };
  const advanceAfterChange = (step: JournalStep, patch: Partial<Journal> = {}): void => record("update the journal", () => advance(step, patch));
  const close = (how: JournalClose): void => record("close the journal", () => ctx.store.closeJournal(journal, how));
  advance("started");
  ctx.fault("after-journal");
  const common = { plan: decision.plan, oldThumbprint, assessment: decision.assessment };

  const backup = await timed(records, "backup", async () => {
    const collected = await steps.collectBackup(inspection, replacement);
    if (!collected.ok) return collected;
    try {
      return { ok: true as const, value: ctx.store.saveBackup(collected.value, settings.reason ?? decision.reason, settings.keepBackups) };
    } catch (error) {
      return { ok: false as const, reason: `cannot write the backup: ${(error as Error).message}` };
    }
  }, (id) => `backup ${id}`);
  if (!backup.ok) {
    close({ outcome: "not-started", reason: backup.reason, finishedAt: ctx.now().toISOString() });
    ctx.log("error", `rotation not started: ${backup.reason}`);
    return blank("rolled-back", `nothing was changed: ${backup.reason}`, { ...common, steps: records, fix: "check the state dir (--state-dir) is writable" });
  }
  const backupId = backup.value;
  const backupPath = ctx.store.backupPath(backupId);
  advance("backed-up", { backupId });
  ctx.fault("after-backup");

  advance("replacing");
  const replaced = await timed(records, "replace", () => steps.replace(inspection, replacement, ctx.now(), (written) => advance("replacing", { written })), (v) => `wrote ${v.written.join(", ")}${v.keygenMs !== undefined ? `; key and certificate generated in ${v.keygenMs.toFixed(0)} ms` : ""}`);
  let failure: string | null = null;
  let newThumbprint: string | null = null;
  let newSha256: string | null = null;
  if (!replaced.ok) failure = replaced.reason;
  else {
    newThumbprint = replaced.value.thumbprint;
    advanceAfterChange("replaced", { newThumbprint });
    ctx.fault("after-replace");
    const restarted = await timed(records, "restart", () => steps.restart(settings.restart, oldThumbprint), (v) => v.command ?? "no restart");
    if (!restarted.ok) failure = restarted.reason;
    else {
      advanceAfterChange("restarted");
      ctx.fault("after-restart");
      advanceAfterChange("verifying");
      ctx.fault("before-verify");
      const unchangedOk = replaced.value.presentedMayStay === true;
      const chainChecked = checksChain(steps, supplied);
      const accept = supplied ? expectSupplied(ctx.now, supplied, chainChecked) : expectNew(ctx.now, unchangedOk ? null : oldThumbprint, newThumbprint);
      await restartIfStale(ctx, settings, inspection, records, accept, beforeSignature, chainChecked);
      const verified = await timed(records, "verify", () => waitForListener(ctx, inspection, settings, accept, chainChecked), (v) => `${supplied ? `${supplied.thumbprint}${chainChecked ? " and its chain" : ""}` : unchangedOk ? "a valid certificate" : "new certificate"} presented after ${v.attempts} handshake(s)`);
      if (!verified.ok) failure = `verification failed: ${verified.reason}`;
      else {
        newThumbprint = verified.value.result.certificate!.thumbprint;
        newSha256 = verified.value.result.certificate!.sha256;
        const configuredCheck = (await configuredMatches(ctx, newThumbprint)) ?? (await steps.confirm?.(inspection, replacement, startedAt)) ?? null;
        if (configuredCheck) failure = `verification failed: ${configuredCheck}`;
      }
    }
  }

  if (failure === null && supplied) {
    close({ outcome: "deployed", reason: null, finishedAt: ctx.now().toISOString() });
    ctx.log("info", `deployed ${supplied.origin} on the ${ctx.backend.kind} listener: old ${oldPrints} -> new SHA-1 ${newThumbprint}, SHA-256 ${newSha256}; backup ${backupId}`);
    const removal = replacement.kind === "supplied" && replacement.removeOld ? await removeOld(ctx, backupId, supplied, records) : { removed: [], warnings: [] };
    return blank("deployed", `the listener presents ${newThumbprint} from ${supplied.origin}`, { ...common, newThumbprint, newSha256, backupId, backupPath, steps: records, ...removal });
  }
  if (failure === null) {
    close({ outcome: "rotated", reason: null, finishedAt: ctx.now().toISOString() });
    ctx.log("info", `rotated the ${ctx.backend.kind} listener certificate: old ${oldPrints} -> new SHA-1 ${newThumbprint}, SHA-256 ${newSha256}; backup ${backupId}`);
    return blank("rotated", `the listener presents the new certificate ${newThumbprint}`, { ...common, newThumbprint, newSha256, backupId, backupPath, steps: records, fix: PINNED_CLIENTS });
  }

  ctx.log("warn", `rotation failed (${failure}); restoring backup ${backupId}`);
  advanceAfterChange("restoring");
  const rolledBack = await rollBack(ctx, settings, inspection, backupId, beforeSignature, records, journal.written, newThumbprint);
  const outcome = rolledBack.ok ? "rolled-back" : "rollback-failed";
  close({ outcome, reason: rolledBack.ok ? failure : `${failure}; rollback: ${rolledBack.reason}`, finishedAt: ctx.now().toISOString() });
  if (rolledBack.ok) {
    ctx.log("error", `rotation rolled back: ${failure}; old certificate ${oldThumbprint ?? "none"} in place again`);
    return blank("rolled-back", failure, { ...common, newThumbprint, backupId, backupPath, steps: records, fix: "see the reason; the old certificate is in place again" });
  }
  // Someone deployed another pair meanwhile: restoring the old one by hand would undo their work.
  const fix = rolledBack.conflict
    ? `someone else changed the pair during the rotation and it was left as they wrote it: check what the listener presents (rdpcert status); the old pair is in backup ${backupId} (${backupPath}) only if it is really wanted back`
    : `restore by hand: rdpcert backups restore ${backupId} (files in ${backupPath})`;
  ctx.log("error", `ROLLBACK FAILED: ${failure}; ${rolledBack.reason}. ${fix}`);
  return blank("rollback-failed", `${failure}; rollback failed: ${rolledBack.reason}`, {
    ...common,
    newThumbprint,
    backupId,
    backupPath,
    steps: records,
    fix,
  });
}

/** deploy --remove-old, after verification: a failure here is a warning, never a rollback (the new certificate works). */
export async function removeOld(ctx: RotationContext, backupId: string, supplied: SuppliedCertificate, records: StepRecord[]): Promise<{ removed: readonly string[]; warnings: readonly string[] }> {
  const steps = ctx.backend.rotation as RotationSteps;
  const backup = ctx.store.loadBackup(backupId);
  if (!steps.removeOld) return { removed: [], warnings: [`--remove-old does nothing on ${ctx.backend.kind}: the previous files are left as they were (their copy is in backup ${backupId})`] };
  if (!backup) return { removed: [], warnings: [`the previous certificate was not removed: backup ${backupId} cannot be read`] };
  const result = await timed(records, "remove-old", () => steps.removeOld!(backup, supplied), (v) => (v.removed.length ? `removed ${v.removed.join(", ")}` : "nothing to remove"));
  if (!result.ok) {
    ctx.log("warn", `the previous certificate was not removed: ${result.reason}`);
    return { removed: [], warnings: [`the previous certificate was not removed: ${result.reason}`] };
  }
  for (const path of result.value.removed) ctx.log("info", `removed the previous certificate ${path} (a copy is in backup ${backupId})`);
  return { removed: result.value.removed, warnings: [] };
}
