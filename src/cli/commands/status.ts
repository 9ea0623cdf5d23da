import { type Assessment, assess } from "../../core/assess";
import type { Policy } from "../../core/policy";
import { probeAddressFor } from "../../core/target";
import type { HostInspection, InspectOutcome } from "../../hosts/host-backend";
import { type BackendChoice, selectBackend } from "../../hosts/select-backend";
import { type ProbeResult, type Prober, probe } from "../../probe/prober";
import { exitCodeFor } from "../exit-codes";
import { statusReportJson } from "../render/status-json";
import { renderStatusText } from "../render/status-text";
import { jsonText, terminalText } from "../../core/terminal-safe";

export interface StatusCommandOptions {
  readonly backend: BackendChoice;
  readonly xrdpIni?: string;
  /** Where an interrupted rotation's journal would be; null skips the check. */
  readonly stateDir?: string | null;
  readonly timeout: number;
  readonly warnDays: number;
  readonly renewalFraction: number;
  readonly json: boolean;
}

/** Everything one status run learned; rendered as text or JSON, and reused by doctor and run. */
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
}

export interface StatusDependencies {
  readonly prober?: Prober;
  readonly now?: () => Date;
}

/** Inspect the local listener's configuration, probe it, and judge both. */
export async function collectStatus(options: Omit<StatusCommandOptions, "json">, deps: StatusDependencies = {}): Promise<StatusReport> {
  const policy: Policy = { warnDays: options.warnDays, renewalFraction: options.renewalFraction };
  const recovered = options.stateDir ? await recoverForStatus(options) : null;
  const selected = await selectBackend({ backend: options.backend, xrdpIni: options.xrdpIni });
  const outcome: InspectOutcome = selected.ok ? await selected.backend.inspect() : { ok: false, reason: selected.reason, fix: selected.fix };
  if (outcome.ok && selected.ok) for (const path of selected.backend.rotation?.removeLeftovers?.(outcome.inspection) ?? []) process.stderr.write(`rdpcert: removed ${path}, left over by an interrupted write\n`);
  const presented = outcome.ok ? await probeListener(outcome.inspection, options.timeout, deps.prober ?? probe) : null;
  const now = (deps.now ?? (() => new Date()))();
  const assessment = assess(outcome, presented, policy, now);
  return {
    backend: selected.ok ? selected.backend.kind : null,
    outcome,
    presented,
    assessment,
    policy,
    now,
    exitCode: exitCodeFor(assessment.health),
    recovered,
  };
}

async function recoverForStatus(options: Omit<StatusCommandOptions, "json">): Promise<StatusReport["recovered"]> {
  const { recoverOpenJournal } = await import("./rotate");
  const result = await recoverOpenJournal({
    backend: options.backend,
    xrdpIni: options.xrdpIni,
    stateDir: options.stateDir!,
    restart: true,
    restartTimeout: 60_000,
    verifyTimeout: 60_000,
    timeout: options.timeout,
    warnDays: options.warnDays,
    renewalFraction: options.renewalFraction,
    keyBits: 2048,
    validityDays: 180,
    keepBackups: 5,
  });
  if (!result) return null;
  if ("busy" in result) return { outcome: "busy", reason: result.busy };
  return { outcome: result.outcome, reason: `interrupted rotation ${result.journal.id} (at step ${result.journal.step}): ${result.reason}` };
}

export function probeListener(inspection: HostInspection, timeoutMs: number, prober: Prober): Promise<ProbeResult> {
  const host = probeAddressFor(inspection.listener.address);
  const port = inspection.listener.port;
  return prober({ input: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`, host, port }, { timeoutMs });
}

export async function statusCommand(options: StatusCommandOptions, deps: StatusDependencies = {}): Promise<number> {
  const report = await collectStatus(options, deps);
  process.stdout.write(options.json ? `${jsonText(statusReportJson(report), 2)}\n` : terminalText(renderStatusText(report)));
  return report.exitCode;
}
