import { Gauge, Registry } from "prom-client";
import { type Health } from "../core/validity";
import { assessProbe } from "../core/probe-verdict";
import type { ProbeResult } from "../probe/prober";
import { PROTOCOL_HYBRID, PROTOCOL_HYBRID_EX, PROTOCOL_RDSTLS, PROTOCOL_SSL } from "../probe/negotiation";

/**
 * Metrics for one probed listener, blackbox_exporter style: a fresh registry per
 * scrape, base units in the names (seconds), labels only on `_info` series
 * (value 1) so that a changing certificate never changes the identity of the
 * numeric series.
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

const seconds = (date: Date): number => date.getTime() / 1000;

const HEALTHS: readonly Health[] = ["ok", "warn", "critical", "unknown"];

/** Adds the rdp_* series of `result` to `registry`; `prefix` is "rdp" for probes. */
export function addProbeMetrics(registry: Registry, result: ProbeResult, options: ProbeMetricsOptions): void {
  const gauge = (name: string, help: string, labelNames: readonly string[] = []): Gauge<string> =>
    new Gauge({ name, help, labelNames, registers: [registry] });

  const ok = result.error === null && result.certificate !== null;
  gauge("rdp_probe_success", "1 when the listener negotiated TLS and presented a parseable certificate, else 0").set(ok ? 1 : 0);

  const duration = gauge("rdp_probe_duration_seconds", "Time spent in each phase of the probe; phase=\"total\" is the whole probe", ["phase"]);
  const t = result.timings;
  for (const [phase, ms] of [["connect", t.connectMs], ["negotiation", t.negotiationMs], ["tls", t.tlsMs], ["total", t.totalMs]] as const) {
    if (ms !== null) duration.set({ phase }, ms / 1000);
  }

  const confirm = result.confirm;
  if (confirm) {
    const info = gauge("rdp_negotiation_info", "The X.224 Connection Confirm: response (negotiation-response, negotiation-failure, legacy) and the selected protocol", ["selected_protocol", "response"]);
    if (confirm.type === "response") info.set({ selected_protocol: protocolName(confirm.selectedProtocol), response: "negotiation-response" }, 1);
    else if (confirm.type === "failure") info.set({ selected_protocol: "", response: "negotiation-failure" }, 1);
    else info.set({ selected_protocol: "rdp", response: "legacy" }, 1);
    if (confirm.type === "failure") gauge("rdp_negotiation_failure_code", "RDP_NEG_FAILURE failureCode the listener answered with").set(confirm.failureCode);
  }

  if (result.tls) gauge("rdp_tls_info", "TLS version and cipher the handshake agreed on", ["version", "cipher"]).set({ version: result.tls.version, cipher: result.tls.cipher }, 1);

  const cert = result.certificate;
  if (cert) {
    gauge("rdp_cert_not_after_seconds", "notAfter of the presented certificate, in seconds since the Unix epoch").set(seconds(cert.notAfter));
    gauge("rdp_cert_not_before_seconds", "notBefore of the presented certificate, in seconds since the Unix epoch").set(seconds(cert.notBefore));
    gauge("rdp_cert_info", "The presented certificate", ["subject", "issuer", "thumbprint_sha1", "sha256", "self_signed", "key_type", "key_bits"]).set(
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

  if (result.error) gauge("rdp_probe_error_info", "Why the probe failed (the kinds of rdpcert probe --json)", ["kind"]).set({ kind: result.error.kind }, 1);

  const verdict = assessProbe(result, options.now, options.warnDays);
  const health = gauge("rdp_probe_health_info", "rdpcert probe's verdict with warn_days: ok, warn or critical (1 for the one that holds)", ["health"]);
  for (const h of HEALTHS) if (h !== "unknown") health.set({ health: h }, h === verdict.health ? 1 : 0);
  gauge("rdp_probe_warn_days", "The warn_days the verdict used").set(options.warnDays);
}

export function probeRegistry(result: ProbeResult, options: ProbeMetricsOptions): Registry {
  const registry = new Registry();
  addProbeMetrics(registry, result, options);
  return registry;
}
