import type { HostInspection, RotationSteps } from "../hosts/host-backend";
import type { Journal } from "../hosts/local/state-dir";
import type { ProbeResult } from "../probe/prober";
import type { RecoveryResult, RotationContext, RotationSettings, StepRecord } from "./types";
import { configuredMatches, expectNew, expectSignature, probeOf, restartIfStale, signature, timed, waitForListener } from "./verify";

/**
 * Putting the old state back: the rollback of a failed swap, the recovery of
 * an interrupted rotation (an open journal), and a restore by hand.
 */

/** Leftover temp files of interrupted crash-safe writes (a key's is a copy of the key): removed, and said so. */
export function removeLeftovers(ctx: RotationContext, inspection: HostInspection): void {
  const removed = ctx.backend.rotation?.removeLeftovers?.(inspection) ?? [];
  for (const path of removed) ctx.log("warn", `removed ${path}, left over by an interrupted write`);
}

export async function rollBack(
  ctx: RotationContext,
  settings: RotationSettings,
  inspection: HostInspection,
  backupId: string,
  expected: string,
  records: StepRecord[],
  written: Journal["written"],
  stale: string | null,
) {
  const steps = ctx.backend.rotation as RotationSteps;
  const backup = ctx.store.loadBackup(backupId);
  if (!backup) return { ok: false as const, reason: `backup ${backupId} cannot be read`, conflict: false };
  const restored = await timed(
    records,
    "restore",
    () => steps.restore(backup, { inspection, written }),
    (v) => `restored ${v.restored.join(", ")}`,
  );
  if (!restored.ok) return restored;
  ctx.fault("after-restore");
  // A failing restart does not end the rollback: what counts is what the listener presents.
  const restarted = await timed(
    records,
    "restart",
    () => steps.restart(settings.restart, null),
    (v) => v.command ?? "no restart",
  );
  const gone = restored.value.oldCertificateGone;
  const renewable = restored.value.renewableByHost;
  // Judged by what is served: the old state, or (Windows) a valid certificate the host renewed on the restart.
  const accept = gone
    ? expectNew(ctx.now, null, null)
    : renewable
      ? (p: ProbeResult) => (expectSignature(expected)(p) === null ? null : expectNew(ctx.now, null, null)(p))
      : expectSignature(expected);
  const renewed = (v: { result: ProbeResult }): boolean => !gone && renewable !== undefined && signature(v.result) !== expected;
  if (stale && stale !== expected) await restartIfStale(ctx, settings, inspection, records, accept, stale);
  const verified = await timed(
    records,
    "verify-old",
    () => waitForListener(ctx, inspection, settings, accept),
    (v) =>
      gone
        ? `${gone}; a valid certificate is presented with the binding as before`
        : renewed(v)
          ? `${renewable}: ${signature(v.result)} is presented, valid, with the binding as before`
          : "old state presented again",
  );
  if (!verified.ok && !restarted.ok) return { ok: false as const, reason: `${restarted.reason}; ${verified.reason}`, conflict: false };
  if (verified.ok && (gone || renewed(verified.value))) {
    const configuredCheck = await configuredMatches(ctx, verified.value.result.certificate!.thumbprint);
    if (configuredCheck) return { ok: false as const, reason: configuredCheck, conflict: false };
  }
  return verified.ok ? verified : { ...verified, conflict: false };
}

/**
 * An open journal means a rotation was interrupted (kill -9, power loss).
 * Before the replacement started nothing changed: close it. After: keep the new
 * certificate if the listener presents it and it is valid, otherwise restore
 * the backup. Called under the lock by rotate, and by run and status.
 */
export async function recoverInterrupted(ctx: RotationContext, settings: RotationSettings): Promise<RecoveryResult | null> {
  const journal = ctx.store.readJournal();
  if (!journal) return null;
  const close = (outcome: RecoveryResult["outcome"], reason: string): RecoveryResult => {
    ctx.store.closeJournal(journal, { outcome: `recovered:${outcome}`, reason, finishedAt: ctx.now().toISOString() });
    ctx.log(
      outcome === "rollback-failed" ? "error" : "warn",
      `interrupted rotation ${journal.id} (pid ${journal.pid}, at step ${journal.step}): ${outcome}: ${reason}`,
    );
    return { journal, outcome, reason };
  };
  if (journal.step === "started" || journal.step === "backed-up" || journal.backupId === null) {
    return close("abandoned", "it stopped before changing anything");
  }
  // Undoing it restarts services: not from inside an RDP session, which that would cut (status hands it to a SYSTEM task).
  const handOff = ctx.backend.rotation?.mustHandOff?.() ?? null;
  if (handOff) {
    const reason = `${handOff}; left open for rdpcert status, which hands the recovery to a SYSTEM task`;
    ctx.log("warn", `interrupted rotation ${journal.id} (pid ${journal.pid}, at step ${journal.step}): deferred: ${reason}`);
    return { journal, outcome: "deferred", reason };
  }
  const outcome = await ctx.backend.inspect();
  if (!outcome.ok) return close("rollback-failed", `cannot inspect the listener: ${outcome.reason}`);
  const inspection = outcome.inspection;
  if ((journal.newThumbprint || journal.step === "restarted" || journal.step === "verifying") && journal.step !== "restoring") {
    const check = await probeOf(ctx, inspection, settings.probeTimeoutMs);
    if (expectNew(ctx.now, journal.oldThumbprint, journal.newThumbprint)(check) === null) {
      return close("completed", `the listener presents the new certificate ${journal.newThumbprint}`);
    }
  }
  const steps = ctx.backend.rotation;
  const backup = ctx.store.loadBackup(journal.backupId);
  if (!steps || !backup) return close("rollback-failed", `backup ${journal.backupId} cannot be read; restore by hand`);
  const records: StepRecord[] = [];
  const expected = journal.presentedBefore ?? journal.oldThumbprint;
  const restored = await steps.restore(backup, { inspection, written: journal.written });
  if (!restored.ok) return close("rollback-failed", restored.reason);
  const restarted = await steps.restart(settings.restart, null);
  // As in a rollback (rollBack): an old certificate that cannot come back (Windows' own key is not
  // exportable), or one the host renewed, is judged by a valid certificate served with the binding as before.
  const gone = restored.value.oldCertificateGone ?? (restored.value.renewableByHost && expected ? restored.value.renewableByHost : undefined);
  if (expected) {
    const accept = gone ? (p: ProbeResult) => (expectSignature(expected)(p) === null ? null : expectNew(ctx.now, null, null)(p)) : expectSignature(expected);
    const verified = await timed(records, "verify-old", () => waitForListener(ctx, inspection, settings, accept));
    if (!verified.ok) return close("rollback-failed", `${restarted.ok ? "" : `${restarted.reason}; `}${verified.reason}`);
    const shows = signature(verified.value.result);
    if (shows !== expected) {
      const configuredCheck = await configuredMatches(ctx, shows);
      if (configuredCheck) return close("rollback-failed", configuredCheck);
      return close("rolled-back", `backup ${journal.backupId} restored; ${gone}; the listener presents ${shows}, valid, with the binding as before`);
    }
  } else if (!restarted.ok) return close("rollback-failed", restarted.reason);
  return close("rolled-back", `backup ${journal.backupId} restored${expected ? `; the listener shows ${expected} again` : ""}`);
}

export interface RestoreResult {
  readonly outcome: "restored" | "restored-unverified" | "not-found" | "busy" | "failed";
  readonly reason: string;
  /** The backup of what was there before the restore (nothing is overwritten without one). */
  readonly safetyBackupId: string | null;
  readonly presentedThumbprint: string | null;
}

/** `rdpcert backups restore ID`: back up the current state, put the backup back, restart, and check what the listener presents. */
export async function restoreBackupById(ctx: RotationContext, settings: RotationSettings, id: string): Promise<RestoreResult> {
  const startedAt = ctx.now().toISOString();
  let before: string | null = null;
  let oldPrints = "not seen";
  let newPrints = "not verified";
  const result = (outcome: RestoreResult["outcome"], reason: string, extra: Partial<RestoreResult> = {}): RestoreResult => {
    const done: RestoreResult = { outcome, reason, safetyBackupId: null, presentedThumbprint: null, ...extra };
    // A restore that changed files is a change like a rotation: in the history and the log, with both fingerprints.
    if (done.safetyBackupId) {
      const restored = ctx.store.loadBackup(id)?.thumbprint ?? null;
      try {
        ctx.store.appendHistory({
          kind: "restore",
          id: `restore-${id}-${startedAt.replace(/[-:.]/g, "").slice(0, 15)}`,
          pid: process.pid,
          startedAt,
          finishedAt: ctx.now().toISOString(),
          backend: ctx.backend.kind,
          backupId: id,
          safetyBackupId: done.safetyBackupId,
          oldThumbprint: before,
          newThumbprint: restored,
          outcome,
          reason,
        });
      } catch (error) {
        ctx.log("error", `cannot record the restore in history.jsonl: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
      ctx.log(
        outcome === "failed" ? "error" : "info",
        `backups restore ${id}: ${outcome}: ${reason}; presented before: ${oldPrints} -> now: ${newPrints}; the state before is in backup ${done.safetyBackupId}`,
      );
    }
    return done;
  };
  const steps = ctx.backend.rotation;
  if (!steps) return result("failed", `restoring is not available for the ${ctx.backend.kind} backend yet`);
  const lock = ctx.store.lock();
  if (!lock.ok) return result("busy", `another rotation is running: pid ${lock.heldBy.pid} since ${lock.heldBy.since}`);
  try {
    const backup = ctx.store.loadBackup(id);
    if (!backup) return result("not-found", `there is no backup ${id}: see rdpcert backups list`);
    if (backup.backend !== ctx.backend.kind) return result("failed", `backup ${id} was made by the ${backup.backend} backend, not ${ctx.backend.kind}`);
    const outcome = await ctx.backend.inspect();
    if (!outcome.ok) return result("failed", `cannot inspect the listener: ${outcome.reason}`);
    const current = await steps.collectBackup(outcome.inspection);
    if (!current.ok) return result("failed", `cannot back up the current state first: ${current.reason}`);
    before = current.value.thumbprint;
    // Never prune the backup being restored (a restore must not delete its own source).
    const safetyBackupId = ctx.store.saveBackup(current.value, `before restoring backup ${id}`, Math.max(settings.keepBackups, 2), [id]);
    const beforeProbe = await probeOf(ctx, outcome.inspection, settings.probeTimeoutMs);
    const presentedBefore = settings.restart.ifStale ? signature(beforeProbe) : null;
    oldPrints = beforeProbe.certificate ? `SHA-1 ${beforeProbe.certificate.thumbprint}, SHA-256 ${beforeProbe.certificate.sha256}` : signature(beforeProbe);
    const restored = await steps.restore(backup, { inspection: outcome.inspection });
    if (!restored.ok) return result("failed", `${restored.reason}; the state before is in backup ${safetyBackupId}`, { safetyBackupId });
    const restarted = await steps.restart(settings.restart, null);
    if (!restarted.ok) return result("failed", `${restarted.reason}; the state before is in backup ${safetyBackupId}`, { safetyBackupId });
    if (!backup.thumbprint) return result("restored-unverified", `backup ${id} restored; it holds no certificate to look for`, { safetyBackupId });
    if (presentedBefore && presentedBefore !== backup.thumbprint)
      await restartIfStale(ctx, settings, outcome.inspection, [], expectSignature(backup.thumbprint), presentedBefore);
    const verified = await waitForListener(ctx, outcome.inspection, settings, expectSignature(backup.thumbprint));
    if (verified.ok) newPrints = `SHA-1 ${verified.value.result.certificate!.thumbprint}, SHA-256 ${verified.value.result.certificate!.sha256}`;
    return verified.ok
      ? result("restored", `the listener presents ${backup.thumbprint} from backup ${id}`, { safetyBackupId, presentedThumbprint: backup.thumbprint })
      : result("restored-unverified", `backup ${id} restored, but ${verified.reason}`, { safetyBackupId });
  } finally {
    lock.release();
  }
}
