import type { Assessment } from "./assess";
import { daysLeft } from "./validity";
import { DAY_MS } from "./certificate";

/**
 * Staged rotation (issue 25, docs/hooks-and-staging.md): `rotate --stage` makes the
 * next pair and its pin bundle in the state dir without serving it; clients are
 * told the new pin; `rotate --activate`, or `run` `stageDays` later, switches to
 * exactly that pair. Pure: what `run` does with a staged pair, decided from the
 * verdict, the staged pair's facts, the policy and the time.
 */
export interface StagedMeta {
  readonly schema: 1;
  readonly stagedAt: string;
  readonly sha1: string;
  readonly sha256: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** DNS:name / IP:address, as in the certificate. */
  readonly names: readonly string[];
  /** SHA-1 of the configured certificate when it was staged. */
  readonly replaces: string | null;
  /** Where clients reach the listener, as in the staged pin bundle. */
  readonly listener: { readonly host: string; readonly port: number };
}

/** Codes of the problems a renewal answers; anything else a rotation fixes is a repair, which does not wait. */
const RENEWAL_CODES: ReadonlySet<string> = new Set(["renewal-due", "expiring"]);

/** When `run` activates a staged pair: stageDays after it was staged; null when stageDays is not set (only `rotate --activate` does). */
export function activationTime(meta: Pick<StagedMeta, "stagedAt">, stageDays: number | null): Date | null {
  return stageDays === null ? null : new Date(Date.parse(meta.stagedAt) + stageDays * DAY_MS);
}

/** Why a staged pair must not be activated now (not yet valid, expired, or expiring within criticalDays), or null. */
export function stagedUnusable(meta: Pick<StagedMeta, "notBefore" | "notAfter" | "sha256">, now: Date, criticalDays: number): string | null {
  if (now.getTime() < Date.parse(meta.notBefore)) return `the staged pair (SHA-256 ${meta.sha256}) is not valid before ${meta.notBefore}`;
  if (now.getTime() > Date.parse(meta.notAfter)) return `the staged pair (SHA-256 ${meta.sha256}) expired on ${meta.notAfter}`;
  const left = daysLeft(new Date(meta.notAfter), now);
  if (left <= criticalDays) return `the staged pair (SHA-256 ${meta.sha256}) expires in ${left} days (criticalDays ${criticalDays})`;
  return null;
}

export type StageStep =
  /** No staging: rotate as before. */
  | { readonly kind: "rotate" }
  | { readonly kind: "stage"; readonly reason: string }
  | { readonly kind: "wait"; readonly until: string; readonly reason: string }
  | { readonly kind: "activate"; readonly reason: string };

export interface StageInput {
  /** The problem code that made `run` decide to rotate. */
  readonly problem: string;
  readonly assessment: Assessment;
  readonly staged: StagedMeta | null;
  readonly stageDays: number | null;
  readonly criticalDays: number;
  readonly now: Date;
}

/**
 * `run`, when it would rotate a self-signed certificate:
 * - a usable staged pair is activated at once for a repair (corrupt, expired, key missing: clients
 *   already know its pin), and otherwise stageDays after it was staged, or earlier when the current
 *   certificate would expire within criticalDays (expiry comes first: activated anyway, and said so);
 *   without stageDays, at once (an admin staged it by hand: its pin is the one clients were told);
 * - with stageDays and no usable staged pair, a renewal stages one (a repair rotates at once);
 * - otherwise: rotate, as without staging.
 */
export function decideStage(input: StageInput): StageStep {
  const { staged, stageDays, now, assessment } = input;
  const renewal = RENEWAL_CODES.has(input.problem);
  const unusable = staged ? stagedUnusable(staged, now, input.criticalDays) : null;
  if (staged && unusable === null) {
    if (!renewal) return { kind: "activate", reason: `a repair (${input.problem}) does not wait: activating the staged pair SHA-256 ${staged.sha256} now` };
    const at = activationTime(staged, stageDays);
    if (at === null)
      return { kind: "activate", reason: `activating the staged pair SHA-256 ${staged.sha256} (staged ${staged.stagedAt.slice(0, 10)}; stageDays is not set)` };
    if (now.getTime() >= at.getTime())
      return {
        kind: "activate",
        reason: `stageDays (${stageDays}) have passed since ${staged.stagedAt.slice(0, 10)}: activating the staged pair SHA-256 ${staged.sha256}`,
      };
    const shown = assessment.configured ?? assessment.presented;
    const left = shown ? daysLeft(shown.notAfter, now) : -1;
    if (left <= input.criticalDays) {
      return {
        kind: "activate",
        reason: `activating the staged pair SHA-256 ${staged.sha256} before its stageDays (${stageDays}) have passed: the current certificate expires in ${left} days (criticalDays ${input.criticalDays})`,
      };
    }
    return {
      kind: "wait",
      until: at.toISOString(),
      reason: `the next pair is staged (SHA-256 ${staged.sha256}, since ${staged.stagedAt.slice(0, 10)}): run activates it on ${at.toISOString().slice(0, 10)}; ${assessment.reason}`,
    };
  }
  const current = assessment.configured ?? assessment.presented;
  // Too close to expiry to give clients days: rotate now, as without staging.
  const tooLate = current !== null && daysLeft(current.notAfter, now) <= input.criticalDays;
  if (stageDays !== null && renewal && !tooLate) {
    return {
      kind: "stage",
      reason: `${unusable ? `${unusable}: staging a new pair instead; ` : ""}${assessment.reason}: staging the next pair, activated in ${stageDays} days`,
    };
  }
  return { kind: "rotate" };
}

/** A staged pair as reports show it: never the key. */
export interface StagedView {
  readonly sha1: string;
  readonly sha256: string;
  readonly stagedAt: string;
  readonly notAfter: string;
  readonly names: readonly string[];
  /** When `run` activates it (stageDays after staging); null: only `rotate --activate` does (stageDays not set). */
  readonly activateAt: string | null;
  readonly bundle: string | null;
  readonly dir: string | null;
}

export function stagedView(pair: { readonly meta: StagedMeta; readonly bundlePath?: string; readonly dir?: string }, stageDays: number | null): StagedView {
  const m = pair.meta;
  return {
    sha1: m.sha1,
    sha256: m.sha256,
    stagedAt: m.stagedAt,
    notAfter: m.notAfter,
    names: m.names,
    activateAt: activationTime(m, stageDays)?.toISOString() ?? null,
    bundle: pair.bundlePath ?? null,
    dir: pair.dir ?? null,
  };
}
