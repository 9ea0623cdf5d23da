import { Gauge, Registry } from "prom-client";
import type { Verdict } from "../core/assess";
import type { Assessment } from "../core/assess";
import type { Policy } from "../core/policy";
import type { ProbeResult } from "../core/probe-result";
import { addProbeMetrics } from "./probe-metrics";

/** Every verdict `rdpcert status` can give; each is a series, 1 for the one that holds. */
export const VERDICTS: readonly Verdict[] = ["OK", "WARN", "EXPIRED", "NOT-YET-VALID", "CORRUPT", "MISMATCH", "DOWNGRADED", "DOWN", "UNKNOWN"];

/** Sets rdpcert_verdict_info{status} for every verdict: 1 for `status`, 0 for the rest (alerts need no absent()). */
export function verdictGauge(registry: Registry, status: Verdict | null): void {
  const info = new Gauge({ name: "rdpcert_verdict_info", help: "rdpcert's verdict on this host's RDP listener: 1 for the one that holds", labelNames: ["status"], registers: [registry] });
  for (const v of VERDICTS) info.set({ status: v }, v === status ? 1 : 0);
}

/**
 * This host's status (`GET /probe?module=local`): the verdict, every problem
 * by code, the configured certificate's validity, and the rdp_* series of what
 * the listener presented.
 */
/** What the local status learned (app/status.ts StatusReport), as far as metrics need it. */
export interface LocalStatus {
  readonly assessment: Assessment;
  readonly presented: ProbeResult | null;
  readonly now: Date;
  readonly policy: Policy;
}

export function localRegistry(report: LocalStatus): Registry {
  const registry = new Registry();
  const { assessment } = report;
  verdictGauge(registry, assessment.status);
  const problems = new Gauge({ name: "rdpcert_problem_info", help: "Each problem rdpcert status found, by its stable code (status --json problems[].code)", labelNames: ["code", "verdict"], registers: [registry] });
  for (const p of assessment.problems) problems.set({ code: p.code, verdict: p.verdict }, 1);
  new Gauge({ name: "rdpcert_problems", help: "How many problems rdpcert status found", registers: [registry] }).set(assessment.problems.length);
  if (assessment.configured) {
    new Gauge({ name: "rdpcert_cert_not_after_seconds", help: "notAfter of the configured certificate, in seconds since the Unix epoch", registers: [registry] }).set(assessment.configured.notAfter.getTime() / 1000);
  }
  if (assessment.renewalTime) {
    new Gauge({ name: "rdpcert_renewal_time_seconds", help: "When the self-signed configured certificate is due for renewal, in seconds since the Unix epoch", registers: [registry] }).set(assessment.renewalTime.getTime() / 1000);
  }
  if (assessment.configured && assessment.presented) {
    new Gauge({ name: "rdpcert_presented_matches_configured", help: "1 when the listener presents the configured certificate, else 0", registers: [registry] }).set(
      assessment.configured.thumbprint === assessment.presented.thumbprint ? 1 : 0,
    );
  }
  if (report.presented) addProbeMetrics(registry, report.presented, { now: report.now, warnDays: report.policy.warnDays });
  else new Gauge({ name: "rdp_probe_success", help: "1 when the listener negotiated TLS and presented a parseable certificate, else 0", registers: [registry] }).set(0);
  return registry;
}
