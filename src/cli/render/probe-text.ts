import type { CertificateInfo } from "../../core/certificate";
import { formatEndpoint } from "../../core/target";
import { type Health, daysLeft } from "../../core/validity";
import { protocolName, protocolNames } from "../../probe/negotiation";
import type { ProbeResult } from "../../probe/prober";
import type { ProbeReport } from "./probe-json";

export const healthLabel: Readonly<Record<Health, string>> = { ok: "OK", warn: "WARNING", critical: "CRITICAL", unknown: "UNKNOWN" };

const row = (label: string, value: string): string => `  ${label.padEnd(11)}${value}\n`;
const ms = (value: number | null): string => (value === null ? "-" : `${value.toFixed(1)} ms`);

export function certificateRows(cert: CertificateInfo, now: Date): string {
  const ekus = cert.extendedKeyUsage.length ? cert.extendedKeyUsage.join(", ") : "none";
  const key = `${cert.publicKey.type}${cert.publicKey.bits ? ` ${cert.publicKey.bits}` : ""}${cert.publicKey.curve ? ` (${cert.publicKey.curve})` : ""}`;
  return (
    row("subject", cert.subject || "(empty)") +
    row("issuer", `${cert.issuer || "(empty)"}${cert.selfSigned ? "  (self-signed)" : ""}`) +
    (cert.subjectAltNames.length ? row("SANs", cert.subjectAltNames.join(", ")) : "") +
    row("valid", `${cert.notBefore.toISOString()} .. ${cert.notAfter.toISOString()} (${daysLeft(cert.notAfter, now)} days left)`) +
    row("thumbprint", `${cert.thumbprint} (SHA-1)`) +
    row("sha256", cert.sha256) +
    row("key", `${key}, ${cert.signatureAlgorithm}, EKU ${ekus}`)
  );
}

export function resultBlock(result: ProbeResult, health: Health, reason: string, now: Date): string {
  const where = result.error?.kind === "bad-target" ? result.target.input : formatEndpoint(result.target.host, result.target.port);
  return `${where}  ${healthLabel[health]}  ${reason}\n${presentedRows(result, now)}`;
}

/** The probe's details, one row each: shared by probe and status. */
export function presentedRows(result: ProbeResult, now: Date): string {
  let out = "";
  if (result.error) out += row("error", result.error.kind);
  if (result.confirm?.type === "response") {
    const tls = result.tls ? `   ${result.tls.version} ${result.tls.cipher}` : "";
    out += row("protocol", `${protocolName(result.confirm.selectedProtocol)} (offered ${protocolNames(result.requestedProtocols).join(", ")})${tls}`);
  }
  if (result.nlaPolicy) out += row("nla", nlaPolicyText(result.nlaPolicy));
  if (result.certificate) out += certificateRows(result.certificate, now);
  const t = result.timings;
  out += row("timings", `connect ${ms(t.connectMs)}, negotiation ${ms(t.negotiationMs)}, tls ${ms(t.tlsMs)}, total ${ms(t.totalMs)}`);
  return out;
}

/** The listener's NLA policy in words (issue 24): the server's choice, never a fault. */
export function nlaPolicyText(policy: "required" | "optional"): string {
  return policy === "required"
    ? "NLA required by the server (it refuses a TLS-only offer with HYBRID_REQUIRED_BY_SERVER; its policy, not a fault)"
    : "NLA optional (the server also accepts TLS without CredSSP)";
}

/** "a OK, b WARNING, c CRITICAL" over the verdicts so far. */
export function countsText(verdicts: readonly { readonly health: Health }[]): string {
  const counts = new Map<Health, number>();
  for (const v of verdicts) counts.set(v.health, (counts.get(v.health) ?? 0) + 1);
  return (["ok", "warn", "critical", "unknown"] as const)
    .filter((h) => counts.get(h))
    .map((h) => `${counts.get(h)} ${healthLabel[h]}`)
    .join(", ");
}

/** A performance-data label: the host (and the port when it is not 3389), without the quote and `=` the format reserves. */
function perfLabel(result: ProbeResult): string {
  const where =
    result.error?.kind === "bad-target"
      ? result.target.input
      : result.target.port === 3389
        ? result.target.host
        : formatEndpoint(result.target.host, result.target.port);
  return `'${where.replace(/['=]/g, "_")}_days'`;
}

/**
 * The monitoring plugins' first line (Nagios/Icinga plugin guidelines): the overall state
 * and the counts, then ` | ` and one performance value per target, days left with the
 * thresholds as ranges (`30:` = warn below 30 days; `U` = no certificate seen).
 */
export function monitoringLine(report: ProbeReport): string {
  const n = report.results.length;
  const perf = report.results.map(
    (result) =>
      `${perfLabel(result)}=${result.certificate ? daysLeft(result.certificate.notAfter, report.now) : "U"};${report.warnDays}:;${report.criticalDays}:`,
  );
  return `RDPCERT ${healthLabel[report.health]} - ${n} target${n === 1 ? "" : "s"}: ${countsText(report.verdicts)} | ${perf.join(" ")}\n`;
}

/** Not a terminal (a monitoring system, a pipe): the overall line first, then each target (only those not OK with `problemsOnly`). */
export function renderProbeText(report: ProbeReport, options: { readonly problemsOnly?: boolean } = {}): string {
  const blocks = report.results.flatMap((result, i) =>
    options.problemsOnly && report.verdicts[i]!.health === "ok"
      ? []
      : [resultBlock(result, report.verdicts[i]!.health, report.verdicts[i]!.reason, report.now)],
  );
  return `${monitoringLine(report)}${blocks.length ? `\n${blocks.join("\n")}` : ""}`;
}
