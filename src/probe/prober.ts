import type * as Dns from "node:dns";
import { monotonicMs } from "../core/monotonic";
import * as net from "node:net";
import * as tls from "node:tls";
import { type CertificateInfo, describeCertificate, thumbprintOf } from "../core/certificate";
import type { ProbeResult } from "../core/probe-result";
import type { Target } from "../core/target";
import type { ConnectionConfirm } from "../core/probe-result";
import { MAX_CONFIRM_LENGTH, PROTOCOL_HYBRID, PROTOCOL_SSL, checkSelectedProtocol, decodeConnectionConfirm, encodeConnectionRequest } from "./negotiation";
import { type ProbeError, type ProbePhase, negotiationFailure, rdpSecurityOnly, timeoutIn } from "./probe-error";

export interface ProbeOptions {
  /** Deadline for the whole probe; every phase must finish inside it. */
  readonly timeoutMs: number;
  /** RDP_NEG_REQ requestedProtocols; SSL | HYBRID by default. */
  readonly requestedProtocols?: number;
  /** Also collect the certificates the listener sent after its own (deploy checks that the chain is served). */
  readonly withChain?: boolean;
  /**
   * Learn the listener's NLA policy (ProbeResult.nlaPolicy): after CredSSP was selected, one
   * negotiation-only connection offering TLS alone. Default true; false: one connection only.
   */
  readonly nlaPolicy?: boolean;
  /**
   * An offer without CredSSP answered HYBRID_REQUIRED_BY_SERVER (gnome-remote-desktop, Windows
   * with NLA required) is the server's policy: offer CredSSP again and read the certificate
   * (the TLS handshake precedes CredSSP). Default true; false: report the refusal as it came
   * (doctor's "TLS only" row).
   */
  readonly reofferHybrid?: boolean;
}

export type { ProbeResult, ProbeTimings } from "../core/probe-result";

/** The prober port: the status command and tests can swap the implementation. */
export type Prober = (target: Target, options: ProbeOptions) => Promise<ProbeResult>;

export const DEFAULT_REQUESTED_PROTOCOLS = PROTOCOL_SSL | PROTOCOL_HYBRID;

const round = (ms: number): number => Math.round(ms * 100) / 100;

/**
 * Connects, sends the X.224 Connection Request, decodes the Connection Confirm
 * and, when TLS (or CredSSP, which starts with TLS) was selected, completes the
 * TLS handshake on the same socket without verifying the chain. Never rejects:
 * every failure becomes a typed ProbeError within `timeoutMs`.
 */
/**
 * The certificates the peer sent, leaf first. Node links the sent certificates
 * through issuerCertificate; a self-signed one links to itself, which ends the walk.
 */
function sentChain(socket: tls.TLSSocket): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate;
  while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    out.push(cert.raw);
    cert = cert.issuerCertificate;
  }
  return out;
}

export const HYBRID_REQUIRED_BY_SERVER = 5;

/**
 * One probe, as the server's policy needs it (issue 24): a TLS-only offer refused with
 * HYBRID_REQUIRED_BY_SERVER is offered CredSSP again on a new connection, within the same
 * deadline, and the result carries `nlaPolicy: "required"`; a CredSSP selection is followed by
 * a negotiation-only TLS offer that tells "required" from "optional". What the policy step
 * sees never makes the probe fail.
 */
export const probe: Prober = async (target, options) => {
  const started = monotonicMs();
  const requested = options.requestedProtocols ?? DEFAULT_REQUESTED_PROTOCOLS;
  const first = await probeOnce(target, options, null);
  const confirm = first.confirm;
  const left = (): number => Math.floor(options.timeoutMs - (monotonicMs() - started));
  if (confirm?.type === "failure" && confirm.failureCode === HYBRID_REQUIRED_BY_SERVER && (requested & PROTOCOL_HYBRID) === 0) {
    if (options.reofferHybrid === false) return { ...first, nlaPolicy: "required" };
    if (left() <= 0 || first.address === null) return { ...first, nlaPolicy: "required" };
    const again = await probeOnce(target, { ...options, timeoutMs: left(), requestedProtocols: requested | PROTOCOL_HYBRID }, first.address);
    return { ...again, nlaPolicy: "required", timings: { ...again.timings, totalMs: round(monotonicMs() - started) } };
  }
  if (confirm?.type === "response" && confirm.selectedProtocol === PROTOCOL_SSL) return { ...first, nlaPolicy: "optional" };
  if (
    confirm?.type === "response" &&
    confirm.selectedProtocol === PROTOCOL_HYBRID &&
    (requested & PROTOCOL_SSL) !== 0 &&
    first.error === null &&
    options.nlaPolicy !== false &&
    first.address !== null &&
    left() > 0
  ) {
    const policy = await negotiateOnly(first.address, target.port, PROTOCOL_SSL, left());
    const nlaPolicy =
      policy?.type === "failure" && policy.failureCode === HYBRID_REQUIRED_BY_SERVER
        ? "required"
        : policy?.type === "response" && policy.selectedProtocol === PROTOCOL_SSL
          ? "optional"
          : null;
    return { ...first, nlaPolicy, timings: { ...first.timings, totalMs: round(monotonicMs() - started) } };
  }
  return first;
};

/**
 * The Connection Confirm to `requestedProtocols` on a new connection to `address`, nothing
 * more (the socket closes after it); null when none came within `timeoutMs`.
 */
export function negotiateOnly(address: string, port: number, requestedProtocols: number, timeoutMs: number): Promise<ConnectionConfirm | null> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    const socket = net.connect({ host: address, port });
    const done = (confirm: ConnectionConfirm | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(confirm);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.setNoDelay(true);
    socket.once("connect", () => socket.write(encodeConnectionRequest({ requestedProtocols })));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]).subarray(0, MAX_CONFIRM_LENGTH + 1);
      const decoded = decodeConnectionConfirm(received);
      if (decoded.kind === "incomplete") return;
      done(decoded.kind === "confirm" ? decoded.confirm : null);
    });
    socket.on("error", () => done(null));
    socket.once("close", () => done(null));
  });
}

/** One connection: negotiation with the offer of `options`, then TLS when it was selected. `connectTo`: an address already resolved. */
function probeOnce(target: Target, options: ProbeOptions, connectTo: string | null): Promise<ProbeResult> {
  const requestedProtocols = options.requestedProtocols ?? DEFAULT_REQUESTED_PROTOCOLS;
  return new Promise<ProbeResult>((resolve) => {
    const started = monotonicMs();
    let phase: ProbePhase = "connect";
    let phaseStarted = started;
    let connectMs: number | null = null;
    let negotiationMs: number | null = null;
    let tlsMs: number | null = null;
    let address: string | null = null;
    let confirm: ConnectionConfirm | null = null;
    let tlsInfo: ProbeResult["tls"] = null;
    let certificate: CertificateInfo | null = null;
    let certificateDer: Buffer | null = null;
    let chain: Buffer[] | undefined;
    let tlsSocket: tls.TLSSocket | undefined;
    let done = false;

    const finish = (error: ProbeError | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(resolveTimer);
      tlsSocket?.destroy();
      socket.destroy();
      resolve({
        target,
        address,
        requestedProtocols,
        confirm,
        tls: tlsInfo,
        certificate,
        certificateDer,
        ...(chain ? { chain } : {}),
        timings: { connectMs, negotiationMs, tlsMs, totalMs: round(monotonicMs() - started) },
        error,
      });
    };
    const enter = (next: ProbePhase): number => {
      const now = monotonicMs();
      const elapsed = round(now - phaseStarted);
      phase = next;
      phaseStarted = now;
      return elapsed;
    };

    const timer = setTimeout(() => finish(timeoutIn(phase, options.timeoutMs)), options.timeoutMs);
    // eslint-disable-next-line prefer-const -- set only when there is a name to resolve; finish() clears it either way
    let resolveTimer: NodeJS.Timeout | undefined;
    // Connected below, after the name (if any) resolved within its own deadline.
    const socket = new net.Socket();
    socket.setNoDelay(true);

    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      const all = Buffer.concat([received, chunk]);
      // Keep at most one byte more than a Connection Confirm can have: enough to tell "too long".
      received = all.subarray(0, MAX_CONFIRM_LENGTH + 1);
      const decoded = decodeConnectionConfirm(received);
      if (decoded.kind === "incomplete") return;
      if (decoded.kind === "malformed") return finish({ kind: "protocol-error", message: decoded.reason });
      socket.off("data", onData);
      socket.pause();
      // Bytes the listener sent after its Confirm (xrdp's disconnect when it cannot load its certificate)
      // go to the TLS handshake, as when they arrive in a later read: the verdict does not depend on how
      // the network cut the stream (a client sees a failed TLS handshake either way).
      if (all.length > decoded.length) socket.unshift(all.subarray(decoded.length));
      confirm = decoded.confirm;
      negotiationMs = enter("tls");
      onConfirm(decoded.confirm);
    };

    const onConfirm = (confirmed: ConnectionConfirm): void => {
      if (confirmed.type === "legacy") return finish(rdpSecurityOnly("the Connection Confirm carries no negotiation response"));
      if (confirmed.type === "failure") return finish(negotiationFailure(confirmed.failureCode));
      const selected = checkSelectedProtocol(confirmed.selectedProtocol, requestedProtocols);
      if (selected.kind === "rdp") return finish(rdpSecurityOnly("the listener selected standard RDP security (0)"));
      if (selected.kind === "invalid") return finish({ kind: "protocol-error", message: selected.reason });
      tlsSocket = tls.connect({
        socket,
        rejectUnauthorized: false,
        servername: net.isIP(target.host) ? undefined : target.host,
        secureContext: probeSecureContext(),
      });
      tlsSocket.once("secureConnect", () => {
        tlsMs = enter("tls");
        const secured = tlsSocket!;
        const cipher = secured.getCipher();
        tlsInfo = { version: secured.getProtocol() ?? "unknown", cipher: cipher.standardName ?? cipher.name };
        // First: on a client, Node's getPeerX509Certificate takes the leaf off OpenSSL's peer chain.
        if (options.withChain) chain = sentChain(secured);
        const peer = secured.getPeerX509Certificate();
        if (!peer)
          return finish({
            kind: "tls-handshake-failed",
            reason: "no certificate",
            message: "TLS handshake completed but the listener presented no certificate",
          });
        // Every read of peer.raw copies the DER out of OpenSSL: once is enough.
        const der = peer.raw;
        certificateDer = der;
        try {
          certificate = describeCertificate(der, peer);
        } catch (error) {
          return finish({
            kind: "protocol-error",
            message: `the presented certificate (SHA-1 ${thumbprintOf(der)}) does not parse: ${(error as Error).message}`,
          });
        }
        finish(null);
      });
      tlsSocket.on("error", (error) => finish(tlsFailure(error)));
      tlsSocket.once("close", () => finish(tlsFailure(new Error("connection closed"))));
    };

    socket.once("connect", () => {
      address = socket.remoteAddress ?? null;
      connectMs = enter("negotiation");
      socket.on("data", onData);
      socket.write(encodeConnectionRequest({ requestedProtocols }));
    });
    socket.on("error", (error: NodeJS.ErrnoException) => finish(socketFailure(phase, error, received.length)));
    socket.once("close", () => {
      if (phase === "negotiation") finish(closedDuringNegotiation(received.length));
    });

    if (connectTo !== null || net.isIP(target.host) !== 0) {
      socket.connect({ host: connectTo ?? target.host, port: target.port });
      return;
    }
    // Resolution has its own deadline inside the probe's: a DNS
    // server that never answers is `resolve-timeout`, and leaves half the budget.
    phase = "resolve";
    const resolveMs = resolveDeadline(options.timeoutMs);
    boundSystemResolver(resolveMs);
    resolveTimer = setTimeout(() => finish(resolveTimeout(resolveMs)), resolveMs);
    // node:dns only when a name needs it: an address (the common monitoring case) starts faster without it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require("node:dns") as typeof Dns).lookup(target.host, (error, resolved) => {
      clearTimeout(resolveTimer);
      if (done) return;
      if (error) return finish(resolveFailure(error));
      phase = "connect";
      socket.connect({ host: resolved, port: target.port });
    });
  });
}

let sharedSecureContext: tls.SecureContext | undefined;

/**
 * One client context for every probe: building one per connection (what
 * tls.connect does without it) cost 0.2 ms of CPU per listener in a fleet scan.
 * Reports what old listeners (TLS 1.0, SHA-1, small keys) present rather than
 * refusing them; verifies nothing (rejectUnauthorized: false).
 */
function probeSecureContext(): tls.SecureContext {
  sharedSecureContext ??= tls.createSecureContext({ minVersion: "TLSv1", ciphers: "DEFAULT:@SECLEVEL=0" });
  return sharedSecureContext;
}

/** Half of the probe's deadline, so that connect, negotiation and TLS keep the other half. */
export function resolveDeadline(timeoutMs: number): number {
  return Math.max(1, Math.floor(timeoutMs / 2));
}

export function resolveTimeout(ms: number, share = "half of --timeout"): ProbeError {
  return {
    kind: "resolve-timeout",
    message: `name resolution did not answer within ${ms} ms (${share}): check the DNS servers (/etc/resolv.conf), or probe the IP address`,
  };
}

export function resolveFailure(error: NodeJS.ErrnoException): ProbeError {
  const code = error.code ?? "";
  if (code === "ENOTFOUND" || code === "EAI_NONAME" || code === "EAI_NODATA") return { kind: "resolve-failed", message: `name does not resolve (${code})` };
  return { kind: "resolve-failed", message: `name resolution failed (${code || error.message})` };
}

let systemResolverBound = false;

/**
 * A lookup past our deadline still runs in a libuv thread, and the process exit
 * waits for it (libuv joins its threads): glibc's default of 5 s per server and
 * try turned a 2 s deadline into 40 s. Tell the system resolver about the
 * deadline through RES_OPTIONS (resolv.conf(5); read when a thread first
 * resolves), once per process, before the first lookup; other systems ignore it.
 */
export function boundSystemResolver(deadlineMs: number): void {
  if (systemResolverBound) return;
  systemResolverBound = true;
  const seconds = Math.min(30, Math.ceil(deadlineMs / 1000) + 1);
  process.env.RES_OPTIONS = `${process.env.RES_OPTIONS ?? ""} timeout:${seconds} attempts:1`.trim();
}

function socketFailure(phase: ProbePhase, error: NodeJS.ErrnoException, receivedBytes: number): ProbeError {
  const code = error.code ?? "";
  if (phase === "tls") return tlsFailure(error);
  if (phase === "negotiation") {
    if (code === "ECONNRESET")
      return { kind: "protocol-error", message: `the listener reset the connection during negotiation (after ${receivedBytes} bytes)` };
    return { kind: "protocol-error", message: `socket error during negotiation: ${code || error.message}` };
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") {
    return { kind: "resolve-failed", message: `name does not resolve (${code})` };
  }
  if (code === "ECONNREFUSED") return { kind: "connect-refused", message: "connection refused (listener down or port closed)" };
  if (code === "ETIMEDOUT") return { kind: "connect-timeout", message: "TCP connect timed out (filtered, or host down)" };
  return { kind: "connect-failed", code, message: `TCP connect failed: ${code || error.message}` };
}

function closedDuringNegotiation(receivedBytes: number): ProbeError {
  if (receivedBytes === 0) return { kind: "protocol-error", message: "the listener closed the connection without answering the Connection Request" };
  return { kind: "protocol-error", message: `the listener closed the connection after ${receivedBytes} bytes of the Connection Confirm` };
}

/** One line naming the TLS alert or reason; OpenSSL messages carry file paths and newlines. */
export function tlsFailure(error: NodeJS.ErrnoException & { reason?: string }): ProbeError {
  let reason: string;
  if (error.reason) reason = error.reason;
  else if (error.code === "ECONNRESET" || /socket disconnected|connection closed/i.test(error.message))
    reason = "the listener closed the connection during the TLS handshake";
  else reason = (error.message.split("\n")[0] ?? "unknown").trim();
  return { kind: "tls-handshake-failed", reason, message: `TLS handshake failed: ${reason}` };
}

/** The result of a probe that stopped before it connected: the name did not resolve (or not in time). */
export function unresolvedResult(target: Target, error: ProbeError, totalMs: number, requestedProtocols = DEFAULT_REQUESTED_PROTOCOLS): ProbeResult {
  return {
    target,
    address: null,
    requestedProtocols,
    confirm: null,
    tls: null,
    certificate: null,
    certificateDer: null,
    timings: { connectMs: null, negotiationMs: null, tlsMs: null, totalMs: round(totalMs) },
    error,
  };
}
