import type { Prepared } from "../../app/deploy";
import type { RotationResult } from "../../rotation/rotate";
import { renderRotationText, rotationJson } from "./rotate-render";

export const DEPLOY_SCHEMA = "rdpcert.deploy/v1";

type Ready = Extract<Prepared, { ok: true }>;

/** The documented `rdpcert deploy --json` report: rotate's fields, the certificate deployed, warnings and what --remove-old removed. */
export function deployJson(result: RotationResult, prepared: Ready, exitCode: number, dryRun: boolean, now: Date) {
  const c = prepared.certificate;
  return {
    ...rotationJson(result, exitCode, dryRun, now),
    schema: DEPLOY_SCHEMA,
    certificate: {
      thumbprint: c.thumbprint,
      subject: prepared.subject,
      issuer: prepared.issuer,
      names: c.names,
      notAfter: c.notAfter.toISOString(),
      chainLength: c.chain.length,
      origin: c.origin,
    },
    warnings: [...prepared.warnings, ...(result.warnings ?? [])],
    removed: result.removed ?? [],
  };
}

export function renderDeployText(result: RotationResult, prepared: Ready, dryRun: boolean): string {
  const c = prepared.certificate;
  let out = `certificate  ${c.thumbprint}  ${prepared.subject}\n  issuer     ${prepared.issuer}\n  names      ${c.names.join(", ") || "-"}\n  notAfter   ${c.notAfter.toISOString()}\n  from       ${c.origin}${c.chain.length > 1 ? ` (with ${c.chain.length - 1} chain certificate${c.chain.length > 2 ? "s" : ""})` : ""}\n`;
  for (const warning of [...prepared.warnings, ...(result.warnings ?? [])]) out += `warning: ${warning}\n`;
  out += renderRotationText(result, dryRun);
  for (const removed of result.removed ?? []) out += `  removed ${removed}\n`;
  return out;
}
