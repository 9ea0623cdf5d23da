import type { StageResult, StagedView } from "../../app/stage";

/** `rotate --stage` as text; the JSON is rotate's schema with a `staged` object (docs/hooks-and-staging.md). */
export function renderStageText(result: StageResult, dryRun: boolean): string {
  let out = `${result.outcome}  ${result.reason}\n`;
  if ("fix" in result && result.fix) out += `  fix: ${result.fix}\n`;
  if ("staged" in result && !dryRun) out += stagedLines(result.staged);
  if (dryRun && result.plan.length)
    out += `\nPlan${result.outcome === "planned" ? "" : " (if it were run)"}: nothing has been changed\n${result.plan.map((line, i) => `  ${i + 1}. ${line}`).join("\n")}\n`;
  return out;
}

export function stagedLines(staged: StagedView, indent = "  "): string {
  return (
    `${indent}staged SHA-1    ${staged.sha1}\n` +
    `${indent}staged SHA-256  ${staged.sha256}\n` +
    `${indent}staged at ${staged.stagedAt}, valid until ${staged.notAfter}\n` +
    (staged.bundle ? `${indent}pin bundle  ${staged.bundle}\n` : "") +
    `${indent}activation  ${staged.activateAt ? `rdpcert run activates it on ${staged.activateAt} (stageDays), earlier only if the current certificate would expire within criticalDays` : "rdpcert rotate --activate (stageDays is not set)"}\n`
  );
}

export function stageExitCode(result: StageResult): number {
  return result.outcome === "staged" || result.outcome === "planned" ? 0 : 3;
}
