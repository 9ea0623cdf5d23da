import { negotiationFailureMeanings, negotiationFailureNames } from "./negotiation";

import type { ProbeError, ProbePhase } from "../core/probe-result";
export type { ProbeError, ProbeErrorKind, ProbePhase } from "../core/probe-result";

export function negotiationFailure(failureCode: number): ProbeError {
  const failureName = negotiationFailureNames[failureCode] ?? `UNKNOWN_FAILURE_${failureCode}`;
  const meaning = negotiationFailureMeanings[failureCode] ?? "the listener refused the negotiation";
  return { kind: "negotiation-failure", failureCode, failureName, message: `negotiation failure ${failureName} (${failureCode}): ${meaning}` };
}

export function rdpSecurityOnly(how: string): ProbeError {
  return { kind: "rdp-security-only", message: `standard RDP security only (TLS not offered): ${how}` };
}

export function timeoutIn(phase: ProbePhase, ms: number): ProbeError {
  if (phase === "connect") return { kind: "connect-timeout", message: `TCP connect timed out after ${ms} ms (filtered, or host down)` };
  const what = phase === "negotiation" ? "waiting for the X.224 Connection Confirm" : phase === "tls" ? "during the TLS handshake" : "resolving the name";
  return { kind: "timeout", phase, message: `timed out after ${ms} ms ${what}` };
}
