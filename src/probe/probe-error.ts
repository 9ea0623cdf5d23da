import { negotiationFailureMeanings, negotiationFailureNames } from "./negotiation";

/** Where a probe was when it stopped. */
export type ProbePhase = "resolve" | "connect" | "negotiation" | "tls";

/**
 * The typed failures of one probe. `kind` is stable (it is in the JSON schema);
 * `message` is one line for people.
 */
export type ProbeError =
  | { readonly kind: "resolve-failed"; readonly message: string }
  /** The name did not resolve within its own deadline (half of the probe's): a DNS server that does not answer. */
  | { readonly kind: "resolve-timeout"; readonly message: string }
  | { readonly kind: "connect-refused"; readonly message: string }
  | { readonly kind: "connect-timeout"; readonly message: string }
  | { readonly kind: "connect-failed"; readonly message: string; readonly code: string }
  | { readonly kind: "negotiation-failure"; readonly message: string; readonly failureCode: number; readonly failureName: string }
  | { readonly kind: "rdp-security-only"; readonly message: string }
  | { readonly kind: "tls-handshake-failed"; readonly message: string; readonly reason: string }
  | { readonly kind: "timeout"; readonly message: string; readonly phase: ProbePhase }
  | { readonly kind: "protocol-error"; readonly message: string };

export type ProbeErrorKind = ProbeError["kind"];

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
