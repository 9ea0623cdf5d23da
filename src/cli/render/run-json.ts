import type { RunResult } from "../../app/run-pass";
import { exitCodeForRotation, rotationJson } from "./rotate-render";

export const RUN_SCHEMA = "rdpcert.run/v1";

/** The documented `rdpcert run --json` report (docs/json-schemas.md). */
export function runJson(result: RunResult, runId: string, dryRun: boolean, now: Date, warnings: readonly string[] = []) {
  return {
    schema: RUN_SCHEMA,
    generatedAt: now.toISOString(),
    runId,
    dryRun,
    action: result.action,
    outcome: result.outcome,
    exitCode: result.exitCode,
    status: result.status,
    reason: result.reason,
    recovered: result.recovered && {
      id: result.recovered.journal.id,
      step: result.recovered.journal.step,
      outcome: result.recovered.outcome,
      reason: result.recovered.reason,
    },
    rotation: result.rotation && rotationJson(result.rotation, exitCodeForRotation(result.rotation), false, now),
    backoff: result.backoff,
    warnings,
  };
}
