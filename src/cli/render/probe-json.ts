import type { ProbeReport as AppProbeReport } from "../../app/probe";
import type { CertificateInfo } from "../../core/certificate";
import type { ProbeVerdict } from "../../core/probe-verdict";
import { formatEndpoint } from "../../core/target";
import { daysLeft } from "../../core/validity";
import { protocolName, protocolNames } from "../../probe/negotiation";
import { jsonText } from "../../core/terminal-safe";
import type { ProbeResult } from "../../probe/prober";

export const PROBE_SCHEMA = "rdpcert.probe/v1";

/** The probe use case's report (app/probe.ts) with the exit code it maps to. */
export type ProbeReport = AppProbeReport & { readonly exitCode: number };

/** The JSON form of a certificate, shared by every report that shows one (docs/json-schemas.md). */
export function certificateJson(cert: CertificateInfo, now: Date) {
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    subjectAltNames: cert.subjectAltNames,
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    daysLeft: daysLeft(cert.notAfter, now),
    thumbprint: cert.thumbprint,
    sha256: cert.sha256,
    selfSigned: cert.selfSigned,
    publicKey: cert.publicKey,
    signatureAlgorithm: cert.signatureAlgorithm,
    extendedKeyUsage: cert.extendedKeyUsage,
    keyUsage: cert.keyUsage,
  };
}

/** What a listener presented on the wire: shared by probe and status reports. */
export function presentedJson(result: ProbeResult, now: Date) {
  const confirm = result.confirm;
  return {
    address: result.address,
    error: result.error,
    negotiation: confirm && {
      requestedProtocols: protocolNames(result.requestedProtocols),
      response: confirm.type,
      selectedProtocol: confirm.type === "response" ? protocolName(confirm.selectedProtocol) : null,
      failureCode: confirm.type === "failure" ? confirm.failureCode : null,
    },
    nlaPolicy: result.nlaPolicy ?? null,
    tls: result.tls,
    certificate: result.certificate && certificateJson(result.certificate, now),
    timings: result.timings,
  };
}

export function probeResultJson(result: ProbeResult, verdict: ProbeVerdict, now: Date) {
  const { address, ...presented } = presentedJson(result, now);
  return {
    target: result.target.input,
    host: result.target.host,
    port: result.target.port,
    endpoint: formatEndpoint(result.target.host, result.target.port),
    address,
    status: verdict.health,
    reason: verdict.reason,
    ...presented,
  };
}

export function probeReportJson(report: ProbeReport) {
  return {
    schema: PROBE_SCHEMA,
    generatedAt: report.now.toISOString(),
    warnDays: report.warnDays,
    criticalDays: report.criticalDays,
    status: report.health,
    exitCode: report.exitCode,
    results: report.results.map((result, i) => probeResultJson(result, report.verdicts[i]!, report.now)),
  };
}

const RESULTS_KEY = '"results": [';

/**
 * Writes `jsonText({ ...probeReportJson(report), notes }, 2)` and a newline, the
 * same bytes, in pieces of about 64 KB, waiting for each to be taken (a pipe's
 * reader may be slower than the rendering): a fleet's report (10,000 listeners,
 * 14 MB of JSON) is never one string, one object tree nor one write queue in
 * memory at once.
 */
export async function writeProbeReportJson(report: ProbeReport, write: (text: string) => Promise<void>): Promise<void> {
  const skeleton = jsonText({ ...probeReportJson({ ...report, results: [] }), notes: report.notes }, 2);
  const at = skeleton.indexOf(RESULTS_KEY);
  if (report.results.length === 0 || at < 0) return write(`${skeleton}\n`);
  let pending = `${skeleton.slice(0, at + RESULTS_KEY.length)}\n`;
  for (let i = 0; i < report.results.length; i++) {
    // Inside the report each result sits two levels deep: four more spaces on every line.
    pending += `    ${jsonText(probeResultJson(report.results[i]!, report.verdicts[i]!, report.now), 2).replace(/\n/g, "\n    ")}${i < report.results.length - 1 ? ",\n" : "\n"}`;
    if (pending.length >= 65_536) {
      await write(pending);
      pending = "";
    }
  }
  await write(`${pending}  ]${skeleton.slice(at + RESULTS_KEY.length + 1)}\n`);
}
