import type { CertificateInfo } from "../../core/certificate";
import { daysLeft } from "../../core/validity";
import type { HostInspection } from "../../hosts/host-backend";
import { protocolName } from "../../probe/negotiation";
import type { StatusReport } from "../../app/status";
import { healthLabel } from "./probe-text";

const LABEL = 13;
const COLUMN = 44;

function sideBySide(label: string, configured: string, presented: string): string {
  return `${label.padEnd(LABEL)}${configured.padEnd(COLUMN)} ${presented}`.trimEnd() + "\n";
}

function validityText(cert: CertificateInfo, now: Date): string {
  const left = daysLeft(cert.notAfter, now);
  return `${cert.notAfter.toISOString().slice(0, 10)} (${left < 0 ? `expired ${-left}d ago` : `${left} days left`})`;
}

function keyText(cert: CertificateInfo): string {
  const k = cert.publicKey;
  return `${k.type}${k.bits ? ` ${k.bits}` : ""}${k.curve ? ` ${k.curve}` : ""}`;
}

function configuredState(inspection: HostInspection): string {
  const c = inspection.certificate;
  return c.state === "present" ? c.location : `${c.state}: ${c.location}`;
}

/** One screen: the verdict first, then configured vs presented side by side, then findings with fixes. */
export function renderStatusText(report: StatusReport): string {
  const { assessment: a, outcome, presented, now } = report;
  // CRITICAL names its cause (CORRUPT, DOWN, ...); OK, WARNING and UNKNOWN need no second word.
  const cause = a.health === "critical" ? `  ${a.status}` : "";
  let out = report.recovered ? `recovered: ${report.recovered.outcome}: ${report.recovered.reason}\n` : "";
  out += `${healthLabel[a.health]}${cause}  ${a.reason}\n`;
  if (a.fix) out += `  fix: ${a.fix}\n`;
  if (!outcome.ok) return out;
  const inspection = outcome.inspection;
  const l = inspection.listener;
  out += `\n${inspection.backend} listener port ${l.port}${l.address ? ` on ${l.address}` : " on all addresses"}, security layer ${l.securityLayer}${l.nla === null ? "" : `, NLA ${l.nla ? "required" : "off"}`}  (${inspection.source})\n`;
  if (inspection.server) out += `served by: ${inspection.server.detail}\n`;
  out += "\n";

  const c = a.configured;
  const p = presented?.certificate ?? null;
  const probed = presented ? `presented on ${presented.target.input}` : "presented (not probed)";
  out += sideBySide("", "configured", probed);
  out += sideBySide("location", configuredState(inspection), presented?.error ? `error: ${presented.error.kind}` : p ? "on the wire" : "-");
  out += sideBySide("subject", c?.subject ?? "-", p?.subject ?? "-");
  out += sideBySide("issuer", c ? (c.selfSigned ? "(self-signed)" : `${c.issuer} (CA-issued)`) : "-", p ? (p.selfSigned ? "(self-signed)" : p.issuer) : "-");
  const same = c && p ? (c.thumbprint === p.thumbprint ? "  (same)" : "  (DIFFERENT)") : "";
  out += sideBySide("thumbprint", c?.thumbprint ?? inspection.configuredThumbprint ?? "-", p ? `${p.thumbprint}${same}` : "-");
  out += sideBySide("valid until", c ? validityText(c, now) : "-", p ? validityText(p, now) : "-");
  if (a.renewalTime) out += sideBySide("renew after", a.renewalTime.toISOString().slice(0, 10), "");
  const keyState = inspection.key.state === "ok" ? "key ok" : `key ${inspection.key.state}`;
  out += sideBySide("key", c ? `${keyText(c)}, ${keyState}` : keyState, p ? keyText(p) : "-");
  const confirm = presented?.confirm;
  const proto =
    confirm?.type === "response"
      ? `${protocolName(confirm.selectedProtocol)}${presented?.tls ? ` ${presented.tls.version}` : ""}`
      : confirm?.type === "failure"
        ? `RDP_NEG_FAILURE ${confirm.failureCode}`
        : "-";
  out += sideBySide("protocol", "", proto);
  if (presented?.nlaPolicy)
    out += sideBySide("nla", "", presented.nlaPolicy === "required" ? "NLA required by the server (its policy, not a fault)" : "optional");
  if (report.staged) {
    const s = report.staged;
    out += `\nstaged next pair (rotate --stage; not served yet): SHA-1 ${s.sha1}\n  SHA-256 ${s.sha256}, valid until ${s.notAfter.slice(0, 10)}\n`;
    out += `  activation: ${s.activateAt ? `rdpcert run on ${s.activateAt.slice(0, 10)} (stageDays; earlier only if the current certificate would expire within criticalDays), or rdpcert rotate --activate` : "rdpcert rotate --activate (stageDays is not set)"}\n`;
    if (s.bundle) out += `  pin bundle: ${s.bundle}\n`;
  }

  const lines: string[] = [];
  for (const problem of a.problems) {
    lines.push(`  ${problem.verdict.padEnd(13)} ${problem.reason}`);
    if (problem.fix) lines.push(`  ${"".padEnd(13)} fix: ${problem.fix}`);
  }
  for (const finding of inspection.findings) {
    lines.push(`  ${finding.severity.toUpperCase().padEnd(13)} ${finding.message}`);
    if (finding.fix) lines.push(`  ${"".padEnd(13)} fix: ${finding.fix}`);
  }
  for (const what of a.unchecked) lines.push(`  ${"NOT CHECKED".padEnd(13)} ${what}`);
  if (lines.length) out += `\nFindings:\n${lines.join("\n")}\n`;
  return out;
}
