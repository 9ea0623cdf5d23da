import type { Config } from "../core/config";
import { runCommand } from "../hosts/command-runner";
import { installedCommand, workingDirectory } from "../hosts/local/self";
import { type Decision, type RotationResult, decideRotation, rotate } from "../rotation/rotate";
import { type Session, type SessionOptions, openSession } from "./session";

/**
 * `rdpcert rotate`'s use case: the session, the decision (the exact plan), the
 * rotation itself, and on Windows inside an RDP session the hand-off to a
 * one-off SYSTEM task.
 */
export async function rotationSession(config: Config, options: SessionOptions): Promise<Session> {
  return openSession(config, options);
}

/** Why this rotation must run outside the current RDP session (Windows), or null. */
export function mustHandOff(session: Extract<Session, { ok: true }>): string | null {
  return session.ctx.backend.rotation?.mustHandOff?.() ?? null;
}

export function decide(session: Extract<Session, { ok: true }>): Promise<Decision> {
  return decideRotation(session.ctx, session.settings);
}

export function runRotation(session: Extract<Session, { ok: true }>, dryRun: boolean): Promise<RotationResult> {
  return rotate(session.ctx, session.settings, { dryRun });
}

export interface HandOffRequest {
  readonly force: boolean;
  readonly reason: string | null;
  /** Windows: another listener than RDP-Tcp. */
  readonly listener?: string;
}

/**
 * Windows, inside an RDP session: restarting Remote Desktop Services would cut
 * this session and the rotation with it. The same rotation runs as a one-off
 * SYSTEM task instead, with --in-session and every option of this one.
 */
export async function handOffRotation(config: Config, request: HandOffRequest): Promise<{ ok: true; task: string } | { ok: false; reason: string }> {
  const { handOffArguments, handOffToSystemTask, HANDOFF_TASK } = await import("../hosts/windows/windows-rotation");
  const { windowsQuote } = await import("../schedule/task/windows-task");
  const args = handOffArguments(
    installedCommand().cli,
    {
      stateDir: config.stateDir,
      verifyTimeout: config.verifyTimeoutMs,
      restartTimeout: config.restartTimeoutMs,
      timeout: config.timeoutMs,
      warnDays: config.warnDays,
      keepBackups: config.keepBackups,
      force: request.force,
      restart: config.restartCommand !== null,
      reason: request.reason,
      ...(request.listener ? { listener: request.listener } : {}),
    },
    workingDirectory(),
  );
  const result = await handOffToSystemTask(runCommand, process.execPath, args.map(windowsQuote).join(" "));
  return result.ok ? { ok: true, task: HANDOFF_TASK } : { ok: false, reason: result.reason };
}
