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

function resultBlock(result: ProbeResult, health: Health, reason: string, now: Date): string {
  return `${formatEndpoint(result.target.host, result.target.port)}  ${healthLabel[health]}  ${reason}\n${presentedRows(result, now)}`;
}

/** The probe's details, one row each: shared by probe and status. */
export function presentedRows(result: ProbeResult, now: Date): string {
  let out = "";
  if (result.error) out += row("error", result.error.kind);
  if (result.confirm?.type === "response") {
    const tls = result.tls ? `   ${result.tls.version} ${result.tls.cipher}` : "";
    out += row("protocol", `${protocolName(result.confirm.selectedProtocol)} (offered ${protocolNames(result.requestedProtocols).join(", ")})${tls}`);
  }
  if (result.certificate) out += certificateRows(result.certificate, now);
  const t = result.timings;
  out += row("timings", `connect ${ms(t.connectMs)}, negotiation ${ms(t.negotiationMs)}, tls ${ms(t.tlsMs)}, total ${ms(t.totalMs)}`);
  return out;
}

export function renderProbeText(report: ProbeReport): string {
  const blocks = report.results.map((result, i) => resultBlock(result, report.verdicts[i]!.health, report.verdicts[i]!.reason, report.now));
  const counts = new Map<Health, number>();
  for (const v of report.verdicts) counts.set(v.health, (counts.get(v.health) ?? 0) + 1);
  const summary = (["ok", "warn", "critical"] as const)
    .filter((h) => counts.get(h))
    .map((h) => `${counts.get(h)} ${healthLabel[h]}`)
    .join(", ");
  const n = report.results.length;
  return `${blocks.join("\n")}\n${n} target${n === 1 ? "" : "s"}: ${summary}\n`;
}
