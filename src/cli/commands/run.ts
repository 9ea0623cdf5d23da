import type { Config } from "../../core/config";
import { runCommand } from "../../hosts/command-runner";
import { createLog } from "../../log/logger";
import { untrustedExecutable } from "../../hosts/local/trust";
import { removeLeftovers } from "../../rotation/rotate";
import { type RunResult, runPass } from "../../schedule/run-pass";
import { rotationFlagsFrom } from "../config-load";
import { ExitCode } from "../exit-codes";
import { rotationJson } from "../render/rotate-render";
import { exitCodeForRotation, rotationSetup } from "./rotate";
import { jsonText, terminalText } from "../../core/terminal-safe";
import { writePassMetrics } from "../../metrics/textfile";

export const RUN_SCHEMA = "rdpcert.run/v1";

/** Everything one pass needs, from the effective configuration; shared by `run` and `schedule`. */
export async function preparePass(config: Config, options: { dryRun: boolean; quietConsole: boolean; runId?: string }) {
  const log = createLog({
    level: "info",
    runId: options.runId,
    logDir: options.dryRun ? null : config.logDir,
    eventLog: process.platform === "win32" && !options.dryRun ? { runner: runCommand } : null,
    console: true,
    consoleLevel: options.quietConsole ? "warn" : "info",
  });
  const setup = await rotationSetup(rotationFlagsFrom(config), { force: false, reason: "scheduled run", log: log.log });
  return { log, setup };
}

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
    recovered: result.recovered && { id: result.recovered.journal.id, step: result.recovered.journal.step, outcome: result.recovered.outcome, reason: result.recovered.reason },
    rotation: result.rotation && rotationJson(result.rotation, exitCodeForRotation(result.rotation), false, now),
    backoff: result.backoff,
    warnings,
  };
}

export async function executePass(config: Config, options: { dryRun: boolean; quietConsole: boolean; runId?: string }): Promise<{ result: RunResult | null; runId: string; error: string | null; warnings: readonly string[] }> {
  const { log, setup } = await preparePass(config, options);
  let outcome: { result: RunResult | null; error: string | null };
  try {
    const renew = config.renewCommand?.[0];
    const untrustedRenew = renew === undefined ? null : untrustedExecutable(renew, "the renew command");
    if (!setup.ok) {
      log.log("error", `cannot run: ${setup.reason} (${setup.fix})`);
      outcome = { result: null, error: `${setup.reason}; ${setup.fix}` };
    } else if (untrustedRenew) {
      log.log("error", `cannot run: ${untrustedRenew}: refusing to run it as root`);
      outcome = { result: null, error: `${untrustedRenew}: refusing to run it as root; use a renew command that only root owns and can write` };
    } else {
      // Only backends that leave temp files beside managed files (xrdp) pay for this extra inspection.
      if (!options.dryRun && setup.ctx.backend.rotation?.removeLeftovers) {
        const inspected = await setup.ctx.backend.inspect();
        if (inspected.ok) removeLeftovers(setup.ctx, inspected.inspection);
      }
      const result = await runPass({
        ctx: setup.ctx,
        settings: setup.settings,
        runPolicy: { autoRepair: config.autoRepair, criticalDays: config.criticalDays, renewCommand: config.renewCommand },
        renewTimeoutMs: config.renewTimeoutMs,
        runner: runCommand,
        stateDir: config.stateDir,
        dryRun: options.dryRun,
      });
      outcome = { result, error: null };
    }
    if (config.textfileDir && !options.dryRun) {
      const failed = await writePassMetrics(config.textfileDir, { result: outcome.result, history: setup.ok ? setup.ctx.store.history() : [], stateDir: config.stateDir });
      if (failed) log.log("warn", failed);
    }
  } finally {
    await log.close();
  }
  // After close: every line has reached the file (or failed to).
  return { ...outcome, runId: log.runId, warnings: log.warnings() };
}

export async function runCommandLine(config: Config, options: { dryRun: boolean; json: boolean }): Promise<number> {
  const { result, runId, error, warnings } = await executePass(config, { dryRun: options.dryRun, quietConsole: options.json });
  if (!result) {
    process.stdout.write(options.json ? `${jsonText({ schema: RUN_SCHEMA, runId, outcome: "cannot-run", exitCode: 3, reason: error, warnings })}\n` : terminalText(`cannot run: ${error}\n`));
    return ExitCode.UNKNOWN;
  }
  if (options.json) process.stdout.write(`${jsonText(runJson(result, runId, options.dryRun, new Date(), warnings), 2)}\n`);
  else {
    process.stdout.write(terminalText(`${result.outcome}  ${result.status}  ${result.reason}\n`));
    if (result.recovered) process.stdout.write(terminalText(`  recovered an interrupted rotation: ${result.recovered.outcome}: ${result.recovered.reason}\n`));
  }
  return result.exitCode;
}
