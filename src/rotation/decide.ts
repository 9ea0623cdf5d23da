import { servesPemFiles } from "../core/inspection";
import { createHash } from "node:crypto";
import { type Assessment, assess } from "../core/assess";
import { describeCertificate, thumbprintOf } from "../core/certificate";
import { replacementVerdict } from "../core/replacement-rule";
import { probeAddressFor } from "../core/target";
import type { HostInspection, Replacement, ReplacementSpec, RotationSteps, SuppliedCertificate } from "../hosts/host-backend";
import { type Decision, PINNED_CLIENTS, type RotationContext, type RotationSettings } from "./types";
import { checksChain, probeOf } from "./verify";

/**
 * The decision half of rotate and deploy: inspect, probe, judge (the rule is
 * core/replacement-rule.ts), and the exact plan. Changes nothing.
 */

/** Whether rdpcert's own history shows it issued this certificate (a rotation ended presenting it). */
export function issuedByRdpcert(history: readonly unknown[], thumbprint: string | null): boolean {
  if (!thumbprint) return false;
  return history.some((h) => {
    const r = h as { outcome?: unknown; newThumbprint?: unknown } | null;
    const record = r as { kind?: unknown } | null;
    return (
      r !== null &&
      typeof r === "object" &&
      record?.kind !== "deploy" &&
      r.newThumbprint === thumbprint &&
      (r.outcome === "rotated" || r.outcome === "recovered:completed")
    );
  });
}

/** Verdicts that a new certificate cannot fix: rotating would only add risk. */
export function refusal(
  assessment: Assessment,
  inspection: HostInspection,
  settings: RotationSettings,
  ownCertificate: boolean,
): { reason: string; fix: string | null } | null {
  const listener = listenerRefusal(assessment, inspection);
  if (listener) return listener;
  if (settings.force) return null;
  const verdict = replacementVerdict(assessment, { issuance: inspection.issuance, issuedByRdpcert: ownCertificate });
  if (verdict.kind === "blocked") return { reason: `${verdict.problem.reason}: a new certificate does not fix this`, fix: verdict.problem.fix };
  if (verdict.kind === "not-fixed-by-replacement") {
    return { reason: `${assessment.reason}: a new certificate does not fix this (pass --force to replace it anyway)`, fix: assessment.fix };
  }
  return null;
}

/** The first half of every decision: inspect, probe and judge, and the plan. Changes nothing. */
export async function look(
  ctx: RotationContext,
  settings: RotationSettings,
  replacement: Replacement,
  command: "rotate" | "deploy",
): Promise<
  | Decision
  | {
      readonly base: Pick<Decision, "inspection" | "assessment" | "before">;
      readonly steps: RotationSteps;
      readonly inspection: HostInspection;
      readonly assessment: Assessment;
      readonly plan: readonly string[];
    }
> {
  const steps = ctx.backend.rotation;
  const outcome = await ctx.backend.inspect();
  if (!outcome.ok)
    return {
      kind: "refused",
      reason: `cannot inspect the listener: ${outcome.reason}`,
      fix: outcome.fix,
      plan: [],
      inspection: null,
      assessment: null,
      before: null,
    };
  const inspection = outcome.inspection;
  const before = await probeOf(ctx, inspection, settings.probeTimeoutMs);
  const assessment = assess(outcome, before, settings.policy, ctx.now());
  const base = { inspection, assessment, before };
  const what = command === "rotate" ? "rotation" : "deploying";
  if (!steps || (replacement.kind === "supplied" && !steps.refuseSupplied)) {
    return { kind: "refused", reason: `${what} is not available for the ${ctx.backend.kind} backend yet`, fix: null, plan: [], ...base };
  }
  const supplied = replacement.kind === "supplied" ? replacement.certificate : null;
  const chainChecked = checksChain(steps, supplied);
  const expected = supplied
    ? `the certificate ${supplied.thumbprint} presented${chainChecked ? ` with its ${supplied.chain.length - 1} chain certificate${supplied.chain.length > 2 ? "s" : ""}` : ""}, currently valid`
    : "the new thumbprint presented, currently valid";
  const plan = [
    "take the rotation lock in the state dir and write a journal entry",
    ...steps.describe(inspection, replacement, settings.restart),
    `verify with a real RDP TLS handshake on ${probeAddressFor(inspection.listener.address)}:${inspection.listener.port} for up to ${settings.verifyTimeoutMs} ms: TLS offered, ${expected}`,
    "on any failure: restore the backup, restart, and verify that the old state is presented again",
    ...(replacement.kind === "supplied" && replacement.removeOld ? ["after verification only: remove the previous certificate (--remove-old)"] : []),
    ...(supplied ? [] : [PINNED_CLIENTS]),
  ];
  // The plan comes with the refusal, so that an interactive rotate in a session shows it before handing off.
  const handOff = steps.mustHandOff?.(replacement) ?? null;
  if (handOff) {
    const fix =
      command === "rotate"
        ? "run rdpcert rotate from outside the RDP session, or let it hand itself to a SYSTEM task (the default of rdpcert rotate)"
        : "run rdpcert deploy from outside the RDP session: the console, or the scheduled task of your ACME client (win-acme and Posh-ACME run their installation scripts as SYSTEM)";
    return { kind: "refused", reason: handOff, fix, plan, ...base };
  }
  return { base, steps, inspection, assessment, plan };
}

/** Refusals shared by rotate and deploy: what a new certificate on this listener cannot change. */
export function listenerRefusal(assessment: Assessment, inspection: HostInspection): { reason: string; fix: string | null } | null {
  const down = assessment.problems.find((p) => p.verdict === "DOWN");
  if (down) return { reason: `the listener is down (${down.reason}): a new certificate cannot be verified`, fix: down.fix };
  if (inspection.listener.securityLayer === "rdp") {
    return { reason: "the listener is configured for standard RDP security only, so it never presents a certificate", fix: assessment.fix };
  }
  const mismatch = assessment.problems.find((p) => p.verdict === "MISMATCH");
  if (servesPemFiles(inspection.backend) && mismatch) {
    return { reason: "the listener does not serve this configuration, so replacing its files cannot change what it presents", fix: mismatch.fix };
  }
  return null;
}

/**
 * `rdpcert deploy`: the same look as a rotation, then the deploy's own
 * refusals. Already presenting this certificate is "not-needed" (a deploy hook
 * that runs twice changes nothing the second time).
 */
export async function decideDeployment(
  ctx: RotationContext,
  settings: RotationSettings,
  certificate: SuppliedCertificate,
  removeOld: boolean,
): Promise<Decision> {
  const replacement: Replacement = { kind: "supplied", certificate, removeOld };
  const looked = await look(ctx, settings, replacement, "deploy");
  if ("kind" in looked) return looked;
  const { base, steps, inspection, assessment, plan } = looked;
  const refused = listenerRefusal(assessment, inspection) ?? steps.refuseSupplied!(inspection, certificate);
  if (refused) return { kind: "refused", ...refused, plan, ...base };
  const presented = base.before?.certificate?.thumbprint ?? null;
  const configured = inspection.certificate.state === "present" ? thumbprintOf(inspection.certificate.der) : null;
  if (presented === certificate.thumbprint && configured === certificate.thumbprint) {
    return { kind: "not-needed", reason: `the listener already presents ${certificate.thumbprint}`, fix: null, plan, ...base };
  }
  return { kind: "rotate", reason: `deploy ${certificate.thumbprint} from ${certificate.origin}`, fix: null, plan, ...base };
}

/** Inspect, probe and judge; decide whether to rotate and describe exactly how. Changes nothing. */
export async function decideRotation(ctx: RotationContext, settings: RotationSettings): Promise<Decision> {
  const looked = await look(ctx, settings, { kind: "self-signed", spec: settings.spec }, "rotate");
  if ("kind" in looked) return looked;
  const { base, steps, inspection, assessment, plan } = looked;
  // First: a refusal that --force cannot lift must not be preceded by advice to pass --force.
  const unsafe = steps.refuseTargets?.(inspection) ?? null;
  if (unsafe) return { kind: "refused", ...unsafe, plan, ...base };
  if (inspection.issuance === "ca-issued" && !settings.force) {
    return {
      kind: "refused",
      reason: "the configured certificate is CA-issued: replacing it with a self-signed one would make clients distrust the server",
      fix: "renew it with its CA and configure the new certificate; pass --force only to replace it with a self-signed certificate anyway",
      plan,
      ...base,
    };
  }
  const cert = inspection.certificate;
  const refused = refusal(assessment, inspection, settings, issuedByRdpcert(ctx.store.history(), cert.state === "present" ? thumbprintOf(cert.der) : null));
  if (refused) return { kind: "refused", ...refused, plan, ...base };
  const names = namesToChange(cert.state === "present" ? cert.der : null, settings.spec.requested);
  if (assessment.status === "OK" && !settings.force && !names) {
    return { kind: "not-needed", reason: `the listener is healthy: ${assessment.reason}`, fix: "pass --force to rotate anyway", plan, ...base };
  }
  const why = assessment.status !== "OK" ? `${assessment.status}: ${assessment.reason}` : (names ?? "forced");
  return { kind: "rotate", reason: why, fix: null, plan, ...base };
}

export function decide(ctx: RotationContext, settings: RotationSettings, replacement: Replacement): Promise<Decision> {
  return replacement.kind === "self-signed" ? decideRotation(ctx, settings) : decideDeployment(ctx, settings, replacement.certificate, replacement.removeOld);
}

/**
 * `rotate --name/--ip` (what doctor's name fix runs): a certificate whose names differ from the
 * requested ones is rotated even when healthy; why, or null when it already names exactly them.
 */
export function namesToChange(der: Buffer | null, requested: ReplacementSpec["requested"]): string | null {
  if (!requested || requested.dnsNames.length + requested.ipAddresses.length === 0) return null;
  let sans: readonly string[] = [];
  try {
    sans = der ? describeCertificate(der).subjectAltNames : [];
  } catch {
    sans = [];
  }
  const has = new Set(sans.map((n) => n.replace(/^IP Address:/, "IP:").toLowerCase()));
  const wanted = [...requested.dnsNames.map((n) => `DNS:${n}`), ...requested.ipAddresses.map((n) => `IP:${n}`)];
  const missing = wanted.filter((n) => !has.has(n.toLowerCase()));
  if (missing.length) return `the certificate does not name ${missing.join(", ")} (requested with --name/--ip)`;
  return has.size === wanted.length ? null : `the certificate names more than requested with --name/--ip (${sans.join(", ")})`;
}

/** The old certificate's SHA-1 and SHA-256 for the log (every change is logged with both fingerprints). */
export function printsOf(decision: Decision): string {
  const cert = decision.inspection?.certificate;
  if (cert?.state === "present") return `SHA-1 ${thumbprintOf(cert.der)}, SHA-256 ${createHash("sha256").update(cert.der).digest("hex").toUpperCase()}`;
  const presented = decision.before?.certificate;
  return presented ? `SHA-1 ${presented.thumbprint}, SHA-256 ${presented.sha256}` : "none";
}

export function oldOf(decision: Decision): string | null {
  const cert = decision.inspection?.certificate;
  if (cert?.state === "present") return thumbprintOf(cert.der);
  return decision.before?.certificate?.thumbprint ?? null;
}
