import type { StatusReport } from "../../app/status";
import { certificateJson, presentedJson } from "./probe-json";

export const STATUS_SCHEMA = "rdpcert.status/v1";

/** The documented `rdpcert status --json` report (docs/json-schemas.md). */
export function statusReportJson(report: StatusReport) {
  const { assessment, outcome, now } = report;
  const inspection = outcome.ok ? outcome.inspection : null;
  const certificate = inspection?.certificate;
  return {
    schema: STATUS_SCHEMA,
    generatedAt: now.toISOString(),
    backend: report.backend,
    source: inspection?.source ?? null,
    status: assessment.status,
    health: assessment.health,
    exitCode: report.exitCode,
    reason: assessment.reason,
    fix: assessment.fix,
    problems: assessment.problems,
    unchecked: assessment.unchecked,
    policy: report.policy,
    listener: inspection && {
      ...inspection.listener,
      probed: report.presented ? report.presented.target.input : null,
    },
    configured: inspection && {
      location: certificate!.location,
      state: certificate!.state,
      reason: certificate!.state === "present" ? null : certificate!.reason,
      issuance: inspection.issuance,
      configuredThumbprint: inspection.configuredThumbprint,
      key: { state: inspection.key.state, location: inspection.key.location, reason: inspection.key.reason },
      /** Whose file access was judged: the listening process, or the unit (a prediction). */
      server: inspection.server ?? null,
      certificate: assessment.configured && certificateJson(assessment.configured, now),
      renewalTime: assessment.renewalTime?.toISOString() ?? null,
    },
    presented: report.presented && presentedJson(report.presented, now),
    findings: inspection?.findings ?? [],
    recovered: report.recovered,
    staged: report.staged ?? null,
  };
}
