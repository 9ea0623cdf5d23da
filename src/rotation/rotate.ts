import type { Replacement, SuppliedCertificate } from "../hosts/host-backend";
import { decide, oldOf } from "./decide";
import { recoverInterrupted, removeLeftovers } from "./recover";
import { swap } from "./swap";
import { type RotationContext, type RotationOutcome, type RotationResult, type RotationSettings, blank } from "./types";

/**
 * The rotation state machine (README, Architecture):
 * lock -> recover -> re-check -> journal -> backup -> replace -> restart -> verify,
 * and on any failure after the backup: restore -> restart -> verify the old
 * certificate again. The listener is never left without a working
 * certificate, and nothing is removed without a backup and a verified
 * replacement. Time, probing, storage and the host are injected.
 *
 * The phases live beside this file: types.ts (shared shapes), decide.ts,
 * swap.ts, verify.ts, recover.ts. This module is the entry point and
 * re-exports what the application layer uses.
 */

export type {
  Decision,
  FaultPoint,
  LogLevel,
  RecoveryResult,
  RotationContext,
  RotationOutcome,
  RotationResult,
  RotationSettings,
  RotationStore,
  StepRecord,
} from "./types";
export { PINNED_CLIENTS } from "./types";
export { decideDeployment, decideRotation, issuedByRdpcert } from "./decide";
export { type RestoreResult, recoverInterrupted, removeLeftovers, restoreBackupById } from "./recover";

/** `rdpcert rotate`: the whole safe swap. Never throws for a failed step; always releases the lock. */
export function rotate(ctx: RotationContext, settings: RotationSettings, options: { dryRun: boolean }): Promise<RotationResult> {
  return replaceSafely(ctx, settings, options, { kind: "self-signed", spec: settings.spec });
}

/** `rdpcert deploy`: the same state machine as rotate, with a supplied certificate as the replacement. */
export function deploy(
  ctx: RotationContext,
  settings: RotationSettings,
  certificate: SuppliedCertificate,
  options: { dryRun: boolean; removeOld: boolean },
): Promise<RotationResult> {
  return replaceSafely(ctx, settings, options, { kind: "supplied", certificate, removeOld: options.removeOld });
}

/** lock -> recover -> re-decide -> swap, for either kind of replacement. */
async function replaceSafely(
  ctx: RotationContext,
  settings: RotationSettings,
  options: { dryRun: boolean },
  replacement: Replacement,
): Promise<RotationResult> {
  if (options.dryRun) {
    const decision = await decide(ctx, settings, replacement);
    const outcome: RotationOutcome = decision.kind === "rotate" ? "planned" : decision.kind;
    return blank(outcome, decision.reason, { fix: decision.fix, plan: decision.plan, assessment: decision.assessment, oldThumbprint: oldOf(decision) });
  }
  const lock = ctx.store.lock();
  if (!lock.ok) {
    return blank("busy", `another rotation is running: pid ${lock.heldBy.pid} on ${lock.heldBy.host} since ${lock.heldBy.since}`, {
      heldBy: lock.heldBy,
      fix: "wait for it to finish (it verifies and rolls back on its own), then run status",
    });
  }
  try {
    if (lock.tookOverFrom) ctx.log("warn", `took over the rotation lock left by pid ${lock.tookOverFrom.pid} (${lock.tookOverBecause ?? "no longer running"})`);
    ctx.fault("after-lock");
    const recovered = await recoverInterrupted(ctx, settings);
    // Re-check after taking the lock: another run may have rotated meanwhile.
    const decision = await decide(ctx, settings, replacement);
    if (decision.inspection) removeLeftovers(ctx, decision.inspection);
    if (decision.kind !== "rotate") {
      return blank(decision.kind, decision.reason, {
        fix: decision.fix,
        plan: decision.plan,
        assessment: decision.assessment,
        recovered,
        oldThumbprint: oldOf(decision),
      });
    }
    return { ...(await swap(ctx, settings, decision, replacement)), recovered };
  } finally {
    lock.release();
  }
}
