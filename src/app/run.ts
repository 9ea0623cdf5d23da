import type { Config } from "../core/config";
import { runCommand } from "../hosts/command-runner";
import { hostOs } from "../hosts/local/host-os";
import { UntrustedPathError, checkTrustedDirectory, untrustedExecutable } from "../hosts/local/trust";
import { createLog } from "../log/logger";
import { removeLeftovers } from "../rotation/rotate";
import { StateDir } from "../hosts/local/state-dir";
import { type RunResult, runPass } from "./run-pass";
import { publishPins } from "./pin-bundle";
import { type AfterChange, afterVerifiedChange, exitCodeAfterHook, untrustedPostChange } from "./post-change";
import { openSession } from "./session";

/**
 * One scheduled pass (`rdpcert run`, and every tick of `rdpcert schedule`):
 * the log for it (console, JSON lines, Windows event log), the session, the
 * trust check of the renew command, the leftover sweep, then the policy
 * (app/run-pass.ts). Never throws for a broken host.
 */

/** Everything one pass needs, from the effective configuration; shared by `run` and `schedule`. */
export async function preparePass(config: Config, options: { dryRun: boolean; quietConsole: boolean; runId?: string }) {
  const log = createLog({
    level: "info",
    runId: options.runId,
    logDir: options.dryRun ? null : config.logDir,
    eventLog: hostOs.eventLog && !options.dryRun ? { runner: runCommand } : null,
    console: true,
    consoleLevel: options.quietConsole ? "warn" : "info",
  });
  const setup = await openSession(config, { reason: "scheduled run", log: log.log });
  return { log, setup };
}

export async function executePass(
  config: Config,
  options: { dryRun: boolean; quietConsole: boolean; runId?: string },
): Promise<{ result: RunResult | null; runId: string; error: string | null; warnings: readonly string[]; afterChange?: AfterChange | null }> {
  const { log, setup } = await preparePass(config, options);
  let outcome: { result: RunResult | null; error: string | null };
  let afterChange: AfterChange | null = null;
  // A textfile that cannot be written is a warning of the pass (run --json warnings), not only a log line.
  let textfileWarning: string | null = null;
  try {
    const renew = config.renewCommand?.[0];
    const untrustedRenew = renew === undefined ? null : untrustedExecutable(renew, "the renew command");
    const untrustedSource = config.deploySource === null ? null : untrustedDeploySource(config.deploySource);
    const untrustedHook = untrustedPostChange(config);
    if (!setup.ok) {
      log.log("error", `cannot run: ${setup.reason} (${setup.fix})`);
      outcome = { result: null, error: `${setup.reason}; ${setup.fix}` };
    } else if (untrustedRenew) {
      log.log("error", `cannot run: ${untrustedRenew}: refusing to run it as root`);
      outcome = { result: null, error: `${untrustedRenew}: refusing to run it as root; use a renew command that only root owns and can write` };
    } else if (untrustedHook) {
      log.log("error", `cannot run: ${untrustedHook}`);
      outcome = { result: null, error: `${untrustedHook}; use a post-change command that only root owns and can write` };
    } else if (untrustedSource) {
      log.log("error", `cannot run: ${untrustedSource.reason} (${untrustedSource.fix})`);
      outcome = { result: null, error: `${untrustedSource.reason}; ${untrustedSource.fix}` };
    } else {
      // Only backends that leave temp files beside managed files (xrdp) pay for this extra inspection.
      if (!options.dryRun && setup.ctx.backend.rotation?.removeLeftovers) {
        const inspected = await setup.ctx.backend.inspect();
        if (inspected.ok) removeLeftovers(setup.ctx, inspected.inspection);
      }
      // The deploy machinery (pkijs, forge) loads only where there is somewhere to deploy from.
      const deployApp = config.deploySource !== null || setup.ctx.backend.rotation?.candidates ? await import("./deploy") : null;
      const deployable = deployApp?.canDeploy(config, setup) ?? false;
      const result = await runPass({
        ctx: setup.ctx,
        settings: setup.settings,
        runPolicy: { autoRepair: config.autoRepair, criticalDays: config.criticalDays, renewCommand: config.renewCommand, canDeploy: deployable },
        renewTimeoutMs: config.renewTimeoutMs,
        runner: runCommand,
        backoffStore: new StateDir(config.stateDir),
        dryRun: options.dryRun,
        ...(deployApp ? { findNewer: (current) => deployApp.findNewer(config, setup, current) } : {}),
        stage: async (action, assessment, dryRun) => (await import("./stage")).runStageStep(setup, action, assessment, dryRun),
      });
      // Issue 25: after a verified change, the clients' pin bundle (and SHA-256 in the log), then the
      // post-change hook (docs/hooks-and-staging.md): a failed hook is a warning and exit 1 at least, never a rollback.
      const rotation = result.rotation ? await publishPins(setup, result.rotation) : null;
      afterChange = rotation && !options.dryRun ? await afterVerifiedChange(config, setup.ctx.backend, rotation, log.log) : null;
      outcome = { result: { ...result, rotation, exitCode: exitCodeAfterHook(result.exitCode, afterChange?.hook ?? null) }, error: null };
    }
    if (config.textfileDir && !options.dryRun) {
      const { writePassMetrics } = await import("../metrics/textfile");
      const failures = (outcome.result?.backoff ?? new StateDir(config.stateDir).readBackoff()).failures;
      const failed = await writePassMetrics(config.textfileDir, {
        result: outcome.result,
        rotationFailures: failures,
        history: setup.ok ? setup.ctx.store.history() : [],
        stateDir: config.stateDir,
      });
      if (failed) {
        log.log("warn", failed);
        textfileWarning = failed;
      }
    }
  } finally {
    await log.close();
  }
  // After close: every line has reached the file (or failed to).
  return { ...outcome, runId: log.runId, warnings: textfileWarning ? [...log.warnings(), textfileWarning] : log.warnings(), afterChange };
}

/**
 * deploySource decides what root deploys: it and every directory above it must pass the
 * trust rules (hosts/local/trust.ts). A directory that does not exist yet passes (certbot has not issued);
 * its files are judged again, by descriptor, when they are read.
 */
function untrustedDeploySource(path: string): { reason: string; fix: string } | null {
  try {
    checkTrustedDirectory(path, "deploySource");
    return null;
  } catch (error) {
    if (error instanceof UntrustedPathError) return { reason: error.message, fix: error.fix };
    return null;
  }
}
