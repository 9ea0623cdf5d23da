import { realpathSync } from "node:fs";
import { isIP } from "node:net";
import { createInterface } from "node:readline/promises";
import type { Policy } from "../../core/policy";
import { type CommandRunner, runCommand } from "../../hosts/command-runner";
import type { HostBackend, ReplacementSpec, RestartSpec } from "../../hosts/host-backend";
import { defaultXrdpRestart, hostNames } from "../../hosts/local/host-names";
import { StateDir } from "../../hosts/local/state-dir";
import { type BackendChoice, selectBackend } from "../../hosts/select-backend";
import { createConsoleLog } from "../../log/logger";
import { probe } from "../../probe/prober";
import {
  type FaultPoint,
  type RecoveryResult,
  type RotationContext,
  type RotationResult,
  type RotationSettings,
  decideRotation,
  recoverInterrupted,
  rotate,
} from "../../rotation/rotate";
import { splitCommand } from "../argv";
import { ExitCode, UsageError } from "../exit-codes";
import { rotationJson, renderRotationText } from "../render/rotate-render";

export interface RotationFlags {
  readonly backend: BackendChoice;
  readonly xrdpIni?: string;
  readonly stateDir: string;
  /** As typed on the command line (split into argv here), or argv from the config file. */
  readonly restartCommand?: string | readonly string[];
  /** commander's --no-restart sets restart=false. */
  readonly restart: boolean;
  readonly restartTimeout: number;
  readonly verifyTimeout: number;
  readonly timeout: number;
  readonly warnDays: number;
  readonly renewalFraction: number;
  readonly keyBits: 2048 | 3072 | 4096;
  readonly validityDays: number;
  readonly keepBackups: number;
  /** Probe this port instead of the configured one. */
  readonly portOverride?: number | null;
  readonly rotateDays?: number | null;
  readonly inSession?: boolean;
  /** Windows: another listener than RDP-Tcp (--listener NAME). */
  readonly listener?: string;
  /** --name/--ip: the new certificate's names instead of the old one's. */
  readonly requestedNames?: ReplacementSpec["requested"];
}

/** Checks --name and --ip before any work: one line naming the bad value. */
export function requestedNames(names: readonly string[], ips: readonly string[]): ReplacementSpec["requested"] {
  for (const name of names) {
    if (!/^(\*\.)?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/.test(name) || name.length > 253) {
      throw new UsageError(`--name ${JSON.stringify(name)} is not a DNS name`);
    }
  }
  for (const ip of ips) if (isIP(ip) === 0) throw new UsageError(`--ip ${JSON.stringify(ip)} is not an IP address`);
  return names.length || ips.length ? { dnsNames: names.map((n) => n.toLowerCase().replace(/\.$/, "")), ipAddresses: [...ips] } : null;
}

export interface RotateCommandOptions extends RotationFlags {
  readonly dryRun: boolean;
  readonly yes: boolean;
  readonly force: boolean;
  readonly reason?: string;
  readonly json: boolean;
}

/** Test-only: `RDPCERT_TEST_FAULT=<point>` kills the process at that step boundary, as a power cut would. */
export const killAtFault = (point: FaultPoint): void => {
  if (process.env.RDPCERT_TEST_FAULT === point) process.kill(process.pid, "SIGKILL");
};

export async function restartSpecFor(backend: HostBackend, flags: RotationFlags, runner: CommandRunner): Promise<RestartSpec> {
  if (flags.restartCommand !== undefined && !flags.restart) throw new UsageError("--restart-command and --no-restart contradict each other: pass one");
  if (!flags.restart) return { enabled: false, command: null, timeoutMs: flags.restartTimeout };
  if (typeof flags.restartCommand === "string") return { enabled: true, command: splitCommand(flags.restartCommand, "--restart-command"), timeoutMs: flags.restartTimeout };
  if (flags.restartCommand !== undefined) return { enabled: true, command: flags.restartCommand, timeoutMs: flags.restartTimeout };
  return { enabled: true, command: backend.kind === "xrdp" ? await defaultXrdpRestart(runner) : null, timeoutMs: flags.restartTimeout };
}

/** Everything a rotation needs, wired to the real host; shared by rotate, backups, status and run. */
export async function rotationSetup(flags: RotationFlags, extra: { force: boolean; reason: string | null; log?: RotationContext["log"] }) {
  const runner = runCommand;
  const selected = await selectBackend({ backend: flags.backend, xrdpIni: flags.xrdpIni, runner, inSession: flags.inSession, ...(flags.listener ? { listener: flags.listener } : {}) });
  if (!selected.ok) return { ok: false as const, reason: selected.reason, fix: selected.fix };
  const backend = flags.portOverride ? withPortOverride(selected.backend, flags.portOverride) : selected.backend;
  const policy: Policy = { warnDays: flags.warnDays, renewalFraction: flags.renewalFraction, rotateDays: flags.rotateDays ?? null };
  const spec: ReplacementSpec = { keyBits: flags.keyBits, validityDays: flags.validityDays, names: await hostNames(runner), requested: flags.requestedNames ?? null };
  const settings: RotationSettings = {
    spec,
    restart: await restartSpecFor(backend, flags, runner),
    verifyTimeoutMs: flags.verifyTimeout,
    probeTimeoutMs: flags.timeout,
    policy,
    keepBackups: flags.keepBackups,
    force: extra.force,
    reason: extra.reason,
  };
  const logger = extra.log ?? createConsoleLog().log;
  const ctx: RotationContext = {
    backend,
    store: new StateDir(flags.stateDir),
    prober: probe,
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    fault: killAtFault,
    log: logger,
  };
  return { ok: true as const, ctx, settings };
}

/** The config's `port`: probe and verify on this port (a port forward, a NAT) instead of the configured one. */
export function withPortOverride(backend: HostBackend, port: number): HostBackend {
  return {
    ...backend,
    inspect: async () => {
      const outcome = await backend.inspect();
      return outcome.ok ? { ok: true, inspection: { ...outcome.inspection, listener: { ...outcome.inspection.listener, port } } } : outcome;
    },
  };
}

export function exitCodeForRotation(result: RotationResult): number {
  switch (result.outcome) {
    case "rotated":
    case "not-needed":
    case "planned":
      return ExitCode.OK;
    case "rolled-back":
    case "rollback-failed":
      return ExitCode.CRITICAL;
    case "refused":
    case "busy":
      return ExitCode.UNKNOWN;
  }
}

async function confirm(plan: readonly string[]): Promise<boolean> {
  process.stderr.write(`rdpcert will:\n${plan.map((line, i) => `  ${i + 1}. ${line}`).join("\n")}\n`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question("Rotate the listener certificate now? [y/N] ");
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export async function rotateCommand(options: RotateCommandOptions): Promise<number> {
  if (!options.dryRun && !options.yes && !process.stdin.isTTY) {
    throw new UsageError("rotate changes the listener's certificate: pass --yes to confirm (or --dry-run to see the plan)");
  }
  const log = options.json ? createConsoleLog({ level: "warn" }).log : undefined;
  const setup = await rotationSetup(options, { force: options.force, reason: options.reason ?? null, log });
  const write = (result: RotationResult): number => {
    const code = exitCodeForRotation(result);
    process.stdout.write(options.json ? `${JSON.stringify(rotationJson(result, code, options.dryRun, new Date()), null, 2)}\n` : renderRotationText(result, options.dryRun));
    return code;
  };
  if (!setup.ok) {
    process.stdout.write(options.json ? `${JSON.stringify({ schema: "rdpcert.rotate/v1", outcome: "refused", exitCode: 3, reason: setup.reason, fix: setup.fix })}\n` : `refused  ${setup.reason}\n  fix: ${setup.fix}\n`);
    return ExitCode.UNKNOWN;
  }
  const handOff = setup.ctx.backend.rotation?.mustHandOff?.() ?? null;
  if (handOff && !options.dryRun) return handOffRotation(options, handOff);
  if (!options.dryRun && !options.yes) {
    const decision = await decideRotation(setup.ctx, setup.settings);
    if (decision.kind !== "rotate") return write({ ...(await rotate(setup.ctx, setup.settings, { dryRun: true })) });
    if (!(await confirm(decision.plan))) {
      process.stderr.write("rdpcert: nothing changed\n");
      return ExitCode.OK;
    }
  }
  return write(await rotate(setup.ctx, setup.settings, { dryRun: options.dryRun }));
}

/**
 * status and run call this first: an open journal means a rotation was
 * interrupted; finish or undo it under the lock before looking at anything.
 */
export async function recoverOpenJournal(flags: RotationFlags): Promise<RecoveryResult | { busy: string } | null> {
  if (!new StateDir(flags.stateDir).readJournal()) return null;
  const setup = await rotationSetup(flags, { force: false, reason: "recover an interrupted rotation" });
  if (!setup.ok) return null;
  const lock = setup.ctx.store.lock();
  if (!lock.ok) return { busy: `a rotation is running (pid ${lock.heldBy.pid} since ${lock.heldBy.since})` };
  try {
    return await recoverInterrupted(setup.ctx, setup.settings);
  } finally {
    lock.release();
  }
}

/**
 * Windows, inside an RDP session: restarting Remote Desktop Services would cut
 * this session and the rotation with it. The same rotation runs as a one-off
 * SYSTEM task instead, with --in-session, and the user is told how to check it.
 */
async function handOffRotation(options: RotateCommandOptions, why: string): Promise<number> {
  const { handOffArguments, handOffToSystemTask, HANDOFF_TASK } = await import("../../hosts/windows/windows-rotation");
  const { windowsQuote } = await import("../../schedule/task/windows-task");
  const args = handOffArguments(realpathSync(process.argv[1] ?? ""), options, process.cwd());
  const result = await handOffToSystemTask(runCommand, process.execPath, args.map(windowsQuote).join(" "));
  if (!result.ok) {
    process.stderr.write(`rdpcert: ${why}; handing the rotation to a SYSTEM task failed: ${result.reason}\n`);
    return ExitCode.UNKNOWN;
  }
  const text =
    `handed-off  ${why}.\n` +
    `  The rotation now runs as the SYSTEM task ${HANDOFF_TASK}; this session may disconnect for a moment.\n` +
    `  Check the result: rdpcert status   (or Get-ScheduledTaskInfo -TaskName ${HANDOFF_TASK}, and the log in the log dir)\n` +
    `  To rotate from this session anyway: rdpcert rotate --in-session --yes\n`;
  process.stdout.write(options.json ? `${JSON.stringify({ schema: "rdpcert.rotate/v1", outcome: "handed-off", exitCode: 0, reason: why, task: HANDOFF_TASK })}\n` : text);
  return ExitCode.OK;
}
