import { Gauge, Registry } from "prom-client";
import type { Verdict } from "../core/assess";
import type { Assessment } from "../core/assess";
import type { CertificateInfo } from "../core/certificate";
import type { Policy } from "../core/policy";
import type { ProbeResult } from "../core/probe-result";

/** Every verdict `rdpcert status` can give; each is a series, 1 for the one that holds. */
export const VERDICTS: readonly Verdict[] = ["OK", "WARN", "EXPIRED", "NOT-YET-VALID", "CORRUPT", "MISMATCH", "DOWNGRADED", "DOWN", "UNKNOWN"];

/**
 * A state set `NAME{status}` for every verdict: 1 for `status`, 0 for the rest
 * (alerts need no absent(); all 0 when there is no verdict). Not an `_info`
 * series: those are always 1.
 */
export function verdictGauge(registry: Registry, name: string, status: Verdict | null): void {
  const set = new Gauge({
    name,
    help: "rdpcert's verdict on this host's RDP listener: 1 for the one that holds, 0 for the others",
    labelNames: ["status"],
    registers: [registry],
  });
  for (const v of VERDICTS) set.set({ status: v }, v === status ? 1 : 0);
}

/** The labels of a certificate `_info` series (value 1). */
export function certificateLabels(cert: CertificateInfo): Record<string, string> {
  return { subject: cert.subject, issuer: cert.issuer, thumbprint_sha1: cert.thumbprint, sha256: cert.sha256 };
}

/** What the local status learned (app/status.ts StatusReport), as far as metrics need it. */
export interface LocalStatus {
  readonly assessment: Assessment;
  readonly presented: ProbeResult | null;
  readonly now: Date;
  readonly policy: Policy;
}

/** What the last `rdpcert run` recorded about writing its textfile (null: no record, e.g. no textfileDir or the state dir is unreadable). */
export interface TextfileRecord {
  readonly at: Date;
  /** The errno code of the failed write (EACCES, ENOENT, ...); null when it was written. */
  readonly error: string | null;
}

/**
 * This host's status (`GET /probe?module=local`), one prefix: `rdpcert_local_`.
 * The verdict, every problem by code, the configured certificate, and whether
 * the listener presents it. What the listener presents on the wire is the
 * `/probe` source's (`rdp_*`): not repeated here, so that no host has the same
 * name from two sources.
 */
export function localRegistry(report: LocalStatus, textfile: TextfileRecord | null = null): Registry {
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: readonly string[] = []): Gauge<string> => new Gauge({ name, help, labelNames, registers: [registry] });
  const { assessment } = report;
  verdictGauge(registry, "rdpcert_local_status", assessment.status);
  const problems = gauge("rdpcert_local_problem_info", "Each problem rdpcert status found, by its stable code (status --json problems[].code); always 1", [
    "code",
    "verdict",
  ]);
  for (const p of assessment.problems) problems.set({ code: p.code, verdict: p.verdict }, 1);
  gauge("rdpcert_local_problems", "How many problems rdpcert status found").set(assessment.problems.length);
  if (assessment.configured) {
    gauge("rdpcert_local_cert_not_after_seconds", "notAfter of the configured certificate, in seconds since the Unix epoch").set(
      assessment.configured.notAfter.getTime() / 1000,
    );
    gauge("rdpcert_local_cert_info", "The configured certificate; always 1", ["subject", "issuer", "thumbprint_sha1", "sha256"]).set(
      certificateLabels(assessment.configured),
      1,
    );
  }
  if (assessment.renewalTime) {
    gauge("rdpcert_local_renewal_timestamp_seconds", "When the self-signed configured certificate is due for renewal, in seconds since the Unix epoch").set(
      assessment.renewalTime.getTime() / 1000,
    );
  }
  if (assessment.configured && assessment.presented) {
    gauge("rdpcert_local_presented_matches_configured", "1 when the listener presents the configured certificate, else 0").set(
      assessment.configured.thumbprint === assessment.presented.thumbprint ? 1 : 0,
    );
  }
  if (textfile) {
    gauge("rdpcert_local_textfile_write_success", "1 when the last rdpcert run wrote its textfile (rdpcert.prom), 0 when it could not").set(
      textfile.error === null ? 1 : 0,
    );
    gauge("rdpcert_local_textfile_write_timestamp_seconds", "When the last rdpcert run tried to write its textfile, in seconds since the Unix epoch").set(
      textfile.at.getTime() / 1000,
    );
  }
  return registry;
}
