import type { ReplacementSpec } from "../hosts/host-backend";
import type { Config } from "../core/config";
import { type Decision, type RotationResult, decideRotation, rotate } from "../rotation/rotate";
import { publishPins } from "./pin-bundle";
import { type HandOffRequest, type HandOffResult, handOff } from "./hand-off";
import { type Session, type SessionOptions, openSession } from "./session";

/** `rotate --name/--ip`: the names the new certificate must carry instead of the old one's. */
export type RequestedNames = ReplacementSpec["requested"];

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

export async function runRotation(session: Extract<Session, { ok: true }>, dryRun: boolean): Promise<RotationResult> {
  // Issue 25: after a verified change, the clients' pin bundle.
  return publishPins(session, await rotate(session.ctx, session.settings, { dryRun }));
}

/** `rotate`'s hand-off to a SYSTEM task (app/hand-off.ts). */
export function handOffRotation(config: Config, request: HandOffRequest): Promise<HandOffResult> {
  return handOff(config, ["rotate"], request);
}
