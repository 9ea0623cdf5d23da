import { X509Certificate } from "node:crypto";
import { Gauge, Registry } from "prom-client";
import { type Health } from "../core/validity";
import { assessProbe } from "../core/probe-verdict";
import type { ProbeResult } from "../probe/prober";
import { PROTOCOL_HYBRID, PROTOCOL_HYBRID_EX, PROTOCOL_RDSTLS, PROTOCOL_SSL } from "../probe/negotiation";

/**
 * Metrics for one probed listener (`GET /probe?target=`), blackbox_exporter
 * style: a fresh registry per scrape, base units in the names (seconds), labels
 * that change with the certificate only on `_info` series (always 1) so that a
 * new certificate never changes the identity of the numeric series.
 *
 * One prefix for this source: `rdp_`. Beside them, blackbox_exporter's own
 * names with blackbox's meaning (`probe_success`, `probe_duration_seconds`,
 * `probe_ssl_earliest_cert_expiry`, `probe_tls_version_info`), so the stock
 * certificate alerts a fleet already runs work for RDP listeners unchanged.
 */
export interface ProbeMetricsOptions {
  readonly now: Date;
  readonly warnDays: number;
}

/** RDP_NEG_RSP selectedProtocol as a label value ([MS-RDPBCGR] 2.2.1.2.1). */
export function protocolName(selected: number): string {
  if (selected === 0) return "rdp";
  if (selected === PROTOCOL_SSL) return "ssl";
  if (selected === PROTOCOL_HYBRID) return "hybrid";
  if (selected === PROTOCOL_RDSTLS) return "rdstls";
  if (selected === PROTOCOL_HYBRID_EX) return "hybrid_ex";
  return `0x${selected.toString(16)}`;
}

/** Node's TLSSocket.getProtocol() ("TLSv1.3") as blackbox_exporter names it ("TLS 1.3", Go's tls.VersionName). */
export function blackboxTlsVersion(version: string): string {
  const match = /^TLSv(1(?:\.[0-3])?)$/.exec(version);
  if (!match) return version;
  return `TLS ${match[1] === "1" ? "1.0" : match[1]}`;
}

const seconds = (date: Date): number => date.getTime() / 1000;

/**
 * notAfter of the certificates after the leaf, by their exact DER: a fleet
 * sends the same few intermediates on every scrape, and parsing one costs
 * more than the rest of the metrics. Bounded; NaN for one that does not parse.
 */
const intermediateNotAfter = new Map<string, number>();
const INTERMEDIATE_CACHE_LIMIT = 256;

function notAfterOf(der: Buffer): number {
  const key = der.toString("latin1");
  let notAfter = intermediateNotAfter.get(key);
  if (notAfter === undefined) {
    try {
      notAfter = Date.parse(new X509Certificate(der).validTo);
    } catch {
      notAfter = Number.NaN;
    }
    if (intermediateNotAfter.size >= INTERMEDIATE_CACHE_LIMIT) intermediateNotAfter.clear();
    intermediateNotAfter.set(key, notAfter);
  }
  return notAfter;
}

/** The earliest notAfter among the certificates the listener sent (blackbox: every peer certificate); the leaf's when the chain is unknown. */
export function earliestExpiry(result: ProbeResult): Date | null {
  const leaf = result.certificate?.notAfter ?? null;
  if (leaf === null || !result.chain || result.chain.length < 2) return leaf;
  let earliest = leaf.getTime();
  for (let i = 1; i < result.chain.length; i++) {
    // An intermediate that does not parse has no expiry to report.
    const notAfter = notAfterOf(result.chain[i]!);
    if (notAfter < earliest) earliest = notAfter;
  }
  return new Date(earliest);
}

const HEALTHS: readonly Exclude<Health, "unknown">[] = ["ok", "warn", "critical"];

/** Adds the rdp_* (and blackbox probe_*) series of `result` to `registry`. */
export function addProbeMetrics(registry: Registry, result: ProbeResult, options: ProbeMetricsOptions): void {
  const gauge = (name: string, help: string, labelNames: readonly string[] = []): Gauge<string> => new Gauge({ name, help, labelNames, registers: [registry] });

  const ok = result.error === null && result.certificate !== null;
  gauge("rdp_probe_success", "1 when the listener negotiated TLS and presented a parseable certificate, else 0").set(ok ? 1 : 0);

  const duration = gauge("rdp_probe_duration_seconds", 'Time spent in each phase of the probe; phase="total" is the whole probe', ["phase"]);
  const t = result.timings;
  for (const [phase, ms] of [
    ["connect", t.connectMs],
    ["negotiation", t.negotiationMs],
    ["tls", t.tlsMs],
    ["total", t.totalMs],
  ] as const) {
    if (ms !== null) duration.set({ phase }, ms / 1000);
  }

  const confirm = result.confirm;
  if (confirm) {
    const info = gauge(
      "rdp_negotiation_info",
      "The X.224 Connection Confirm: response (negotiation-response, negotiation-failure, legacy) and the selected protocol; always 1",
      ["selected_protocol", "response"],
    );
    if (confirm.type === "response") info.set({ selected_protocol: protocolName(confirm.selectedProtocol), response: "negotiation-response" }, 1);
    else if (confirm.type === "failure") info.set({ selected_protocol: "", response: "negotiation-failure" }, 1);
    else info.set({ selected_protocol: "rdp", response: "legacy" }, 1);
    if (confirm.type === "failure") gauge("rdp_negotiation_failure_code", "RDP_NEG_FAILURE failureCode the listener answered with").set(confirm.failureCode);
  }

  if (result.nlaPolicy)
    gauge(
      "rdp_nla_required",
      "1 when the listener requires NLA (it answers a TLS-only offer with HYBRID_REQUIRED_BY_SERVER), 0 when it also accepts TLS alone; absent when not learned",
    ).set(result.nlaPolicy === "required" ? 1 : 0);

  if (result.tls)
    gauge("rdp_tls_info", "TLS version and cipher the handshake agreed on; always 1", ["version", "cipher"]).set(
      { version: result.tls.version, cipher: result.tls.cipher },
      1,
    );

  const cert = result.certificate;
  if (cert) {
    gauge("rdp_cert_not_after_seconds", "notAfter of the presented certificate, in seconds since the Unix epoch").set(seconds(cert.notAfter));
    gauge("rdp_cert_not_before_seconds", "notBefore of the presented certificate, in seconds since the Unix epoch").set(seconds(cert.notBefore));
    gauge("rdp_cert_info", "The presented certificate; always 1", [
      "subject",
      "issuer",
      "thumbprint_sha1",
      "sha256",
      "self_signed",
      "key_type",
      "key_bits",
    ]).set(
      {
        subject: cert.subject,
        issuer: cert.issuer,
        thumbprint_sha1: cert.thumbprint,
        sha256: cert.sha256,
        self_signed: String(cert.selfSigned),
        key_type: cert.publicKey.type,
        key_bits: cert.publicKey.bits === null ? "" : String(cert.publicKey.bits),
      },
      1,
    );
  }

  if (result.error)
    gauge("rdp_probe_error_info", "Why the probe failed (the kinds of rdpcert probe --json); always 1", ["kind"]).set({ kind: result.error.kind }, 1);

  // A state set: one series per health, 1 for the one that holds (alerts need no absent()).
  const verdict = assessProbe(result, options.now, options.warnDays);
  const health = gauge(
    "rdp_probe_health",
    "rdpcert probe's verdict with the warn threshold: ok, warn or critical, 1 for the one that holds, 0 for the others",
    ["health"],
  );
  for (const h of HEALTHS) health.set({ health: h }, h === verdict.health ? 1 : 0);
  gauge("rdp_probe_warn_seconds", "The warn threshold the verdict used (warn_days), in seconds").set(options.warnDays * 86400);

  // blackbox_exporter's names and meaning (prober/tcp.go, prober/tls.go).
  gauge("probe_success", "blackbox_exporter's meaning: 1 when the probe succeeded (here: TLS negotiated over RDP and a certificate presented)").set(ok ? 1 : 0);
  gauge("probe_duration_seconds", "blackbox_exporter's meaning: how long the probe took to complete, in seconds").set(t.totalMs / 1000);
  const earliest = earliestExpiry(result);
  if (earliest)
    gauge(
      "probe_ssl_earliest_cert_expiry",
      "blackbox_exporter's meaning: the earliest notAfter among the certificates the listener sent, in seconds since the Unix epoch",
    ).set(seconds(earliest));
  if (result.tls)
    gauge("probe_tls_version_info", "blackbox_exporter's meaning: the TLS version used; always 1", ["version"]).set(
      { version: blackboxTlsVersion(result.tls.version) },
      1,
    );
}

export function probeRegistry(result: ProbeResult, options: ProbeMetricsOptions): Registry {
  const registry = new Registry();
  addProbeMetrics(registry, result, options);
  return registry;
}
