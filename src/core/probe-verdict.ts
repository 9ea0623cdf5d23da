import type { ProbeError } from "./probe-result";
import { type CertificateInfo, DAY_MS } from "./certificate";
import { type Health, describeValidity, validityAt, validityHealth } from "./validity";

export interface ProbeVerdict {
  readonly health: Health;
  readonly reason: string;
}

/**
 * Health of one probed listener: any typed failure is CRITICAL (clients cannot
 * complete TLS); otherwise the presented certificate's validity decides.
 */
export function assessProbe(
  outcome: { readonly error: ProbeError | null; readonly certificate: CertificateInfo | null },
  now: Date,
  warnDays: number,
  /** `--critical-days`: expiring within this many days is CRITICAL (monitoring plugins' second threshold); 0: only once expired. */
  criticalDays = 0,
): ProbeVerdict {
  if (outcome.error) return { health: "critical", reason: outcome.error.message };
  if (!outcome.certificate) return { health: "critical", reason: "no certificate was presented" };
  const validity = validityAt(outcome.certificate, now, warnDays);
  const health = validityHealth(validity);
  if (health === "warn" && criticalDays > 0 && outcome.certificate.notAfter.getTime() - now.getTime() < criticalDays * DAY_MS) {
    return { health: "critical", reason: `${describeValidity(validity)} (within --critical-days ${criticalDays})` };
  }
  return { health, reason: describeValidity(validity) };
}
