import { monotonicMs } from "../core/monotonic";
import { formatEndpoint, probeAddressFor } from "../core/target";
import type { HostInspection, RotationSteps, SuppliedCertificate } from "../hosts/host-backend";
import type { ProbeResult } from "../probe/prober";
import type { RotationContext, RotationSettings, StepRecord } from "./types";

/**
 * How the state machine checks what the listener presents: real handshakes
 * until a predicate holds or the deadline passes, and the predicates (the new
 * certificate, a supplied one with its chain, the old state again).
 */

export const SECOND = 1000;

export async function timed<T>(
  records: StepRecord[],
  step: string,
  run: () => Promise<{ ok: true; value: T } | { ok: false; reason: string; conflict?: boolean }>,
  detail: (value: T) => string | null = () => null,
) {
  const started = monotonicMs();
  const result = await run();
  records.push({ step, ok: result.ok, ms: Math.round((monotonicMs() - started) * 10) / 10, detail: result.ok ? detail(result.value) : result.reason });
  return result;
}

export function probeOf(ctx: RotationContext, inspection: HostInspection, timeoutMs: number, withChain = false): Promise<ProbeResult> {
  const host = probeAddressFor(inspection.listener.address);
  const port = inspection.listener.port;
  return ctx.prober({ input: formatEndpoint(host, port), host, port }, { timeoutMs, ...(withChain ? { withChain } : {}) });
}

/** What the listener showed: a thumbprint, or the kind of failure. Rollback must bring it back. */
export function signature(result: ProbeResult): string {
  return result.certificate ? result.certificate.thumbprint : `error:${result.error?.kind ?? "none"}`;
}

/** Probe until the predicate holds or the deadline passes; the last probe says why not. */
export async function waitForListener(
  ctx: RotationContext,
  inspection: HostInspection,
  settings: RotationSettings,
  accept: (p: ProbeResult) => string | null,
  withChain = false,
) {
  const deadline = monotonicMs() + settings.verifyTimeoutMs;
  let delay = 50;
  let attempts = 0;
  for (;;) {
    const remaining = deadline - monotonicMs();
    const result = await probeOf(ctx, inspection, Math.max(200, Math.min(settings.probeTimeoutMs, remaining)), withChain);
    attempts++;
    const problem = accept(result);
    if (problem === null) return { ok: true as const, value: { result, attempts } };
    if (monotonicMs() + delay > deadline)
      return { ok: false as const, reason: `${problem} (after ${attempts} handshake${attempts === 1 ? "" : "s"} in ${settings.verifyTimeoutMs} ms)` };
    await ctx.sleep(delay);
    delay = Math.min(delay * 2, SECOND);
  }
}

/**
 * `restartCommand: "auto"` on xrdp restarts nothing: xrdp reads its pair for every new
 * connection, and a restart ends every connected session. Only when the first handshake after the
 * change still shows what was presented before (`stale`: a server that does not re-read its pair)
 * does it run the restart, and say so in the steps and the log. A failed restart is left to the
 * verification that follows, which says what the listener presents.
 */
export async function restartIfStale(
  ctx: RotationContext,
  settings: RotationSettings,
  inspection: HostInspection,
  records: StepRecord[],
  accept: (p: ProbeResult) => string | null,
  stale: string,
  withChain = false,
): Promise<void> {
  const command = settings.restart.enabled && !settings.restart.command ? settings.restart.ifStale : null;
  const steps = ctx.backend.rotation;
  if (!command || !steps) return;
  const first = await probeOf(ctx, inspection, settings.probeTimeoutMs, withChain);
  if (accept(first) === null || signature(first) !== stale) return;
  ctx.log(
    "warn",
    `the listener still presents ${stale} after the change (it does not re-read its pair): restarting it with ${command.join(" ")}, which ends connected sessions`,
  );
  await timed(
    records,
    "restart",
    () => steps.restart({ enabled: true, command, timeoutMs: settings.restart.timeoutMs }, null),
    (v) => `the listener still presented ${stale} after the change: ${v.command ?? "restarted"}`,
  );
}

/** `newThumbprint` null: the server makes the new certificate itself (Windows); any other than the old one will do. */
export function expectNew(now: () => Date, oldThumbprint: string | null, newThumbprint: string | null) {
  return (p: ProbeResult): string | null => {
    if (p.error) return `the listener does not complete TLS: ${p.error.message}`;
    const cert = p.certificate;
    if (!cert) return "no certificate presented";
    if (oldThumbprint && cert.thumbprint === oldThumbprint) return `the listener still presents the old certificate ${oldThumbprint}`;
    if (newThumbprint && cert.thumbprint !== newThumbprint) return `the listener presents ${cert.thumbprint}, not the new ${newThumbprint}`;
    const t = now().getTime();
    if (t < cert.notBefore.getTime() || t > cert.notAfter.getTime()) return "the new certificate is not currently valid";
    return null;
  };
}

/** Windows: the presented certificate must also be the configured one (no silent fallback). */
export async function configuredMatches(ctx: RotationContext, presented: string): Promise<string | null> {
  const outcome = await ctx.backend.inspect();
  if (!outcome.ok || outcome.inspection.configuredThumbprint === null) return null;
  return outcome.inspection.configuredThumbprint === presented
    ? null
    : `the listener presents ${presented} but SSLCertificateSHA1Hash names ${outcome.inspection.configuredThumbprint}`;
}

export function expectSignature(expected: string) {
  return (p: ProbeResult): string | null => (signature(p) === expected ? null : `the listener shows ${signature(p)}, expected ${expected}`);
}

/** Whether a deploy's verification looks for the chain on the wire: only where the server sends what it was given (xrdp). */
export function checksChain(steps: RotationSteps, supplied: SuppliedCertificate | null): boolean {
  return supplied !== null && steps.servesGivenChain === true && supplied.chain.length > 1;
}

/** A deploy is verified when the supplied leaf is presented, valid now, and (`withChain`) every chain certificate it was given after it. */
export function expectSupplied(now: () => Date, supplied: SuppliedCertificate, withChain: boolean) {
  const leaf = expectNew(now, null, supplied.thumbprint);
  return (p: ProbeResult): string | null => {
    const problem = leaf(p);
    if (problem !== null || !withChain) return problem;
    const sent = p.chain ?? [];
    for (let i = 1; i < supplied.chain.length; i++) {
      if (!sent[i] || !sent[i]!.equals(supplied.chain[i]!))
        return `the listener presents ${supplied.thumbprint} but not its full chain (certificate ${i + 1} of ${supplied.chain.length} missing)`;
    }
    return null;
  };
}
