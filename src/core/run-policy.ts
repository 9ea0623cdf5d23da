import type { Issuance } from "./inspection";
import type { Assessment, Verdict } from "./assess";
import { replacementVerdict } from "./replacement-rule";
import { daysLeft } from "./validity";

/**
 * What one scheduled `rdpcert run` does, decided from the verdict, the policy
 * and the remembered failures. Pure, so a simulated year of daily runs is a
 * plain loop in the tests.
 */
export interface RunPolicy {
  readonly autoRepair: boolean;
  readonly criticalDays: number;
  readonly renewCommand: readonly string[] | null;
  /** A place to find a newer CA-issued certificate (xrdp: deploySource; Windows: LocalMachine\My). */
  readonly canDeploy?: boolean;
}

/** Failures remembered in the state dir, so a broken host is not hammered. */
export interface Backoff {
  readonly failures: number;
  readonly lastFailureAt: string | null;
  readonly nextAttemptAt: string | null;
  readonly lastReason: string | null;
  /**
   * A problem a verified rotation did not make go away: later passes do not
   * rotate again for it (never twice for the same problem).
   */
  readonly unfixed?: { readonly code: string; readonly at: string } | null;
}

export const NO_BACKOFF: Backoff = { failures: 0, lastFailureAt: null, nextAttemptAt: null, lastReason: null, unfixed: null };

const HOUR_MS = 3_600_000;
/** The longest wait between attempts. */
export const MAX_BACKOFF_MS = 24 * HOUR_MS;

/** 1 h after the first failure, doubling, capped at 24 h. */
export function backoffDelayMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(HOUR_MS * 2 ** (failures - 1), MAX_BACKOFF_MS);
}

export function recordFailure(previous: Backoff, now: Date, reason: string, unfixedCode: string | null = null): Backoff {
  const failures = previous.failures + 1;
  return {
    failures,
    lastFailureAt: now.toISOString(),
    nextAttemptAt: new Date(now.getTime() + backoffDelayMs(failures)).toISOString(),
    lastReason: reason,
    unfixed: unfixedCode ? { code: unfixedCode, at: now.toISOString() } : (previous.unfixed ?? null),
  };
}

/**
 * The next attempt, unless it lies further ahead than the longest backoff:
 * then it was written under a wrong clock (a jump forward and back) and is
 * ignored rather than blocking retries for months.
 */
export function pendingBackoff(backoff: Backoff, now: Date): string | null {
  if (!backoff.nextAttemptAt) return null;
  const wait = Date.parse(backoff.nextAttemptAt) - now.getTime();
  return wait > 0 && wait <= MAX_BACKOFF_MS ? backoff.nextAttemptAt : null;
}

/** What the pass knows beyond the verdict. */
export interface RunFacts {
  /** The configured certificate is one rdpcert issued (its history says so): a not-yet-valid one is then rdpcert's own clock mistake to repair. */
  readonly issuedByRdpcert?: boolean;
}

export type RunAction =
  | { readonly kind: "none"; readonly exitCode: 0 | 1 | 2 | 3; readonly reason: string }
  /** `problem`: the code of the problem the rotation must make go away (re-assessed afterwards). */
  | { readonly kind: "rotate"; readonly reason: string; readonly problem: string }
  | { readonly kind: "renew-command"; readonly reason: string }
  /** Deploy a newer certificate for the same names if one is there; else the renewCommand, if any. */
  | {
      readonly kind: "deploy";
      readonly reason: string;
      /** When nothing newer is found and no renewCommand is set: 1, or 2 within criticalDays. */ readonly exitCode: 1 | 2;
    }
  | { readonly kind: "backoff"; readonly exitCode: 2; readonly reason: string; readonly until: string };

export function decideRun(assessment: Assessment, issuance: Issuance | null, policy: RunPolicy, backoff: Backoff, now: Date, facts: RunFacts = {}): RunAction {
  const status = assessment.status;
  if (status === "OK") return { kind: "none", exitCode: 0, reason: assessment.reason };
  if (status === "UNKNOWN") return { kind: "none", exitCode: 3, reason: assessment.reason };
  const verdict = replacementVerdict(assessment, { issuance, issuedByRdpcert: facts.issuedByRdpcert === true });
  const problems = verdict.problems;
  if (verdict.kind === "blocked") {
    const blocking = verdict.problem;
    const why =
      blocking.verdict === "DOWN"
        ? "a new certificate cannot help"
        : blocking.verdict === "NOT-YET-VALID"
          ? "check the clock before replacing anything"
          : "a new certificate does not fix this";
    return { kind: "none", exitCode: 2, reason: `${blocking.reason}: ${why}${blocking.fix ? `; fix: ${blocking.fix}` : ""}` };
  }

  let action: RunAction;
  if (issuance === "ca-issued") {
    const cert = assessment.configured;
    const left = cert ? daysLeft(cert.notAfter, now) : -1;
    if ((status === "WARN" || status === "EXPIRED") && policy.canDeploy) {
      action = { kind: "deploy", reason: `CA-issued certificate: ${assessment.reason}`, exitCode: status !== "WARN" || left <= policy.criticalDays ? 2 : 1 };
    } else if ((status === "WARN" || status === "EXPIRED") && policy.renewCommand) {
      action = { kind: "renew-command", reason: `CA-issued certificate: ${assessment.reason}` };
    } else {
      const critical = status !== "WARN" || left <= policy.criticalDays;
      return {
        kind: "none",
        exitCode: critical ? 2 : 1,
        reason: `CA-issued certificate (never deleted by rdpcert): ${assessment.reason}${policy.renewCommand || policy.canDeploy ? "" : "; no renewCommand or deploySource is configured"}`,
      };
    }
  } else {
    // Self-signed, or unknown because the certificate itself is missing or broken: regenerating is the repair.
    if (verdict.kind !== "replace")
      return {
        kind: "none",
        exitCode: assessment.health === "warn" ? 1 : 2,
        reason: `${assessment.reason}${assessment.fix ? `; fix: ${assessment.fix}` : ""}`,
      };
    const trigger = verdict.trigger;
    const repair = trigger.verdict !== "WARN" && trigger.verdict !== "EXPIRED";
    if (repair && !policy.autoRepair) return { kind: "none", exitCode: 2, reason: `${trigger.reason} (autoRepair is off)` };
    if (backoff.unfixed && problems.some((p) => p.fixedByReplacement && p.code === backoff.unfixed!.code)) {
      return {
        kind: "none",
        exitCode: 2,
        reason: `${trigger.reason}; a verified rotation on ${backoff.unfixed.at.slice(0, 10)} did not make "${backoff.unfixed.code}" go away, so rdpcert does not rotate again for it${trigger.fix ? `; fix: ${trigger.fix}` : ""}`,
      };
    }
    action = { kind: "rotate", reason: `${trigger.verdict}: ${trigger.reason}`, problem: trigger.code };
  }
  const until = pendingBackoff(backoff, now);
  if (until) {
    return {
      kind: "backoff",
      exitCode: 2,
      until,
      reason: `${assessment.reason}; not retrying before ${until} after ${backoff.failures} failed attempt${backoff.failures === 1 ? "" : "s"} (last: ${backoff.lastReason ?? "unknown"})`,
    };
  }
  return action;
}

/**
 * What one `run` pass ended with, in plain values: what the textfile metrics
 * render and the JSON report starts from (the app's RunResult adds the
 * rotation's and the recovery's details).
 */
export interface PassSummary {
  readonly action: RunAction["kind"];
  /** What happened: nothing, rotated, rolled-back, renewed, renew-failed, backoff, ... */
  readonly outcome: string;
  readonly exitCode: number;
  readonly reason: string;
  readonly status: Verdict;
  readonly backoff: Backoff;
  /** notAfter of the configured certificate at the end of the pass (after a rotation or renewal: the new one). */
  readonly certNotAfter: Date | null;
}
