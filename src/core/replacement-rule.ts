import { type Assessment, type Problem, healthOf } from "./assess";
import type { Issuance } from "./inspection";

/**
 * The one rule for "may we replace this certificate?", used by `run`'s policy
 * (core/run-policy.ts) and by `rotate` (rotation/). Pure, on plain values: the
 * assessment (what is configured and presented, judged under the policy), who
 * issued the configured certificate, and whether rdpcert's own history says it
 * made it.
 */
export interface CertificateOrigin {
  /** The configured certificate's issuance, as the inspection read it; null when it could not be inspected. */
  readonly issuance: Issuance | null;
  /** rdpcert's history shows a rotation that ended presenting this certificate. */
  readonly issuedByRdpcert: boolean;
}

export type ReplacementVerdict =
  /** A new certificate fixes `trigger` (the first such problem), and nothing critical stands in the way. */
  | { readonly kind: "replace"; readonly trigger: Problem; readonly problems: readonly Problem[] }
  /** A critical problem a new certificate does not fix: replacing would only add risk. */
  | { readonly kind: "blocked"; readonly problem: Problem; readonly problems: readonly Problem[] }
  /** Healthy: nothing to fix. */
  | { readonly kind: "healthy"; readonly problems: readonly Problem[] }
  /** Not healthy, but no problem is one a new certificate fixes. */
  | { readonly kind: "not-fixed-by-replacement"; readonly problems: readonly Problem[] };

/**
 * A self-signed certificate rdpcert issued itself that is not valid yet was
 * made under a wrong clock: rdpcert's own mistake, which a new certificate
 * repairs. Anyone else's not-yet-valid certificate says "check the clock".
 */
export function fixedByReplacement(problem: Problem, origin: CertificateOrigin): boolean {
  return problem.fixedByReplacement || (problem.code === "not-yet-valid" && origin.issuedByRdpcert && origin.issuance === "self-signed");
}

export function replacementVerdict(assessment: Assessment, origin: CertificateOrigin): ReplacementVerdict {
  const problems = assessment.problems.map((p) => (!p.fixedByReplacement && fixedByReplacement(p, origin) ? { ...p, fixedByReplacement: true } : p));
  const blocking = problems.find((p) => !p.fixedByReplacement && healthOf(p.verdict) === "critical");
  if (blocking) return { kind: "blocked", problem: blocking, problems };
  const trigger = problems.find((p) => p.fixedByReplacement);
  if (trigger) return { kind: "replace", trigger, problems };
  return { kind: assessment.status === "OK" ? "healthy" : "not-fixed-by-replacement", problems };
}
