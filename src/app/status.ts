import { type Assessment, assess } from "../core/assess";
import type { Config } from "../core/config";
import { exitCodeFor } from "../core/exit-code";
import type { HostInspection, InspectOutcome } from "../core/inspection";
import type { Policy } from "../core/policy";
import type { ProbeResult } from "../core/probe-result";
import type { StagedView } from "../core/stage-policy";
import { formatEndpoint, probeAddressFor } from "../core/target";
import type { HostBackend } from "../hosts/host-backend";
import { selectBackend } from "../hosts/select-backend";
import { type Prober, probe } from "../probe/prober";
import { backendSettings, policyOf, withPortOverride } from "./listener-config";

/** Everything one status run learned; rendered as text or JSON by the CLI, and reused by doctor. */
export interface StatusReport {
  readonly backend: string | null;
  readonly outcome: InspectOutcome;
  readonly presented: ProbeResult | null;
  readonly assessment: Assessment;
  readonly policy: Policy;
  readonly now: Date;
  readonly exitCode: number;
  /** What status did about an interrupted rotation it found (null: none was open). */
  readonly recovered: { readonly outcome: string; readonly reason: string } | null;
  /** Temp files of an interrupted crash-safe write that were removed (a key's temp file is a copy of the key). */
  readonly removedLeftovers: readonly string[];
  /** A pair staged by `rotate --stage` and not activated yet (null: none, or the state dir is not readable here). */
  readonly staged?: StagedView | null;
}

export interface StatusDependencies {
  readonly prober?: Prober;
  readonly now?: () => Date;
  /** false: do not look for an interrupted rotation in the state dir (doctor). */
  readonly recover?: boolean;
  /** Windows: recover in place from inside an RDP session (the hand-off task does). */
  readonly inSession?: boolean;
  /** Windows: another listener than RDP-Tcp (a WinStations key), as rotate --listener takes it. */
  readonly listener?: string;
  /** The backend to inspect; default: the one the configuration selects (src/hosts/select-backend.ts). */
  readonly backend?: HostBackend;
}

/** Inspect the local listener's configuration, probe it, and judge both. */
export async function collectStatus(config: Config, deps: StatusDependencies = {}): Promise<StatusReport> {
  const policy = policyOf(config);
  const recovered = deps.recover === false ? null : await recoverForStatus(config, deps.inSession === true);
  const selected: Awaited<ReturnType<typeof selectBackend>> = deps.backend
    ? { ok: true, backend: deps.backend }
    : await selectBackend({ ...backendSettings(config), ...(deps.listener ? { listener: deps.listener } : {}) });
  const backend = selected.ok && config.port ? withPortOverride(selected.backend, config.port) : selected.ok ? selected.backend : null;
  const prober = deps.prober ?? probe;
  // The probe starts as soon as the backend knows the listener, and the wire answers while the inspection goes on.
  const early: { probe?: { readonly endpoint: string; readonly result: Promise<ProbeResult> } } = {};
  const outcome: InspectOutcome = backend
    ? await backend.inspect({
        listenerKnown: (listener) => {
          early.probe = { endpoint: endpointOf(listener), result: probeEndpoint(listener, config.timeoutMs, prober) };
        },
      })
    : { ok: false, reason: selected.ok ? "" : selected.reason, fix: selected.ok ? null : selected.fix };
  const removedLeftovers = outcome.ok && backend ? (backend.rotation?.removeLeftovers?.(outcome.inspection) ?? []) : [];
  const started = early.probe;
  // The inspection's listener is the one judged: the early probe counts only when it went to that endpoint.
  const presented = !outcome.ok
    ? null
    : started && started.endpoint === endpointOf(outcome.inspection.listener)
      ? await started.result
      : await probeListener(outcome.inspection, config.timeoutMs, prober);
  if (!outcome.ok && started) await started.result;
  const now = (deps.now ?? (() => new Date()))();
  const assessment = assess(outcome, presented, policy, now);
  const staged = deps.recover === false ? null : await stagedForStatus(config);
  return {
    backend: backend?.kind ?? null,
    outcome,
    presented,
    assessment,
    policy,
    now,
    exitCode: exitCodeFor(assessment.health),
    recovered,
    removedLeftovers,
    staged,
  };
}

/** The staged pair's facts, never its key; null when none is staged or this user cannot read the state dir. */
async function stagedForStatus(config: Config): Promise<StagedView | null> {
  const [{ readStaged }, { stagedView }] = await Promise.all([import("../hosts/local/staged-pair"), import("../core/stage-policy")]);
  try {
    const pair = readStaged(config.stateDir, false);
    return pair ? stagedView(pair, config.stageDays) : null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EACCES") return null;
    throw error;
  }
}

async function recoverForStatus(config: Config, inSession: boolean): Promise<StatusReport["recovered"]> {
  // In the hand-off task (--in-session) nobody reads the console: the recovery is logged to the log dir.
  const fileLog = inSession ? (await import("../log/logger")).createLog({ logDir: config.logDir, console: true, consoleLevel: "warn" }) : null;
  try {
    return await recoverWith(config, inSession, fileLog?.log);
  } finally {
    await fileLog?.close();
  }
}

async function recoverWith(
  config: Config,
  inSession: boolean,
  log: ((level: "info" | "warn" | "error", message: string) => void) | undefined,
): Promise<StatusReport["recovered"]> {
  // The session (rotation, hand-off) loads only when a journal is open: status stays quick.
  const { StateDir } = await import("../hosts/local/state-dir");
  const state = new StateDir(config.stateDir);
  state.check();
  if (!state.readJournal()) return null;
  const { recoverOpenJournal } = await import("./session");
  const result = await recoverOpenJournal(config, { inSession, log });
  if (!result) return null;
  if ("busy" in result) return { outcome: "busy", reason: result.busy };
  if ("handedOff" in result)
    return {
      outcome: "handed-off",
      reason: `${result.reason}: an interrupted rotation is being finished or undone by the SYSTEM task ${result.handedOff}; run rdpcert status again in a minute`,
    };
  return { outcome: result.outcome, reason: `interrupted rotation ${result.journal.id} (at step ${result.journal.step}): ${result.reason}` };
}

export function probeListener(inspection: HostInspection, timeoutMs: number, prober: Prober): Promise<ProbeResult> {
  return probeEndpoint(inspection.listener, timeoutMs, prober);
}

function probeEndpoint(listener: { readonly address: string | null; readonly port: number }, timeoutMs: number, prober: Prober): Promise<ProbeResult> {
  const host = probeAddressFor(listener.address);
  return prober({ input: formatEndpoint(host, listener.port), host, port: listener.port }, { timeoutMs });
}

const endpointOf = (listener: { readonly address: string | null; readonly port: number }): string =>
  formatEndpoint(probeAddressFor(listener.address), listener.port);
