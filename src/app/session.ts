import type { Config } from "../core/config";
import { type CommandRunner, runCommand } from "../hosts/command-runner";
import type { HostBackend, ReplacementSpec, RestartSpec } from "../hosts/host-backend";
import { defaultXrdpRestart, hostNames } from "../hosts/local/host-names";
import { StateDir } from "../hosts/local/state-dir";
import { UntrustedPathError, untrustedExecutable } from "../hosts/local/trust";
import { selectBackend } from "../hosts/select-backend";
import { backendSettings, policyOf, withPortOverride } from "./listener-config";
import { probe } from "../probe/prober";
import { type FaultPoint, type RecoveryResult, type RotationContext, type RotationSettings, recoverInterrupted } from "../rotation/rotate";

/**
 * The application layer's one wiring: the effective configuration (file, then
 * RDPCERT_* environment, then flags: app/config.ts) becomes a session (the
 * host backend, the state dir, the prober, the clock, the log) that every use
 * case shares. Commands never wire these themselves.
 */
export interface SessionOptions {
  /** Rotate even when healthy, and even a CA-issued certificate. */
  readonly force?: boolean;
  /** Recorded in the journal and the backup. */
  readonly reason?: string | null;
  readonly log?: RotationContext["log"];
  /** `rotate --name/--ip`. */
  readonly requestedNames?: ReplacementSpec["requested"];
  /** Windows: rotate in place from inside an RDP session (the hand-off task does). */
  readonly inSession?: boolean;
  /** Windows: another listener than RDP-Tcp (a WinStations key). */
  readonly listener?: string;
}

export type Session =
  | { readonly ok: true; readonly config: Config; readonly ctx: RotationContext; readonly settings: RotationSettings }
  | { readonly ok: false; readonly reason: string; readonly fix: string | null };

/** Test-only: `RDPCERT_TEST_FAULT=<point>` kills the process at that step boundary, as a power cut would. */
export const killAtFault = (point: FaultPoint): void => {
  if (process.env.RDPCERT_TEST_FAULT === point) process.kill(process.pid, "SIGKILL");
};

/**
 * The config's `restartCommand`: "auto", null (none), or argv; its executable must be root's.
 * "auto" on xrdp restarts nothing (xrdp reads its pair for every new connection, and
 * `systemctl restart xrdp` ends every connected session): `systemctl restart xrdp`, when
 * systemd runs xrdp, only if the old certificate is still presented after the change.
 */
export async function restartSpecFor(backend: HostBackend, config: Config, runner: CommandRunner): Promise<RestartSpec> {
  const timeoutMs = config.restartTimeoutMs;
  let spec: RestartSpec =
    config.restartCommand === null
      ? { enabled: false, command: null, timeoutMs }
      : config.restartCommand === "auto"
        ? { enabled: true, command: null, ifStale: backend.kind === "xrdp" ? await defaultXrdpRestart(runner) : null, timeoutMs }
        : { enabled: true, command: config.restartCommand, timeoutMs };
  // pem-pair: its reloadCommand, unless a restartCommand was given (docs/servers/pem-pair.md).
  if (backend.kind === "pem-pair" && config.restartCommand === "auto" && config.reloadCommand)
    spec = { enabled: true, command: config.reloadCommand, timeoutMs };
  for (const file of spec.enabled ? [spec.command?.[0], spec.ifStale?.[0]] : []) {
    const untrusted = file === undefined ? null : untrustedExecutable(file);
    if (untrusted) throw new UntrustedPathError(`${untrusted}: refusing to run it as root`, "use a restart command that only root owns and can write");
  }
  return spec;
}

/** Everything a use case needs, wired to the real host. A state dir or restart command that breaks the trust rules is a refusal, not a throw. */
export async function openSession(config: Config, options: SessionOptions = {}): Promise<Session> {
  try {
    return await wire(config, options);
  } catch (error) {
    // The trust rules (docs/trust.md): a state dir or restart command that others control is refused, exit 3.
    if (error instanceof UntrustedPathError) return { ok: false, reason: error.message, fix: error.fix };
    throw error;
  }
}

async function wire(config: Config, options: SessionOptions): Promise<Session> {
  const runner = runCommand;
  new StateDir(config.stateDir).check();
  const selected = await selectBackend({
    ...backendSettings(config),
    runner,
    inSession: options.inSession,
    ...(options.listener ? { listener: options.listener } : {}),
  });
  if (!selected.ok) return { ok: false, reason: selected.reason, fix: selected.fix };
  const backend = config.port ? withPortOverride(selected.backend, config.port) : selected.backend;
  const spec: ReplacementSpec = {
    keyBits: config.keyBits,
    validityDays: config.validityDays,
    names: await hostNames(runner),
    requested: options.requestedNames ?? null,
  };
  const settings: RotationSettings = {
    spec,
    restart: await restartSpecFor(backend, config, runner),
    verifyTimeoutMs: config.verifyTimeoutMs,
    probeTimeoutMs: config.timeoutMs,
    policy: policyOf(config),
    keepBackups: config.keepBackups,
    force: options.force ?? false,
    reason: options.reason ?? null,
  };
  const ctx: RotationContext = {
    backend,
    store: new StateDir(config.stateDir),
    prober: probe,
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    fault: killAtFault,
    // winston loads only when a use case did not bring its own log.
    log: options.log ?? (await import("../log/logger")).createConsoleLog().log,
  };
  return { ok: true, config, ctx, settings };
}

/**
 * status calls this when it found an open journal (a rotation was
 * interrupted): finish or undo it under the lock before looking at anything.
 * `run` recovers through its own pass (app/run-pass.ts).
 */
export async function recoverOpenJournal(
  config: Config,
  options: { readonly inSession?: boolean; readonly log?: RotationContext["log"] } = {},
): Promise<RecoveryResult | { busy: string } | { handedOff: string; reason: string } | null> {
  const session = await openSession(config, { reason: "recover an interrupted rotation", inSession: options.inSession, log: options.log });
  if (!session.ok) return null;
  // Windows, inside an RDP session: finishing or undoing the rotation restarts Remote Desktop Services.
  const why = session.ctx.backend.rotation?.mustHandOff?.() ?? null;
  if (why) {
    const { handOff } = await import("./hand-off");
    const handed = await handOff(config, ["status"]);
    return handed.ok ? { handedOff: handed.task, reason: why } : { busy: `${why}; handing the recovery to a SYSTEM task failed: ${handed.reason}` };
  }
  const lock = session.ctx.store.lock();
  if (!lock.ok) return { busy: `a rotation is running (pid ${lock.heldBy.pid} since ${lock.heldBy.since})` };
  try {
    return await recoverInterrupted(session.ctx, session.settings);
  } finally {
    lock.release();
  }
}
