import { createHash, randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { type Assessment, assess } from "../core/assess";
import { describeCertificate, thumbprintOf } from "../core/certificate";
import type { Policy } from "../core/policy";
import { replacementVerdict } from "../core/replacement-rule";
import { probeAddressFor } from "../core/target";
import type { BackupSet, HostBackend, HostInspection, Replacement, ReplacementSpec, RestartSpec, RotationSteps, SuppliedCertificate } from "../hosts/host-backend";
import type { Journal, JournalClose, JournalStep, LockInfo, LockOutcome } from "../hosts/local/state-dir";
import type { ProbeResult, Prober } from "../probe/prober";

/**
 * The rotation state machine (DESIGN.md, "Flow of one scheduled run"):
 * lock -> re-check -> journal -> backup -> replace -> restart -> verify,
 * and on any failure after the backup: restore -> restart -> verify the old
 * certificate again. The listener is never left without a working
 * certificate, and nothing is removed without a backup and a verified
 * replacement. Time, probing, storage and the host are injected.
 */

/** The state dir as rotation needs it (implemented by hosts/local/state-dir.ts). */
export interface RotationStore {
  lock(): LockOutcome;
  readJournal(): Journal | null;
  writeJournal(journal: Journal): void;
  closeJournal(journal: Journal, close: JournalClose): void;
  saveBackup(set: BackupSet, reason: string | null, keep: number, protect?: readonly string[]): string;
  loadBackup(id: string): BackupSet | null;
  backupPath(id: string): string;
  /** Records a finished change that has no journal (a restore by hand) in history.jsonl. */
  appendHistory(record: object): void;
  /** Finished rotations, oldest first (history.jsonl); unparsed records. */
  history(): unknown[];
}

/** Step boundaries where tests kill the process (RDPCERT_TEST_FAULT); a no-op in production. */
export type FaultPoint = "after-lock" | "after-journal" | "after-backup" | "after-replace" | "after-restart" | "before-verify" | "after-restore";

export type LogLevel = "info" | "warn" | "error";

export interface RotationContext {
  readonly backend: HostBackend;
  readonly store: RotationStore;
  readonly prober: Prober;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly fault: (point: FaultPoint) => void;
  readonly log: (level: LogLevel, message: string) => void;
}

export interface RotationSettings {
  readonly spec: ReplacementSpec;
  readonly restart: RestartSpec;
  readonly verifyTimeoutMs: number;
  readonly probeTimeoutMs: number;
  readonly policy: Policy;
  readonly keepBackups: number;
  /** Rotate even when healthy, and even a CA-issued certificate. */
  readonly force: boolean;
  readonly reason: string | null;
}

/** "deployed": a supplied (CA-issued) certificate is in place and verified; "rotated": a new self-signed one. */
export type RotationOutcome = "planned" | "not-needed" | "refused" | "busy" | "rotated" | "deployed" | "rolled-back" | "rollback-failed";

export interface StepRecord {
  readonly step: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly detail: string | null;
}

export interface RecoveryResult {
  readonly journal: Journal;
  /** deferred: left open, because finishing it here would restart Remote Desktop Services inside an RDP session. */
  readonly outcome: "completed" | "rolled-back" | "rollback-failed" | "abandoned" | "deferred";
  readonly reason: string;
}

export interface RotationResult {
  readonly outcome: RotationOutcome;
  readonly reason: string;
  readonly fix: string | null;
  readonly plan: readonly string[];
  readonly oldThumbprint: string | null;
  readonly newThumbprint: string | null;
  /** SHA-256 of the new certificate as presented, for clients that pin it. */
  readonly newSha256: string | null;
  readonly backupId: string | null;
  readonly backupPath: string | null;
  readonly steps: readonly StepRecord[];
  readonly recovered: RecoveryResult | null;
  readonly heldBy: LockInfo | null;
  readonly assessment: Assessment | null;
  /** deploy --remove-old: what was removed after verification. */
  readonly removed?: readonly string[];
  /** Said beside a success (e.g. the old certificate could not be removed). */
  readonly warnings?: readonly string[];
}

const SECOND = 1000;

/** Said in every plan and result: a new certificate is a new identity to clients that pinned the old one. */
export const PINNED_CLIENTS =
  "clients that pinned the old certificate (mstsc's \"Don't ask me again\", FreeRDP /cert:tofu) will be asked to accept the new one: give them its SHA-1 and SHA-256 (printed when the rotation is done)";

function blank(outcome: RotationOutcome, reason: string, extra: Partial<RotationResult> = {}): RotationResult {
  return {
    outcome,
    reason,
    fix: null,
    plan: [],
    oldThumbprint: null,
    newThumbprint: null,
    newSha256: null,
    backupId: null,
    backupPath: null,
    steps: [],
    recovered: null,
    heldBy: null,
    assessment: null,
    ...extra,
  };
}

function probeOf(ctx: RotationContext, inspection: HostInspection, timeoutMs: number, withChain = false): Promise<ProbeResult> {
  const host = probeAddressFor(inspection.listener.address);
  const port = inspection.listener.port;
  return ctx.prober({ input: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`, host, port }, { timeoutMs, ...(withChain ? { withChain } : {}) });
}

/** What the listener showed: a thumbprint, or the kind of failure. Rollback must bring it back. */
function signature(result: ProbeResult): string {
  return result.certificate ? result.certificate.thumbprint : `error:${result.error?.kind ?? "none"}`;
}

/** Whether rdpcert's own history shows it issued this certificate (a rotation ended presenting it). */
export function issuedByRdpcert(history: readonly unknown[], thumbprint: string | null): boolean {
  if (!thumbprint) return false;
  return history.some((h) => {
    const r = h as { outcome?: unknown; newThumbprint?: unknown } | null;
    const record = r as { kind?: unknown } | null;
    return r !== null && typeof r === "object" && record?.kind !== "deploy" && r.newThumbprint === thumbprint && (r.outcome === "rotated" || r.outcome === "recovered:completed");
  });
}

/** Verdicts that a new certificate cannot fix: rotating would only add risk. */
function refusal(assessment: Assessment, inspection: HostInspection, settings: RotationSettings, ownCertificate: boolean): { reason: string; fix: string | null } | null {
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

export interface Decision {
  readonly kind: "rotate" | "not-needed" | "refused";
  readonly reason: string;
  readonly fix: string | null;
  readonly plan: readonly string[];
  readonly inspection: HostInspection | null;
  readonly assessment: Assessment | null;
  readonly before: ProbeResult | null;
}

/** The first half of every decision: inspect, probe and judge, and the plan. Changes nothing. */
async function look(ctx: RotationContext, settings: RotationSettings, replacement: Replacement, command: "rotate" | "deploy"): Promise<Decision | { readonly base: Pick<Decision, "inspection" | "assessment" | "before">; readonly steps: RotationSteps; readonly inspection: HostInspection; readonly assessment: Assessment; readonly plan: readonly string[] }> {
  const steps = ctx.backend.rotation;
  const outcome = await ctx.backend.inspect();
  if (!outcome.ok) return { kind: "refused", reason: `cannot inspect the listener: ${outcome.reason}`, fix: outcome.fix, plan: [], inspection: null, assessment: null, before: null };
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
    const fix = command === "rotate"
      ? "run rdpcert rotate from outside the RDP session, or let it hand itself to a SYSTEM task (the default of rdpcert rotate)"
      : "run rdpcert deploy from outside the RDP session: the console, or the scheduled task of your ACME client (win-acme and Posh-ACME run their installation scripts as SYSTEM)";
    return { kind: "refused", reason: handOff, fix, plan, ...base };
  }
  return { base, steps, inspection, assessment, plan };
}

/** Refusals shared by rotate and deploy: what a new certificate on this listener cannot change. */
function listenerRefusal(assessment: Assessment, inspection: HostInspection): { reason: string; fix: string | null } | null {
  const down = assessment.problems.find((p) => p.verdict === "DOWN");
  if (down) return { reason: `the listener is down (${down.reason}): a new certificate cannot be verified`, fix: down.fix };
  if (inspection.listener.securityLayer === "rdp") {
    return { reason: "the listener is configured for standard RDP security only, so it never presents a certificate", fix: assessment.fix };
  }
  const mismatch = assessment.problems.find((p) => p.verdict === "MISMATCH");
  if (inspection.backend === "xrdp" && mismatch) {
    return { reason: "the listener does not serve this configuration, so replacing its files cannot change what it presents", fix: mismatch.fix };
  }
  return null;
}

/**
 * `rdpcert deploy`: the same look as a rotation, then the deploy's own
 * refusals. Already presenting this certificate is "not-needed" (a deploy hook
 * that runs twice changes nothing the second time).
 */
export async function decideDeployment(ctx: RotationContext, settings: RotationSettings, certificate: SuppliedCertificate, removeOld: boolean): Promise<Decision> {
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
  const why = assessment.status !== "OK" ? `${assessment.status}: ${assessment.reason}` : names ?? "forced";
  return { kind: "rotate", reason: why, fix: null, plan, ...base };
}

/**
 * `rotate --name/--ip` (what doctor's name fix runs): a certificate whose names differ from the
 * requested ones is rotated even when healthy (issue 23); why, or null when it already names exactly them.
 */
function namesToChange(der: Buffer | null, requested: ReplacementSpec["requested"]): string | null {
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

async function timed<T>(records: StepRecord[], step: string, run: () => Promise<{ ok: true; value: T } | { ok: false; reason: string; conflict?: boolean }>, detail: (value: T) => string | null = () => null) {
  const started = performance.now();
  const result = await run();
  records.push({ step, ok: result.ok, ms: Math.round((performance.now() - started) * 10) / 10, detail: result.ok ? detail(result.value) : result.reason });
  return result;
}

/** Probe until the predicate holds or the deadline passes; the last probe says why not. */
async function waitForListener(ctx: RotationContext, inspection: HostInspection, settings: RotationSettings, accept: (p: ProbeResult) => string | null, withChain = false) {
  const deadline = performance.now() + settings.verifyTimeoutMs;
  let delay = 50;
  let attempts = 0;
  for (;;) {
    const remaining = deadline - performance.now();
    const result = await probeOf(ctx, inspection, Math.max(200, Math.min(settings.probeTimeoutMs, remaining)), withChain);
    attempts++;
    const problem = accept(result);
    if (problem === null) return { ok: true as const, value: { result, attempts } };
    if (performance.now() + delay > deadline) return { ok: false as const, reason: `${problem} (after ${attempts} handshake${attempts === 1 ? "" : "s"} in ${settings.verifyTimeoutMs} ms)` };
    await ctx.sleep(delay);
    delay = Math.min(delay * 2, SECOND);
  }
}

/**
 * `restartCommand: "auto"` on xrdp restarts nothing (issue 23): xrdp reads its pair for every new
 * connection, and a restart ends every connected session. Only when the first handshake after the
 * change still shows what was presented before (`stale`: a server that does not re-read its pair)
 * does it run the restart, and say so in the steps and the log. A failed restart is left to the
 * verification that follows, which says what the listener presents.
 */
async function restartIfStale(ctx: RotationContext, settings: RotationSettings, inspection: HostInspection, records: StepRecord[], accept: (p: ProbeResult) => string | null, stale: string, withChain = false): Promise<void> {
  const command = settings.restart.enabled && !settings.restart.command ? settings.restart.ifStale : null;
  const steps = ctx.backend.rotation;
  if (!command || !steps) return;
  const first = await probeOf(ctx, inspection, settings.probeTimeoutMs, withChain);
  if (accept(first) === null || signature(first) !== stale) return;
  ctx.log("warn", `the listener still presents ${stale} after the change (it does not re-read its pair): restarting it with ${command.join(" ")}, which ends connected sessions`);
  await timed(records, "restart", () => steps.restart({ enabled: true, command, timeoutMs: settings.restart.timeoutMs }, null), (v) => `the listener still presented ${stale} after the change: ${v.command ?? "restarted"}`);
}

/** `newThumbprint` null: the server makes the new certificate itself (Windows); any other than the old one will do. */
function expectNew(now: () => Date, oldThumbprint: string | null, newThumbprint: string | null) {
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
async function configuredMatches(ctx: RotationContext, presented: string): Promise<string | null> {
  const outcome = await ctx.backend.inspect();
  if (!outcome.ok || outcome.inspection.configuredThumbprint === null) return null;
  return outcome.inspection.configuredThumbprint === presented ? null : `the listener presents ${presented} but SSLCertificateSHA1Hash names ${outcome.inspection.configuredThumbprint}`;
}

function expectSignature(expected: string) {
  return (p: ProbeResult): string | null => (signature(p) === expected ? null : `the listener shows ${signature(p)}, expected ${expected}`);
}

function journalEntry(ctx: RotationContext, old: string | null, reason: string | null, presentedBefore: string, kind: "rotate" | "deploy"): Journal {
  return {
    kind,
    id: `${ctx.now().toISOString().replace(/[-:.]/g, "").slice(0, 15)}-${randomBytes(3).toString("hex")}`,
    pid: process.pid,
    startedAt: ctx.now().toISOString(),
    backend: ctx.backend.kind,
    step: "started",
    oldThumbprint: old,
    newThumbprint: null,
    backupId: null,
    reason,
    presentedBefore,
  };
}

/** `rdpcert rotate`: the whole safe swap. Never throws for a failed step; always releases the lock. */
export function rotate(ctx: RotationContext, settings: RotationSettings, options: { dryRun: boolean }): Promise<RotationResult> {
  return replaceSafely(ctx, settings, options, { kind: "self-signed", spec: settings.spec });
}

/** `rdpcert deploy`: the same state machine as rotate, with a supplied certificate as the replacement. */
export function deploy(ctx: RotationContext, settings: RotationSettings, certificate: SuppliedCertificate, options: { dryRun: boolean; removeOld: boolean }): Promise<RotationResult> {
  return replaceSafely(ctx, settings, options, { kind: "supplied", certificate, removeOld: options.removeOld });
}

function decide(ctx: RotationContext, settings: RotationSettings, replacement: Replacement): Promise<Decision> {
  return replacement.kind === "self-signed" ? decideRotation(ctx, settings) : decideDeployment(ctx, settings, replacement.certificate, replacement.removeOld);
}

/** lock -> recover -> re-decide -> swap, for either kind of replacement. */
async function replaceSafely(ctx: RotationContext, settings: RotationSettings, options: { dryRun: boolean }, replacement: Replacement): Promise<RotationResult> {
  if (options.dryRun) {
    const decision = await decide(ctx, settings, replacement);
    const outcome: RotationOutcome = decision.kind === "rotate" ? "planned" : decision.kind;
    return blank(outcome, decision.reason, { fix: decision.fix, plan: decision.plan, assessment: decision.assessment, oldThumbprint: oldOf(decision) });
  }
  const lock = ctx.store.lock();
  if (!lock.ok) {
    return blank("busy", `another rotation is running: pid ${lock.heldBy.pid} on ${lock.heldBy.host} since ${lock.heldBy.since}`, {
      heldBy: lock.heldBy,
      fix: "wait for it to finish (it verifies and rolls back on its own), then run status",
    });
  }
  try {
    if (lock.tookOverFrom) ctx.log("warn", `took over the rotation lock left by pid ${lock.tookOverFrom.pid} (${lock.tookOverBecause ?? "no longer running"})`);
    ctx.fault("after-lock");
    const recovered = await recoverInterrupted(ctx, settings);
    // Re-check after taking the lock: another run may have rotated meanwhile.
    const decision = await decide(ctx, settings, replacement);
    if (decision.inspection) removeLeftovers(ctx, decision.inspection);
    if (decision.kind !== "rotate") {
      return blank(decision.kind, decision.reason, { fix: decision.fix, plan: decision.plan, assessment: decision.assessment, recovered, oldThumbprint: oldOf(decision) });
    }
    return { ...(await swap(ctx, settings, decision, replacement)), recovered };
  } finally {
    lock.release();
  }
}

/** The old certificate's SHA-1 and SHA-256 for the log (issue 23: every change logged with both fingerprints). */
function printsOf(decision: Decision): string {
  const cert = decision.inspection?.certificate;
  if (cert?.state === "present") return `SHA-1 ${thumbprintOf(cert.der)}, SHA-256 ${createHash("sha256").update(cert.der).digest("hex").toUpperCase()}`;
  const presented = decision.before?.certificate;
  return presented ? `SHA-1 ${presented.thumbprint}, SHA-256 ${presented.sha256}` : "none";
}

function oldOf(decision: Decision): string | null {
  const cert = decision.inspection?.certificate;
  if (cert?.state === "present") return thumbprintOf(cert.der);
  return decision.before?.certificate?.thumbprint ?? null;
}

async function swap(ctx: RotationContext, settings: RotationSettings, decision: Decision, replacement: Replacement): Promise<RotationResult> {
  const inspection = decision.inspection!;
  const steps = ctx.backend.rotation as RotationSteps;
  const records: StepRecord[] = [];
  const oldThumbprint = oldOf(decision);
  const oldPrints = printsOf(decision);
  const beforeSignature = signature(decision.before!);
  const supplied = replacement.kind === "supplied" ? replacement.certificate : null;
  const startedAt = ctx.now();
  let journal = journalEntry(ctx, oldThumbprint, settings.reason ?? decision.reason, beforeSignature, supplied ? "deploy" : "rotate");
  const advance = (step: JournalStep, patch: Partial<Journal> = {}): void => {
    journal = { ...journal, ...patch, step };
    ctx.store.writeJournal(journal);
  };
  // Once files may have changed, a state dir that fills up or turns read-only must not skip the
  // verification or the rollback (issue 12, case 5): the journal on disk stays at its last step,
  // which makes the next run or status check what the listener presents.
  let journalTrouble = false;
  const record = (what: string, write: () => void): void => {
    try {
      write();
    } catch (error) {
      if (!journalTrouble) ctx.log("error", `cannot ${what} in the state dir (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); the rotation goes on, and the next run or status checks what the listener presents`);
      journalTrouble = true;
    }
  };
  const advanceAfterChange = (step: JournalStep, patch: Partial<Journal> = {}): void => record("update the journal", () => advance(step, patch));
  const close = (how: JournalClose): void => record("close the journal", () => ctx.store.closeJournal(journal, how));
  advance("started");
  ctx.fault("after-journal");
  const common = { plan: decision.plan, oldThumbprint, assessment: decision.assessment };

  const backup = await timed(records, "backup", async () => {
    const collected = await steps.collectBackup(inspection, replacement);
    if (!collected.ok) return collected;
    try {
      return { ok: true as const, value: ctx.store.saveBackup(collected.value, settings.reason ?? decision.reason, settings.keepBackups) };
    } catch (error) {
      return { ok: false as const, reason: `cannot write the backup: ${(error as Error).message}` };
    }
  }, (id) => `backup ${id}`);
  if (!backup.ok) {
    close({ outcome: "not-started", reason: backup.reason, finishedAt: ctx.now().toISOString() });
    ctx.log("error", `rotation not started: ${backup.reason}`);
    return blank("rolled-back", `nothing was changed: ${backup.reason}`, { ...common, steps: records, fix: "check the state dir (--state-dir) is writable" });
  }
  const backupId = backup.value;
  const backupPath = ctx.store.backupPath(backupId);
  advance("backed-up", { backupId });
  ctx.fault("after-backup");

  advance("replacing");
  const replaced = await timed(records, "replace", () => steps.replace(inspection, replacement, ctx.now(), (written) => advance("replacing", { written })), (v) => `wrote ${v.written.join(", ")}${v.keygenMs !== undefined ? `; key and certificate generated in ${v.keygenMs.toFixed(0)} ms` : ""}`);
  let failure: string | null = null;
  let newThumbprint: string | null = null;
  let newSha256: string | null = null;
  if (!replaced.ok) failure = replaced.reason;
  else {
    newThumbprint = replaced.value.thumbprint;
    advanceAfterChange("replaced", { newThumbprint });
    ctx.fault("after-replace");
    const restarted = await timed(records, "restart", () => steps.restart(settings.restart, oldThumbprint), (v) => v.command ?? "no restart");
    if (!restarted.ok) failure = restarted.reason;
    else {
      advanceAfterChange("restarted");
      ctx.fault("after-restart");
      advanceAfterChange("verifying");
      ctx.fault("before-verify");
      const unchangedOk = replaced.value.presentedMayStay === true;
      const chainChecked = checksChain(steps, supplied);
      const accept = supplied ? expectSupplied(ctx.now, supplied, chainChecked) : expectNew(ctx.now, unchangedOk ? null : oldThumbprint, newThumbprint);
      await restartIfStale(ctx, settings, inspection, records, accept, beforeSignature, chainChecked);
      const verified = await timed(records, "verify", () => waitForListener(ctx, inspection, settings, accept, chainChecked), (v) => `${supplied ? `${supplied.thumbprint}${chainChecked ? " and its chain" : ""}` : unchangedOk ? "a valid certificate" : "new certificate"} presented after ${v.attempts} handshake(s)`);
      if (!verified.ok) failure = `verification failed: ${verified.reason}`;
      else {
        newThumbprint = verified.value.result.certificate!.thumbprint;
        newSha256 = verified.value.result.certificate!.sha256;
        const configuredCheck = (await configuredMatches(ctx, newThumbprint)) ?? (await steps.confirm?.(inspection, replacement, startedAt)) ?? null;
        if (configuredCheck) failure = `verification failed: ${configuredCheck}`;
      }
    }
  }

  if (failure === null && supplied) {
    close({ outcome: "deployed", reason: null, finishedAt: ctx.now().toISOString() });
    ctx.log("info", `deployed ${supplied.origin} on the ${ctx.backend.kind} listener: old ${oldPrints} -> new SHA-1 ${newThumbprint}, SHA-256 ${newSha256}; backup ${backupId}`);
    const removal = replacement.kind === "supplied" && replacement.removeOld ? await removeOld(ctx, backupId, supplied, records) : { removed: [], warnings: [] };
    return blank("deployed", `the listener presents ${newThumbprint} from ${supplied.origin}`, { ...common, newThumbprint, newSha256, backupId, backupPath, steps: records, ...removal });
  }
  if (failure === null) {
    close({ outcome: "rotated", reason: null, finishedAt: ctx.now().toISOString() });
    ctx.log("info", `rotated the ${ctx.backend.kind} listener certificate: old ${oldPrints} -> new SHA-1 ${newThumbprint}, SHA-256 ${newSha256}; backup ${backupId}`);
    return blank("rotated", `the listener presents the new certificate ${newThumbprint}`, { ...common, newThumbprint, newSha256, backupId, backupPath, steps: records, fix: PINNED_CLIENTS });
  }

  ctx.log("warn", `rotation failed (${failure}); restoring backup ${backupId}`);
  advanceAfterChange("restoring");
  const rolledBack = await rollBack(ctx, settings, inspection, backupId, beforeSignature, records, journal.written, newThumbprint);
  const outcome = rolledBack.ok ? "rolled-back" : "rollback-failed";
  close({ outcome, reason: rolledBack.ok ? failure : `${failure}; rollback: ${rolledBack.reason}`, finishedAt: ctx.now().toISOString() });
  if (rolledBack.ok) {
    ctx.log("error", `rotation rolled back: ${failure}; old certificate ${oldThumbprint ?? "none"} in place again`);
    return blank("rolled-back", failure, { ...common, newThumbprint, backupId, backupPath, steps: records, fix: "see the reason; the old certificate is in place again" });
  }
  // Someone deployed another pair meanwhile: restoring the old one by hand would undo their work.
  const fix = rolledBack.conflict
    ? `someone else changed the pair during the rotation and it was left as they wrote it: check what the listener presents (rdpcert status); the old pair is in backup ${backupId} (${backupPath}) only if it is really wanted back`
    : `restore by hand: rdpcert backups restore ${backupId} (files in ${backupPath})`;
  ctx.log("error", `ROLLBACK FAILED: ${failure}; ${rolledBack.reason}. ${fix}`);
  return blank("rollback-failed", `${failure}; rollback failed: ${rolledBack.reason}`, {
    ...common,
    newThumbprint,
    backupId,
    backupPath,
    steps: records,
    fix,
  });
}

/** deploy --remove-old, after verification: a failure here is a warning, never a rollback (the new certificate works). */
async function removeOld(ctx: RotationContext, backupId: string, supplied: SuppliedCertificate, records: StepRecord[]): Promise<{ removed: readonly string[]; warnings: readonly string[] }> {
  const steps = ctx.backend.rotation as RotationSteps;
  const backup = ctx.store.loadBackup(backupId);
  if (!steps.removeOld) return { removed: [], warnings: [`--remove-old does nothing on ${ctx.backend.kind}: the previous files are left as they were (their copy is in backup ${backupId})`] };
  if (!backup) return { removed: [], warnings: [`the previous certificate was not removed: backup ${backupId} cannot be read`] };
  const result = await timed(records, "remove-old", () => steps.removeOld!(backup, supplied), (v) => (v.removed.length ? `removed ${v.removed.join(", ")}` : "nothing to remove"));
  if (!result.ok) {
    ctx.log("warn", `the previous certificate was not removed: ${result.reason}`);
    return { removed: [], warnings: [`the previous certificate was not removed: ${result.reason}`] };
  }
  for (const path of result.value.removed) ctx.log("info", `removed the previous certificate ${path} (a copy is in backup ${backupId})`);
  return { removed: result.value.removed, warnings: [] };
}

/** Whether a deploy's verification looks for the chain on the wire: only where the server sends what it was given (xrdp). */
function checksChain(steps: RotationSteps, supplied: SuppliedCertificate | null): boolean {
  return supplied !== null && steps.servesGivenChain === true && supplied.chain.length > 1;
}

/** A deploy is verified when the supplied leaf is presented, valid now, and (`withChain`) every chain certificate it was given after it. */
function expectSupplied(now: () => Date, supplied: SuppliedCertificate, withChain: boolean) {
  const leaf = expectNew(now, null, supplied.thumbprint);
  return (p: ProbeResult): string | null => {
    const problem = leaf(p);
    if (problem !== null || !withChain) return problem;
    const sent = p.chain ?? [];
    for (let i = 1; i < supplied.chain.length; i++) {
      if (!sent[i] || !sent[i]!.equals(supplied.chain[i]!)) return `the listener presents ${supplied.thumbprint} but not its full chain (certificate ${i + 1} of ${supplied.chain.length} missing)`;
    }
    return null;
  };
}

/** Leftover temp files of interrupted crash-safe writes (issue 12, case 12): removed, and said so. */
export function removeLeftovers(ctx: RotationContext, inspection: HostInspection): void {
  const removed = ctx.backend.rotation?.removeLeftovers?.(inspection) ?? [];
  for (const path of removed) ctx.log("warn", `removed ${path}, left over by an interrupted write`);
}

async function rollBack(ctx: RotationContext, settings: RotationSettings, inspection: HostInspection, backupId: string, expected: string, records: StepRecord[], written: Journal["written"], stale: string | null) {
  const steps = ctx.backend.rotation as RotationSteps;
  const backup = ctx.store.loadBackup(backupId);
  if (!backup) return { ok: false as const, reason: `backup ${backupId} cannot be read`, conflict: false };
  const restored = await timed(records, "restore", () => steps.restore(backup, { inspection, written }), (v) => `restored ${v.restored.join(", ")}`);
  if (!restored.ok) return restored;
  ctx.fault("after-restore");
  // A failing restart does not end the rollback: what counts is what the listener presents.
  const restarted = await timed(records, "restart", () => steps.restart(settings.restart, null), (v) => v.command ?? "no restart");
  const gone = restored.value.oldCertificateGone;
  const renewable = restored.value.renewableByHost;
  // Judged by what is served: the old state, or (Windows) a valid certificate the host renewed on the restart.
  const accept = gone ? expectNew(ctx.now, null, null) : renewable ? (p: ProbeResult) => (expectSignature(expected)(p) === null ? null : expectNew(ctx.now, null, null)(p)) : expectSignature(expected);
  const renewed = (v: { result: ProbeResult }): boolean => !gone && renewable !== undefined && signature(v.result) !== expected;
  if (stale && stale !== expected) await restartIfStale(ctx, settings, inspection, records, accept, stale);
  const verified = await timed(records, "verify-old", () => waitForListener(ctx, inspection, settings, accept), (v) => (gone ? `${gone}; a valid certificate is presented with the binding as before` : renewed(v) ? `${renewable}: ${signature(v.result)} is presented, valid, with the binding as before` : "old state presented again"));
  if (!verified.ok && !restarted.ok) return { ok: false as const, reason: `${restarted.reason}; ${verified.reason}`, conflict: false };
  if (verified.ok && (gone || renewed(verified.value))) {
    const configuredCheck = await configuredMatches(ctx, verified.value.result.certificate!.thumbprint);
    if (configuredCheck) return { ok: false as const, reason: configuredCheck, conflict: false };
  }
  return verified.ok ? verified : { ...verified, conflict: false };
}

/**
 * An open journal means a rotation was interrupted (kill -9, power loss).
 * Before the replacement started nothing changed: close it. After: keep the new
 * certificate if the listener presents it and it is valid, otherwise restore
 * the backup. Called under the lock by rotate, and by run and status.
 */
export async function recoverInterrupted(ctx: RotationContext, settings: RotationSettings): Promise<RecoveryResult | null> {
  const journal = ctx.store.readJournal();
  if (!journal) return null;
  const close = (outcome: RecoveryResult["outcome"], reason: string): RecoveryResult => {
    ctx.store.closeJournal(journal, { outcome: `recovered:${outcome}`, reason, finishedAt: ctx.now().toISOString() });
    ctx.log(outcome === "rollback-failed" ? "error" : "warn", `interrupted rotation ${journal.id} (pid ${journal.pid}, at step ${journal.step}): ${outcome}: ${reason}`);
    return { journal, outcome, reason };
  };
  if (journal.step === "started" || journal.step === "backed-up" || journal.backupId === null) {
    return close("abandoned", "it stopped before changing anything");
  }
  // Undoing it restarts services: not from inside an RDP session, which that would cut (status hands it to a SYSTEM task).
  const handOff = ctx.backend.rotation?.mustHandOff?.() ?? null;
  if (handOff) {
    const reason = `${handOff}; left open for rdpcert status, which hands the recovery to a SYSTEM task`;
    ctx.log("warn", `interrupted rotation ${journal.id} (pid ${journal.pid}, at step ${journal.step}): deferred: ${reason}`);
    return { journal, outcome: "deferred", reason };
  }
  const outcome = await ctx.backend.inspect();
  if (!outcome.ok) return close("rollback-failed", `cannot inspect the listener: ${outcome.reason}`);
  const inspection = outcome.inspection;
  if ((journal.newThumbprint || journal.step === "restarted" || journal.step === "verifying") && journal.step !== "restoring") {
    const check = await probeOf(ctx, inspection, settings.probeTimeoutMs);
    if (expectNew(ctx.now, journal.oldThumbprint, journal.newThumbprint)(check) === null) {
      return close("completed", `the listener presents the new certificate ${journal.newThumbprint}`);
    }
  }
  const steps = ctx.backend.rotation;
  const backup = ctx.store.loadBackup(journal.backupId);
  if (!steps || !backup) return close("rollback-failed", `backup ${journal.backupId} cannot be read; restore by hand`);
  const records: StepRecord[] = [];
  const expected = journal.presentedBefore ?? journal.oldThumbprint;
  const restored = await steps.restore(backup, { inspection, written: journal.written });
  if (!restored.ok) return close("rollback-failed", restored.reason);
  const restarted = await steps.restart(settings.restart, null);
  // As in a rollback (rollBack): an old certificate that cannot come back (Windows' own key is not
  // exportable), or one the host renewed, is judged by a valid certificate served with the binding as before.
  const gone = restored.value.oldCertificateGone ?? (restored.value.renewableByHost && expected ? restored.value.renewableByHost : undefined);
  if (expected) {
    const accept = gone ? (p: ProbeResult) => (expectSignature(expected)(p) === null ? null : expectNew(ctx.now, null, null)(p)) : expectSignature(expected);
    const verified = await timed(records, "verify-old", () => waitForListener(ctx, inspection, settings, accept));
    if (!verified.ok) return close("rollback-failed", `${restarted.ok ? "" : `${restarted.reason}; `}${verified.reason}`);
    const shows = signature(verified.value.result);
    if (shows !== expected) {
      const configuredCheck = await configuredMatches(ctx, shows);
      if (configuredCheck) return close("rollback-failed", configuredCheck);
      return close("rolled-back", `backup ${journal.backupId} restored; ${gone}; the listener presents ${shows}, valid, with the binding as before`);
    }
  } else if (!restarted.ok) return close("rollback-failed", restarted.reason);
  return close("rolled-back", `backup ${journal.backupId} restored${expected ? `; the listener shows ${expected} again` : ""}`);
}

export interface RestoreResult {
  readonly outcome: "restored" | "restored-unverified" | "not-found" | "busy" | "failed";
  readonly reason: string;
  /** The backup of what was there before the restore (nothing is overwritten without one). */
  readonly safetyBackupId: string | null;
  readonly presentedThumbprint: string | null;
}

/** `rdpcert backups restore ID`: back up the current state, put the backup back, restart, and check what the listener presents. */
export async function restoreBackupById(ctx: RotationContext, settings: RotationSettings, id: string): Promise<RestoreResult> {
  const startedAt = ctx.now().toISOString();
  let before: string | null = null;
  let oldPrints = "not seen";
  let newPrints = "not verified";
  const result = (outcome: RestoreResult["outcome"], reason: string, extra: Partial<RestoreResult> = {}): RestoreResult => {
    const done: RestoreResult = { outcome, reason, safetyBackupId: null, presentedThumbprint: null, ...extra };
    // A restore that changed files is a change like a rotation (issue 23): in the history and the log, with both fingerprints.
    if (done.safetyBackupId) {
      const restored = ctx.store.loadBackup(id)?.thumbprint ?? null;
      try {
        ctx.store.appendHistory({ kind: "restore", id: `restore-${id}-${startedAt.replace(/[-:.]/g, "").slice(0, 15)}`, pid: process.pid, startedAt, finishedAt: ctx.now().toISOString(), backend: ctx.backend.kind, backupId: id, safetyBackupId: done.safetyBackupId, oldThumbprint: before, newThumbprint: restored, outcome, reason });
      } catch (error) {
        ctx.log("error", `cannot record the restore in history.jsonl: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
      ctx.log(outcome === "failed" ? "error" : "info", `backups restore ${id}: ${outcome}: ${reason}; presented before: ${oldPrints} -> now: ${newPrints}; the state before is in backup ${done.safetyBackupId}`);
    }
    return done;
  };
  const steps = ctx.backend.rotation;
  if (!steps) return result("failed", `restoring is not available for the ${ctx.backend.kind} backend yet`);
  const lock = ctx.store.lock();
  if (!lock.ok) return result("busy", `another rotation is running: pid ${lock.heldBy.pid} since ${lock.heldBy.since}`);
  try {
    const backup = ctx.store.loadBackup(id);
    if (!backup) return result("not-found", `there is no backup ${id}: see rdpcert backups list`);
    if (backup.backend !== ctx.backend.kind) return result("failed", `backup ${id} was made by the ${backup.backend} backend, not ${ctx.backend.kind}`);
    const outcome = await ctx.backend.inspect();
    if (!outcome.ok) return result("failed", `cannot inspect the listener: ${outcome.reason}`);
    const current = await steps.collectBackup(outcome.inspection);
    if (!current.ok) return result("failed", `cannot back up the current state first: ${current.reason}`);
    before = current.value.thumbprint;
    // Never prune the backup being restored (issue 12, case 13).
    const safetyBackupId = ctx.store.saveBackup(current.value, `before restoring backup ${id}`, Math.max(settings.keepBackups, 2), [id]);
    const beforeProbe = await probeOf(ctx, outcome.inspection, settings.probeTimeoutMs);
    const presentedBefore = settings.restart.ifStale ? signature(beforeProbe) : null;
    oldPrints = beforeProbe.certificate ? `SHA-1 ${beforeProbe.certificate.thumbprint}, SHA-256 ${beforeProbe.certificate.sha256}` : signature(beforeProbe);
    const restored = await steps.restore(backup, { inspection: outcome.inspection });
    if (!restored.ok) return result("failed", `${restored.reason}; the state before is in backup ${safetyBackupId}`, { safetyBackupId });
    const restarted = await steps.restart(settings.restart, null);
    if (!restarted.ok) return result("failed", `${restarted.reason}; the state before is in backup ${safetyBackupId}`, { safetyBackupId });
    if (!backup.thumbprint) return result("restored-unverified", `backup ${id} restored; it holds no certificate to look for`, { safetyBackupId });
    if (presentedBefore && presentedBefore !== backup.thumbprint) await restartIfStale(ctx, settings, outcome.inspection, [], expectSignature(backup.thumbprint), presentedBefore);
    const verified = await waitForListener(ctx, outcome.inspection, settings, expectSignature(backup.thumbprint));
    if (verified.ok) newPrints = `SHA-1 ${verified.value.result.certificate!.thumbprint}, SHA-256 ${verified.value.result.certificate!.sha256}`;
    return verified.ok
      ? result("restored", `the listener presents ${backup.thumbprint} from backup ${id}`, { safetyBackupId, presentedThumbprint: backup.thumbprint })
      : result("restored-unverified", `backup ${id} restored, but ${verified.reason}`, { safetyBackupId });
  } finally {
    lock.release();
  }
}
