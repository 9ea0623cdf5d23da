import type { Issuance } from "../hosts/host-backend";
import type { Assessment } from "./assess";
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
}

/** Failures remembered in the state dir, so a broken host is not hammered. */
export interface Backoff {
  readonly failures: number;
  readonly lastFailureAt: string | null;
  readonly nextAttemptAt: string | null;
  readonly lastReason: string | null;
}

export const NO_BACKOFF: Backoff = { failures: 0, lastFailureAt: null, nextAttemptAt: null, lastReason: null };

const HOUR_MS = 3_600_000;

/** 1 h after the first failure, doubling, capped at 24 h. */
export function backoffDelayMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(HOUR_MS * 2 ** (failures - 1), 24 * HOUR_MS);
}

export function recordFailure(previous: Backoff, now: Date, reason: string): Backoff {
  const failures = previous.failures + 1;
  return { failures, lastFailureAt: now.toISOString(), nextAttemptAt: new Date(now.getTime() + backoffDelayMs(failures)).toISOString(), lastReason: reason };
}

export type RunAction =
  | { readonly kind: "none"; readonly exitCode: 0 | 1 | 2 | 3; readonly reason: string }
  | { readonly kind: "rotate"; readonly reason: string }
  | { readonly kind: "renew-command"; readonly reason: string }
  | { readonly kind: "backoff"; readonly exitCode: 2; readonly reason: string; readonly until: string };

const ROTATABLE = new Set(["WARN", "EXPIRED", "CORRUPT", "MISMATCH", "DOWNGRADED"]);

export function decideRun(assessment: Assessment, issuance: Issuance | null, policy: RunPolicy, backoff: Backoff, now: Date): RunAction {
  const status = assessment.status;
  if (status === "OK") return { kind: "none", exitCode: 0, reason: assessment.reason };
  if (status === "UNKNOWN") return { kind: "none", exitCode: 3, reason: assessment.reason };
  if (status === "DOWN") return { kind: "none", exitCode: 2, reason: `${assessment.reason}: a new certificate cannot help` };
  if (status === "NOT-YET-VALID") return { kind: "none", exitCode: 2, reason: `${assessment.reason}: check the clock before replacing anything` };

  let action: RunAction;
  if (issuance === "ca-issued") {
    const cert = assessment.configured;
    const left = cert ? daysLeft(cert.notAfter, now) : -1;
    if ((status === "WARN" || status === "EXPIRED") && policy.renewCommand) {
      action = { kind: "renew-command", reason: `CA-issued certificate: ${assessment.reason}` };
    } else {
      const critical = status !== "WARN" || left <= policy.criticalDays;
      return {
        kind: "none",
        exitCode: critical ? 2 : 1,
        reason: `CA-issued certificate (never deleted by rdpcert): ${assessment.reason}${policy.renewCommand ? "" : "; no renewCommand is configured"}`,
      };
    }
  } else {
    // Self-signed, or unknown because the certificate itself is missing or broken: regenerating is the repair.
    const repair = status !== "WARN" && status !== "EXPIRED";
    if (!ROTATABLE.has(status) || (repair && !policy.autoRepair)) {
      return { kind: "none", exitCode: status === "WARN" ? 1 : 2, reason: `${assessment.reason}${repair ? " (autoRepair is off)" : ""}` };
    }
    action = { kind: "rotate", reason: `${status}: ${assessment.reason}` };
  }
  if (backoff.nextAttemptAt && now.getTime() < Date.parse(backoff.nextAttemptAt)) {
    return {
      kind: "backoff",
      exitCode: 2,
      until: backoff.nextAttemptAt,
      reason: `${assessment.reason}; not retrying before ${backoff.nextAttemptAt} after ${backoff.failures} failed attempt${backoff.failures === 1 ? "" : "s"} (last: ${backoff.lastReason ?? "unknown"})`,
    };
  }
  return action;
}
