import { X509Certificate } from "node:crypto";
import type { Assessment } from "../core/assess";
import { DAY_MS, describeCertificate, thumbprintOf } from "../core/certificate";
import { checkMaterial } from "../core/deploy-input";
import { makePinBundle } from "../core/pin-bundle";
import type { RunAction } from "../core/run-policy";
import { BACKDATE_MS, buildSelfSigned, describeNames, generateKey, replacementNames } from "../core/self-signed";
import { type StagedMeta, type StagedView, decideStage, stagedUnusable, stagedView } from "../core/stage-policy";
import type { SuppliedCertificate } from "../hosts/host-backend";
import { type StagedPair, consumeStaged, readStaged, writeStaged } from "../hosts/local/staged-pair";
export type { StagedView } from "../core/stage-policy";
import { probeAddressFor } from "../core/target";
import { type RotationResult, deploy } from "../rotation/rotate";
import { clientName, pinFileStem, publishPins, regFileBytes } from "./pin-bundle";
import type { Session } from "./session";

/**
 * Staged rotation (issue 25, docs/hooks-and-staging.md): `rotate --stage` makes the
 * next pair by rotate's rules (key size, validity, the old certificate's names or
 * --name/--ip) and its pin bundle in the state dir, and serves nothing new;
 * `rotate --activate` (or `run`, stageDays later: core/stage-policy.ts) puts
 * exactly that pair in place through deploy's supplied-pair path (lock, journal,
 * backup, verification on the wire, rollback) and consumes it, so that it is
 * activated once.
 */
type Open = Extract<Session, { ok: true }>;

export type StageResult =
  | { readonly outcome: "staged"; readonly reason: string; readonly plan: readonly string[]; readonly staged: StagedView }
  /** --dry-run: the plan; the pair is not made, so it has no fingerprints yet. */
  | { readonly outcome: "planned"; readonly reason: string; readonly plan: readonly string[] }
  | { readonly outcome: "refused" | "busy"; readonly reason: string; readonly fix: string | null; readonly plan: readonly string[] };

function refused(reason: string, fix: string | null, plan: readonly string[] = []): StageResult {
  return { outcome: "refused", reason, fix, plan };
}

/** `rotate --stage`: the next pair and its pin bundle in the state dir; the listener and its files unchanged. */
export async function stagePair(session: Open, options: { readonly dryRun: boolean; readonly force: boolean }): Promise<StageResult> {
  const { ctx, settings, config } = session;
  if (ctx.backend.kind !== "xrdp")
    return refused(
      `staged rotation is not available for the ${ctx.backend.kind} backend: Windows makes its own self-signed certificate when the old one goes`,
      "rotate without --stage",
    );
  const inspected = await ctx.backend.inspect();
  if (!inspected.ok) return refused(`cannot inspect the listener: ${inspected.reason}`, inspected.fix);
  const inspection = inspected.inspection;
  if (inspection.issuance === "ca-issued" && !options.force) {
    return refused(
      "the configured certificate is CA-issued: a staged self-signed pair would replace it with one clients distrust",
      "renew it with its CA (rdpcert deploy); pass --force only to stage a self-signed pair anyway",
    );
  }
  const existing = readStaged(config.stateDir, false);
  if (existing && !options.force) {
    return refused(
      `a pair is already staged (SHA-256 ${existing.meta.sha256}, since ${existing.meta.stagedAt}): staging another would make the pin clients were given useless`,
      "activate it (rdpcert rotate --activate --yes), or pass --force to stage a new one and give clients its pin instead",
    );
  }
  const old = inspection.certificate.state === "present" ? describeCertificate(inspection.certificate.der) : null;
  const names = replacementNames(old, settings.spec.names, settings.spec.requested);
  // The name clients connect with, as the bundles after a change have it (app/pin-bundle.ts clientName).
  const sans = [...names.dnsNames.map((n) => `DNS:${n}`), ...names.ipAddresses.map((n) => `IP:${n}`)];
  const host = clientName(sans, settings.spec.names, probeAddressFor(inspection.listener.address));
  const port = inspection.listener.port;
  const plan = [
    `generate a new RSA ${settings.spec.keyBits} key and a self-signed certificate for ${describeNames(names)}, valid ${settings.spec.validityDays} days from an hour ago (as rotate does)`,
    `write them and their pin bundle for ${host}:${port} to ${config.stateDir}/staged/ (0700; the key 0600); the listener, its files and what it presents stay as they are`,
    config.stageDays === null
      ? "activate it later with rdpcert rotate --activate (stageDays is not set)"
      : `rdpcert run activates it in ${config.stageDays} days (stageDays), or rdpcert rotate --activate at any time`,
    ...(existing ? [`replace the pair staged at ${existing.meta.stagedAt} (SHA-256 ${existing.meta.sha256}; --force)`] : []),
  ];
  const now = ctx.now();
  if (options.dryRun) return { outcome: "planned", reason: "would stage the next pair", plan };
  const lock = ctx.store.lock();
  if (!lock.ok)
    return {
      outcome: "busy",
      reason: `another rotation is running: pid ${lock.heldBy.pid} since ${lock.heldBy.since}`,
      fix: "wait for it to finish, then stage again",
      plan,
    };
  try {
    const pair = buildSelfSigned(generateKey({ type: "rsa", bits: settings.spec.keyBits }), {
      commonName: names.commonName,
      dnsNames: names.dnsNames,
      ipAddresses: names.ipAddresses,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + settings.spec.validityDays * DAY_MS),
    });
    const info = describeCertificate(Buffer.from(new X509Certificate(pair.certPem).raw));
    const bundle = makePinBundle(pair.certPem, host, port, now);
    const meta: StagedMeta = {
      schema: 1,
      stagedAt: now.toISOString(),
      sha1: info.thumbprint,
      sha256: info.sha256,
      notBefore: info.notBefore.toISOString(),
      notAfter: info.notAfter.toISOString(),
      names: info.subjectAltNames,
      replaces: old?.thumbprint ?? null,
      listener: { host, port },
    };
    const written = writeStaged(config.stateDir, {
      certPem: pair.certPem,
      keyPem: pair.keyPem,
      meta,
      bundle: {
        stem: pinFileStem(host, port),
        files: [
          { suffix: ".json", data: `${JSON.stringify(bundle, null, 2)}\n` },
          { suffix: ".known_hosts2", data: `${bundle.freerdp2KnownHosts2}\n` },
          { suffix: ".pem", data: bundle.freerdp3ServerPem.content },
          { suffix: ".reg", data: regFileBytes(bundle.mstscReg) },
        ],
      },
    });
    ctx.log(
      "info",
      `staged the next pair for the ${ctx.backend.kind} listener ${host}:${port}: SHA-1 ${meta.sha1}, SHA-256 ${meta.sha256}, valid until ${meta.notAfter}; pin bundle ${written.bundlePath}; nothing served changed`,
    );
    return {
      outcome: "staged",
      reason: `the next pair is staged (SHA-256 ${meta.sha256}); nothing served changed${old ? ` (configured: ${old.thumbprint})` : ""}`,
      plan,
      staged: stagedView(written, config.stageDays),
    };
  } finally {
    lock.release();
  }
}

export type ActivateResult =
  | { readonly kind: "rotation"; readonly result: RotationResult; readonly staged: StagedView }
  | { readonly kind: "refused"; readonly reason: string; readonly fix: string | null };

/** The last staged pair that was activated, from history.jsonl: for the refusal of a second --activate. */
function lastActivated(session: Open): { sha256: string; at: string } | null {
  const records = session.ctx.store.history();
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i] as { kind?: unknown; sha256?: unknown; at?: unknown } | null;
    if (r && r.kind === "stage-activated" && typeof r.sha256 === "string" && typeof r.at === "string") return { sha256: r.sha256, at: r.at };
  }
  return null;
}

/** The staged pair as deploy takes it, checked as deploy checks a supplied certificate (key match, validity, usage). */
function suppliedOf(session: Open, pair: StagedPair): SuppliedCertificate | { refused: string } {
  const der = Buffer.from(new X509Certificate(pair.certPem).raw);
  if (thumbprintOf(der) !== pair.meta.sha1) return { refused: `${pair.dir}/cert.pem is not the staged certificate ${pair.meta.sha1}` };
  const checked = checkMaterial(
    { origin: `the pair staged at ${pair.meta.stagedAt}`, certificates: [der], keyPem: pair.keyPem },
    { now: session.ctx.now(), hostNames: session.settings.spec.names, requireCompleteChain: false, roots: [] },
  );
  return checked.ok ? checked.certificate : { refused: checked.reason };
}

/**
 * `rotate --activate` (and `run` when the staged pair is due): exactly the staged pair, through
 * deploy's path, verified on the wire; consumed once it is presented. A rolled-back activation
 * keeps it staged (clients were told its pin).
 */
export async function activateStaged(
  session: Open,
  options: { readonly dryRun: boolean; readonly force: boolean; readonly publish?: boolean },
): Promise<ActivateResult> {
  const { ctx, settings, config } = session;
  const pair = readStaged(config.stateDir);
  if (!pair) {
    const last = lastActivated(session);
    return {
      kind: "refused",
      reason: last ? `nothing is staged: the last staged pair (SHA-256 ${last.sha256}) was activated at ${last.at}` : "nothing is staged",
      fix: "stage the next pair first: rdpcert rotate --stage",
    };
  }
  const unusable = stagedUnusable(pair.meta, ctx.now(), config.criticalDays);
  if (unusable)
    return { kind: "refused", reason: `${unusable}: it is not activated`, fix: "stage a new pair (rdpcert rotate --stage --force) and give clients its pin" };
  const supplied = suppliedOf(session, pair);
  if ("refused" in supplied)
    return { kind: "refused", reason: `the staged pair cannot be activated: ${supplied.refused}`, fix: "stage a new pair (rdpcert rotate --stage --force)" };
  if (!options.force) {
    const inspected = await ctx.backend.inspect();
    if (inspected.ok && inspected.inspection.issuance === "ca-issued") {
      return {
        kind: "refused",
        reason: "the configured certificate is CA-issued: activating the staged self-signed pair would make clients distrust the server",
        fix: "pass --force to activate it anyway",
      };
    }
  }
  const deployed = await deploy(ctx, settings, supplied, { dryRun: options.dryRun, removeOld: false });
  // `rotate --activate`: the pin bundle as after any change (`run` publishes its own pass's).
  const result = options.publish ? await publishPins(session, deployed) : deployed;
  const staged = stagedView(pair, config.stageDays);
  if (!options.dryRun && (result.outcome === "deployed" || result.outcome === "not-needed")) {
    // Consumed once: an activation that is presented (or already was) removes the staged pair.
    consumeStaged(config.stateDir, pair.meta.sha256);
    ctx.store.appendHistory({
      kind: "stage-activated",
      sha1: pair.meta.sha1,
      sha256: pair.meta.sha256,
      stagedAt: pair.meta.stagedAt,
      at: ctx.now().toISOString(),
      outcome: result.outcome,
    });
    ctx.log("info", `activated the staged pair SHA-256 ${pair.meta.sha256} (staged ${pair.meta.stagedAt}); it is no longer staged`);
  }
  return { kind: "rotation", result, staged };
}

/** What `run` does instead of a plain rotation (schedule/run-pass.ts), or null to rotate as before. */
export interface StageStepResult {
  readonly outcome: string;
  readonly exitCode: number;
  readonly reason: string;
  readonly rotation: RotationResult | null;
  /** The activation failed (rolled back): the backoff counts it. */
  readonly failed: boolean;
  /** After an activation: the activated certificate's notAfter (the pass's certNotAfter, for the textfile metrics). */
  readonly certNotAfter?: Date;
}

export async function runStageStep(
  session: Open,
  action: Extract<RunAction, { kind: "rotate" }>,
  assessment: Assessment,
  dryRun: boolean,
): Promise<StageStepResult | null> {
  const { ctx, config } = session;
  const staged = readStaged(config.stateDir, false);
  const step = decideStage({
    problem: action.problem,
    assessment,
    staged: staged?.meta ?? null,
    stageDays: config.stageDays,
    criticalDays: config.criticalDays,
    now: ctx.now(),
  });
  const warnExit = assessment.problems.some((p) => p.code === "expiring") ? 1 : 0;
  switch (step.kind) {
    case "rotate":
      return null;
    case "wait":
      ctx.log("info", step.reason);
      return {
        outcome: dryRun ? "dry-run: wait for the staged pair" : "staged-waiting",
        exitCode: warnExit,
        reason: step.reason,
        rotation: null,
        failed: false,
      };
    case "stage": {
      if (dryRun) return { outcome: "dry-run: would stage", exitCode: 0, reason: step.reason, rotation: null, failed: false };
      ctx.log("info", step.reason);
      const done = await stagePair(session, { dryRun: false, force: true });
      if (done.outcome === "staged")
        return {
          outcome: "staged",
          exitCode: warnExit,
          reason: `${done.reason}; run activates it on ${done.staged.activateAt?.slice(0, 10) ?? "rotate --activate"}`,
          rotation: null,
          failed: false,
        };
      ctx.log("error", `staging refused: ${done.reason}`);
      return { outcome: done.outcome, exitCode: 2, reason: done.reason, rotation: null, failed: done.outcome === "refused" };
    }
    case "activate": {
      ctx.log(step.reason.includes("before its stageDays") ? "warn" : "info", step.reason);
      const activated = await activateStaged(session, { dryRun, force: false });
      if (activated.kind === "refused") {
        ctx.log("error", `activating the staged pair refused: ${activated.reason}`);
        return { outcome: dryRun ? "dry-run: would refuse" : "refused", exitCode: 2, reason: activated.reason, rotation: null, failed: false };
      }
      const r = activated.result;
      if (dryRun)
        return {
          outcome: r.outcome === "planned" ? "dry-run: would activate" : `dry-run: ${r.outcome}`,
          exitCode: r.outcome === "refused" ? 2 : 0,
          reason: step.reason,
          rotation: r,
          failed: false,
        };
      if (r.outcome === "deployed" || r.outcome === "not-needed")
        return {
          outcome: "activated",
          exitCode: 0,
          reason: `${step.reason}; ${r.reason}`,
          rotation: r,
          failed: false,
          certNotAfter: new Date(activated.staged.notAfter),
        };
      if (r.outcome === "busy") return { outcome: "busy", exitCode: assessment.health === "warn" ? 1 : 2, reason: r.reason, rotation: r, failed: false };
      ctx.log("error", `activating the staged pair ${r.outcome}: ${r.reason}`);
      return { outcome: r.outcome, exitCode: 2, reason: r.reason, rotation: r, failed: r.outcome !== "refused" };
    }
  }
}
