import type { CertificateInfo } from "./certificate";
import type { Target } from "./target";

/**
 * What one probe of a listener saw on the wire, as the domain judges it
 * (core/assess, core/probe-verdict, core/diagnosis). src/probe produces these;
 * core owns them, so nothing in core imports from the layers above it.
 */

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
  | { readonly kind: "protocol-error"; readonly message: string }
  /** A line of a targets file that names no listener: that line's error, the other lines are probed. */
  | { readonly kind: "bad-target"; readonly message: string };

export type ProbeErrorKind = ProbeError["kind"];

/** MS-RDPBCGR 2.2.1.2: the X.224 Connection Confirm's negotiation data, decoded by probe/negotiation.ts. */
export type ConnectionConfirm =
  | { readonly type: "response"; readonly selectedProtocol: number; readonly flags: number }
  | { readonly type: "failure"; readonly failureCode: number; readonly flags: number }
  /** No negotiation data after the X.224 header: an old server, standard RDP security only. */
  | { readonly type: "legacy" };

export interface ProbeTimings {
  readonly connectMs: number | null;
  readonly negotiationMs: number | null;
  readonly tlsMs: number | null;
  readonly totalMs: number;
}

/** What one listener presented, or how far the probe got before a typed error. */
export interface ProbeResult {
  readonly target: Target;
  /** Remote address the TCP connection reached; null when it never connected. */
  readonly address: string | null;
  readonly requestedProtocols: number;
  readonly confirm: ConnectionConfirm | null;
  readonly tls: { readonly version: string; readonly cipher: string } | null;
  readonly certificate: CertificateInfo | null;
  readonly certificateDer: Buffer | null;
  /** Only when asked (ProbeOptions.withChain): every certificate the listener sent, leaf first. */
  readonly chain?: readonly Buffer[];
  readonly timings: ProbeTimings;
  readonly error: ProbeError | null;
  /**
   * The listener's NLA (CredSSP) policy as the negotiation showed it (issue 24): "required" when
   * it answered a TLS-only offer with RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER (then the
   * certificate was read by offering CredSSP again: the TLS handshake precedes CredSSP);
   * "optional" when it selected TLS without CredSSP; null or absent: not learned.
   */
  readonly nlaPolicy?: NlaPolicy | null;
}

export type NlaPolicy = "required" | "optional";
