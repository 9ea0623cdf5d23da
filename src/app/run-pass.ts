import { type Assessment, assess } from "../core/assess";
import type { CertificateInfo } from "../core/certificate";
import { exitCodeFor } from "../core/exit-code";
import { type Backoff, NO_BACKOFF, type PassSummary, type RunAction, type RunPolicy, decideRun, recordFailure } from "../core/run-policy";
import { formatEndpoint, probeAddressFor } from "../core/target";
import { type CommandRunner, describeExit } from "../hosts/command-runner";
import type { SuppliedCertificate } from "../hosts/host-backend";
import {
  type RecoveryResult,
  type RotationContext,
  type RotationResult,
  type RotationSettings,
  deploy,
  issuedByRdpcert,
  recoverInterrupted,
  rotate,
} from "../rotation/rotate";

/**
 * One pass of the policy, what a scheduled task runs (the `run` use case):
 * finish or undo an interrupted rotation, inspect, assess, act (rotate, deploy,
 * or the CA renewal hook), remember failures for the backoff. Never throws for
 * a broken host; the result carries the exit code.
 */

/** Where the pass remembers its failures: the state dir (hosts/local/state-dir.ts), through its trust checks. */
export interface BackoffStore {
  readBackoff(): Backoff;
  writeBackoff(backoff: Backoff): void;
}

export interface RunPassDeps {
  readonly ctx: RotationContext;
  readonly settings: RotationSettings;
  readonly runPolicy: RunPolicy;
  readonly renewTimeoutMs: number;
  readonly runner: CommandRunner;
  readonly backoffStore: BackoffStore;
  readonly dryRun: boolean;
  /**
   * A valid certificate for the same names that expires later than `current` (xrdp: from
   * deploySource; Windows: LocalMachine\My), checked as deploy checks it; or why there is none.
   */
  readonly findNewer?: (current: CertificateInfo | null) => Promise<{ readonly certificate: SuppliedCertificate } | { readonly none: string }>;
  /** Staged rotation (app/stage.ts): what to do instead of rotating (stage, wait, activate the staged pair), or null. */
  readonly stage?: (
    action: Extract<RunAction, { kind: "rotate" }>,
    assessment: Assessment,
    dryRun: boolean,
  ) => Promise<{
    readonly outcome: string;
    readonly exitCode: number;
    readonly reason: string;
    readonly rotation: RotationResult | null;
    readonly failed: boolean;
    readonly certNotAfter?: Date;
  } | null>;
}

export interface RunResult extends PassSummary {
  readonly recovered: RecoveryResult | null;
  readonly rotation: RotationResult | null;
}

async function inspectAndAssess(deps: RunPassDeps) {
  const { ctx, settings } = deps;
  const outcome = await ctx.backend.inspect();
  const listener = outcome.ok ? outcome.inspection.listener : null;
  const host = listener ? probeAddressFor(listener.address) : null;
  const presented =
    listener && host
      ? await ctx.prober({ input: formatEndpoint(host, listener.port), host, port: listener.port }, { timeoutMs: settings.probeTimeoutMs })
      : null;
  return { outcome, assessment: assess(outcome, presented, settings.policy, ctx.now()) };
}

export async function runPass(deps: RunPassDeps): Promise<RunResult> {
  const { ctx, settings } = deps;
  const log = ctx.log;
  let recovered: RecoveryResult | null = null;
  if (!deps.dryRun && ctx.store.readJournal()) {
    const lock = ctx.store.lock();
    if (lock.ok) {
      try {
        recovered = await recoverInterrupted(ctx, settings);
      } finally {
        lock.release();
      }
    }
  }
  const { outcome, assessment } = await inspectAndAssess(deps);
  const backoff = deps.backoffStore.readBackoff();
  const issuance = outcome.ok ? outcome.inspection.issuance : null;
  const facts = { issuedByRdpcert: issuedByRdpcert(ctx.store.history(), assessment.configured?.thumbprint ?? null) };
  const action = decideRun(assessment, issuance, deps.runPolicy, backoff, ctx.now(), facts);
  const result = (outcomeText: string, exitCode: number, reason: string, extra: Partial<RunResult> = {}): RunResult => ({
    action: action.kind,
    outcome: outcomeText,
    exitCode,
    reason,
    status: assessment.status,
    recovered,
    rotation: null,
    backoff: deps.backoffStore.readBackoff(),
    certNotAfter: (assessment.configured ?? assessment.presented)?.notAfter ?? null,
    ...extra,
  });
  const staged = action.kind === "rotate" && deps.stage ? await deps.stage(action, assessment, deps.dryRun) : null;
  if (staged) {
    if (!deps.dryRun && (staged.failed || staged.outcome === "activated"))
      deps.backoffStore.writeBackoff(staged.failed ? recordFailure(backoff, ctx.now(), staged.reason) : NO_BACKOFF);
    return result(staged.outcome, staged.exitCode, staged.reason, {
      rotation: staged.rotation,
      ...(staged.certNotAfter ? { certNotAfter: staged.certNotAfter } : {}),
    });
  }
  const rotationSettings: RotationSettings = { ...settings, reason: settings.reason ?? (action.kind === "rotate" ? action.reason : null) };

  const lookForNewer = () => (deps.findNewer ? deps.findNewer(assessment.configured) : Promise.resolve({ none: "no deploySource is configured" }));
  /** Deploys a newer certificate if there is one: the pass's result, or why there is none. */
  const deployNewer = async (): Promise<{ done: RunResult } | { none: string }> => {
    const found = await lookForNewer();
    if ("none" in found) return found;
    log("info", `deploying ${found.certificate.thumbprint} from ${found.certificate.origin}: ${action.reason}`);
    const deployment = await deploy(ctx, rotationSettings, found.certificate, { dryRun: false, removeOld: false });
    if (deployment.outcome === "deployed" || deployment.outcome === "not-needed") {
      const after = await inspectAndAssess(deps);
      deps.backoffStore.writeBackoff(NO_BACKOFF);
      return {
        done: result("deployed", exitCodeFor(after.assessment.health), deployment.reason, {
          rotation: deployment,
          status: after.assessment.status,
          certNotAfter: after.assessment.configured?.notAfter ?? null,
        }),
      };
    }
    if (deployment.outcome === "busy") return { done: result("busy", assessment.health === "warn" ? 1 : 2, deployment.reason, { rotation: deployment }) };
    if (deployment.outcome === "refused") {
      log("error", `deploying ${found.certificate.thumbprint} refused: ${deployment.reason}`);
      return { done: result("refused", 2, deployment.reason, { rotation: deployment }) };
    }
    const next = recordFailure(backoff, ctx.now(), deployment.reason);
    deps.backoffStore.writeBackoff(next);
    log("error", `deploy ${deployment.outcome}: ${deployment.reason}; next attempt not before ${next.nextAttemptAt}`);
    return { done: result(deployment.outcome, 2, deployment.reason, { rotation: deployment }) };
  };

  if (deps.dryRun) {
    if (action.kind === "deploy") {
      const found = await lookForNewer();
      if ("certificate" in found)
        return result(
          "dry-run: would deploy",
          0,
          `${found.certificate.thumbprint} from ${found.certificate.origin} (valid until ${found.certificate.notAfter.toISOString()})`,
        );
      const then = deps.runPolicy.renewCommand ? "; would run renewCommand" : "";
      return result(`dry-run: ${then ? "would renew-command" : "nothing newer to deploy"}`, then ? 0 : action.exitCode, `${found.none}${then}`);
    }
    if (action.kind === "rotate") {
      // The real decision, refusals included: a dry run never promises what the run would refuse.
      const plan = await rotate(ctx, rotationSettings, { dryRun: true });
      if (plan.outcome === "refused") return result("dry-run: would refuse", 2, plan.reason, { rotation: plan });
      if (plan.outcome === "not-needed") return result("dry-run: nothing to do", 0, plan.reason, { rotation: plan });
      return result("dry-run: would rotate", 0, action.reason, { rotation: plan });
    }
    const would = action.kind === "none" ? "nothing to do" : action.kind === "backoff" ? "wait (backoff)" : `would ${action.kind}`;
    return result(`dry-run: ${would}`, action.kind === "none" || action.kind === "backoff" ? action.exitCode : 0, action.reason);
  }

  /** The renewCommand, then (`thenDeploy`) a deploy of what it renewed, if the listener does not present it yet. */
  async function renew(thenDeploy: boolean): Promise<RunResult> {
    const argv = deps.runPolicy.renewCommand!;
    log("info", `running renewCommand ${argv.join(" ")}: ${action.reason}`);
    const ran = await deps.runner(argv[0]!, argv.slice(1), { timeoutMs: deps.renewTimeoutMs });
    const failure = ran.spawnError
      ? `renewCommand could not start: ${ran.spawnError}`
      : ran.timedOut
        ? `renewCommand did not finish within ${deps.renewTimeoutMs} ms`
        : ran.exitCode !== 0
          ? `renewCommand ${describeExit(ran)}${ran.stderr.trim() ? `: ${ran.stderr.trim().split("\n")[0]}` : ""}`
          : null;
    const after = failure ? null : await inspectAndAssess(deps);
    if (after && after.assessment.status !== "OK" && thenDeploy) {
      const deployed = await deployNewer();
      if ("done" in deployed) return deployed.done;
    }
    if (after && after.assessment.status === "OK") {
      deps.backoffStore.writeBackoff(NO_BACKOFF);
      log("info", `renewCommand renewed the certificate: ${after.assessment.reason}`);
      return result("renewed", 0, after.assessment.reason, { certNotAfter: after.assessment.configured?.notAfter ?? null });
    }
    const reason = failure ?? `renewCommand succeeded but the listener is still ${after!.assessment.status}: ${after!.assessment.reason}`;
    const next = recordFailure(backoff, ctx.now(), reason);
    deps.backoffStore.writeBackoff(next);
    log("error", `${reason}; next attempt not before ${next.nextAttemptAt}`);
    return result("renew-failed", assessment.health === "warn" ? 1 : 2, reason);
  }

  switch (action.kind) {
    case "none": {
      const level = action.exitCode === 0 ? "info" : action.exitCode === 1 ? "warn" : "error";
      log(level, `${assessment.status}: ${action.reason}`);
      if (action.exitCode === 0 && (backoff.failures > 0 || backoff.unfixed)) deps.backoffStore.writeBackoff(NO_BACKOFF);
      return result("nothing", action.exitCode, action.reason);
    }
    case "backoff":
      log("error", `${assessment.status}: ${action.reason}`);
      return result("backoff", 2, action.reason);
    case "rotate": {
      log("info", `rotating: ${action.reason}`);
      const rotation = await rotate(ctx, rotationSettings, { dryRun: false });
      if (rotation.outcome === "rotated") {
        // The rotation verified the new certificate on the wire; the problem that triggered it must be gone too.
        const after = await inspectAndAssess(deps);
        const still = after.assessment.problems.find((p) => p.code === action.problem);
        if (still) {
          const reason = `rotated (${rotation.newThumbprint}), but "${action.problem}" is still there: ${still.reason}`;
          const next = recordFailure(backoff, ctx.now(), reason, action.problem);
          deps.backoffStore.writeBackoff(next);
          log("error", `${reason}; rdpcert will not rotate again for it`);
          return result("not-fixed", 2, reason, { rotation });
        }
        deps.backoffStore.writeBackoff(NO_BACKOFF);
        return result(rotation.outcome, 0, rotation.reason, { rotation, certNotAfter: after.assessment.configured?.notAfter ?? null });
      }
      if (rotation.outcome === "not-needed") {
        deps.backoffStore.writeBackoff(NO_BACKOFF);
        return result(rotation.outcome, 0, rotation.reason, { rotation });
      }
      if (rotation.outcome === "busy") {
        log("warn", rotation.reason);
        return result("busy", assessment.health === "warn" ? 1 : 2, rotation.reason, { rotation });
      }
      if (rotation.outcome === "refused") {
        log("error", `${assessment.status}: rotation refused: ${rotation.reason}`);
        return result("refused", 2, rotation.reason, { rotation });
      }
      const next = recordFailure(backoff, ctx.now(), rotation.reason);
      deps.backoffStore.writeBackoff(next);
      log("error", `rotation ${rotation.outcome}: ${rotation.reason}; next attempt not before ${next.nextAttemptAt}`);
      return result(rotation.outcome, 2, rotation.reason, { rotation });
    }
    case "deploy": {
      const deployed = await deployNewer();
      if ("done" in deployed) return deployed.done;
      if (!deps.runPolicy.renewCommand) {
        log(action.exitCode === 1 ? "warn" : "error", `${assessment.status}: ${action.reason}; ${deployed.none}`);
        return result("no-newer-certificate", action.exitCode, `${action.reason}; ${deployed.none}`);
      }
      log("info", `${deployed.none}: running renewCommand`);
      return renew(true);
    }
    case "renew-command":
      return renew(false);
  }
}
