import { ExitCode } from "../../core/exit-code";
import type { RotationResult } from "../../rotation/rotate";

export function exitCodeForRotation(result: RotationResult): number {
  switch (result.outcome) {
    case "rotated":
    case "deployed":
    case "not-needed":
    case "planned":
      return ExitCode.OK;
    case "rolled-back":
    case "rollback-failed":
      return ExitCode.CRITICAL;
    case "refused":
    case "busy":
      return ExitCode.UNKNOWN;
  }
}

export const ROTATE_SCHEMA = "rdpcert.rotate/v1";

/** The documented `rdpcert rotate --json` report (docs/json-schemas.md). */
export function rotationJson(result: RotationResult, exitCode: number, dryRun: boolean, now: Date) {
  return {
    schema: ROTATE_SCHEMA,
    generatedAt: now.toISOString(),
    dryRun,
    outcome: result.outcome,
    exitCode,
    reason: result.reason,
    fix: result.fix,
    status: result.assessment?.status ?? null,
    oldThumbprint: result.oldThumbprint,
    newThumbprint: result.newThumbprint,
    newSha256: result.newSha256,
    backupId: result.backupId,
    backupPath: result.backupPath,
    plan: result.plan,
    steps: result.steps,
    recovered: result.recovered && {
      id: result.recovered.journal.id,
      step: result.recovered.journal.step,
      outcome: result.recovered.outcome,
      reason: result.recovered.reason,
    },
    heldBy: result.heldBy,
    pins: result.pins ?? null,
  };
}

export function renderRotationText(result: RotationResult, dryRun: boolean): string {
  let out = "";
  if (result.recovered)
    out += `recovered an interrupted rotation (${result.recovered.journal.id}, step ${result.recovered.journal.step}): ${result.recovered.outcome}: ${result.recovered.reason}\n`;
  out += `${result.outcome}  ${result.reason}\n`;
  if (result.fix) out += `  ${result.outcome === "rotated" ? "note" : "fix"}: ${result.fix}\n`;
  if (result.oldThumbprint || result.newThumbprint) out += `  old  ${result.oldThumbprint ?? "-"}\n  new  ${result.newThumbprint ?? "-"}\n`;
  if (result.newSha256) out += `  new SHA-256  ${result.newSha256}\n`;
  if (result.backupId) out += `  backup ${result.backupId} (${result.backupPath})\n`;
  if (result.pins)
    out += result.pins.written
      ? `  pins for clients  ${result.pins.path}  (rdpcert client trust HOST --from-bundle FILE)\n`
      : `  pins for clients  not written: ${result.pins.reason}\n`;
  if (dryRun && result.plan.length)
    out += `\nPlan${result.outcome === "planned" ? "" : " (if it were run)"}: nothing has been changed\n${result.plan.map((line, i) => `  ${i + 1}. ${line}`).join("\n")}\n`;
  if (result.steps.length)
    out += `\nSteps:\n${result.steps.map((s) => `  ${s.ok ? "ok  " : "FAIL"} ${s.step.padEnd(10)} ${String(s.ms).padStart(7)} ms  ${s.detail ?? ""}`).join("\n")}\n`;
  return out;
}
