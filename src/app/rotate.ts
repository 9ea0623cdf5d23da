import type { Config } from "../core/config";
import { runCommand } from "../hosts/command-runner";
import { installedCommand } from "../hosts/local/self";
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
}

/**
 * Windows, inside an RDP session: restarting Remote Desktop Services would cut
 * this session and the rotation with it. The same rotation runs as a one-off
 * SYSTEM task instead, with --in-session.
 */
export async function handOffRotation(config: Config, request: HandOffRequest): Promise<{ ok: true; task: string } | { ok: false; reason: string }> {
  const { handOffToSystemTask, HANDOFF_TASK } = await import("../hosts/windows/windows-rotation");
  const { windowsQuote } = await import("../schedule/task/windows-task");
  const args = [installedCommand().cli, "rotate", "--yes", "--in-session", "--state-dir", config.stateDir, "--verify-timeout", String(config.verifyTimeoutMs)];
  if (request.force) args.push("--force");
  if (config.restartCommand === null) args.push("--no-restart");
  if (request.reason) args.push("--reason", request.reason);
  const result = await handOffToSystemTask(runCommand, process.execPath, args.map(windowsQuote).join(" "));
  return result.ok ? { ok: true, task: HANDOFF_TASK } : { ok: false, reason: result.reason };
}
