import type { Config } from "../core/config";
import { probeAddressFor } from "../core/target";
import { type CommandRunner, describeExit, runCommand } from "../hosts/command-runner";
import type { HostBackend } from "../hosts/host-backend";
import { untrustedExecutable } from "../hosts/local/trust";
import type { RotationResult } from "../rotation/rotate";

/**
 * The post-change hook (issue 25), as certbot's --deploy-hook: `postChangeCommand`
 * (config) or `--post-hook CMD` runs after a VERIFIED change only (rotated,
 * deployed, a staged pair activated), never on a dry run, when nothing changed,
 * or after a failed or rolled-back change. argv, never a shell; the command
 * runner's deadline and process-group handling. Its facts are in the environment:
 * RDPCERT_LISTENER, RDPCERT_OLD_SHA1, RDPCERT_OLD_SHA256, RDPCERT_NEW_SHA1,
 * RDPCERT_NEW_SHA256, RDPCERT_BUNDLE. A failing hook is reported (one line, a
 * warning, the log, exit 1 where the change alone would exit 0) and never undoes
 * the change: the listener serves the new certificate either way.
 */
export interface ChangeFacts {
  /** HOST:PORT as rdpcert probed it ([v6]:PORT for IPv6). */
  readonly listener: string;
  readonly oldSha1: string | null;
  readonly oldSha256: string | null;
  readonly newSha1: string;
  readonly newSha256: string;
  /** The pin bundle written for this change; null when none could be written. */
  readonly bundle: string | null;
}

export type PostChangeOutcome =
  | { readonly ran: true; readonly ok: true; readonly command: string; readonly exitCode: 0 }
  | { readonly ran: true; readonly ok: false; readonly command: string; readonly exitCode: number | null; readonly reason: string };

/** The outcomes after which the listener serves a new certificate that rdpcert verified on the wire. */
export const VERIFIED_CHANGES: ReadonlySet<string> = new Set(["rotated", "deployed"]);

/** Why the configured hook must not run as root (its executable, or a directory on the way, others control), or null. */
export function untrustedPostChange(config: Config): string | null {
  const file = config.postChangeCommand?.[0];
  const why = file === undefined ? null : untrustedExecutable(file, "postChangeCommand");
  return why ? `${why}: refusing to run it as root` : null;
}

export const POST_CHANGE_TRUST_FIX = "use a post-change command that only root owns and can write, in directories only root can write";

/** The listener as rdpcert probes it: HOST:PORT ([v6]:PORT); null when it cannot be inspected. */
export async function listenerOf(backend: HostBackend): Promise<string | null> {
  const outcome = await backend.inspect();
  if (!outcome.ok) return null;
  const probe = probeAddressFor(outcome.inspection.listener.address);
  return `${probe.includes(":") ? `[${probe}]` : probe}:${outcome.inspection.listener.port}`;
}

/** The facts of a verified change, or null when the result is not one (dry run, not needed, refused, rolled back). */
export function changeFacts(result: RotationResult, listener: string, bundle: string | null): ChangeFacts | null {
  if (!VERIFIED_CHANGES.has(result.outcome) || result.newThumbprint === null || result.newSha256 === null) return null;
  const old = result.assessment?.presented ?? null;
  return {
    listener,
    oldSha1: old?.thumbprint ?? result.oldThumbprint,
    oldSha256: old?.sha256 ?? null,
    newSha1: result.newThumbprint,
    newSha256: result.newSha256,
    bundle,
  };
}

export function hookEnvironment(facts: ChangeFacts): Record<string, string> {
  return {
    RDPCERT_LISTENER: facts.listener,
    RDPCERT_OLD_SHA1: facts.oldSha1 ?? "",
    RDPCERT_OLD_SHA256: facts.oldSha256 ?? "",
    RDPCERT_NEW_SHA1: facts.newSha1,
    RDPCERT_NEW_SHA256: facts.newSha256,
    RDPCERT_BUNDLE: facts.bundle ?? "",
  };
}

/** First line of the hook's stderr, bounded: the admin's own program, shown as one line. */
function firstLine(text: string): string {
  const line = text.trim().split("\n")[0] ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

/** Runs the hook for one verified change; null when no hook is configured. Never throws for the hook's failure. */
export async function runPostChange(
  config: Config,
  facts: ChangeFacts,
  log: (level: "info" | "warn" | "error", message: string) => void,
  runner: CommandRunner = runCommand,
): Promise<PostChangeOutcome | null> {
  const argv = config.postChangeCommand;
  if (!argv || argv.length === 0) return null;
  const command = argv.join(" ");
  // Checked again right before it runs: the tree may have changed since the command started.
  const untrusted = untrustedPostChange(config);
  if (untrusted) return failed(log, command, null, `post-change hook ${command} not run: ${untrusted}`);
  const ran = await runner(argv[0]!, argv.slice(1), { timeoutMs: config.postChangeTimeoutMs, env: hookEnvironment(facts), maxOutputBytes: 64 * 1024 });
  if (ran.spawnError) return failed(log, command, null, `post-change hook ${command} could not start: ${ran.spawnError}`);
  if (ran.timedOut) return failed(log, command, null, `post-change hook ${command} did not finish within ${config.postChangeTimeoutMs} ms`);
  if (ran.exitCode !== 0) {
    const detail = firstLine(ran.stderr);
    return failed(log, command, ran.exitCode, `post-change hook ${command} ${describeExit(ran)}${detail ? `: ${detail}` : ""}`);
  }
  log("info", `post-change hook ${command} ran for ${facts.listener}: new SHA-256 ${facts.newSha256}`);
  return { ran: true, ok: true, command, exitCode: 0 };
}

function failed(log: (level: "info" | "warn" | "error", message: string) => void, command: string, exitCode: number | null, reason: string): PostChangeOutcome {
  const line = `${reason}; the change stays (the listener serves the new certificate)`;
  log("warn", line);
  return { ran: true, ok: false, command, exitCode, reason: line };
}

/** Exit code after the hook: a failed hook turns a success (0) into 1, as certbot exits non-zero when a deploy hook fails; higher codes stay. */
export function exitCodeAfterHook(code: number, hook: PostChangeOutcome | null): number {
  return hook && !hook.ok && code === 0 ? 1 : code;
}

/** The hook as it appears in --json. */
export function postChangeJson(hook: PostChangeOutcome | null): object | null {
  if (!hook) return null;
  return hook.ok ? { command: hook.command, ok: true, exitCode: 0 } : { command: hook.command, ok: false, exitCode: hook.exitCode, reason: hook.reason };
}

/** What followed a change: the pin bundle it was given (app/pin-bundle.ts publishPins) and the hook. */
export interface AfterChange {
  readonly bundle: string | null;
  readonly hook: PostChangeOutcome | null;
}

/**
 * After rotate, deploy or run: for a verified change, the post-change hook, with the pin bundle
 * that publishPins wrote for it (`result.pins`) as RDPCERT_BUNDLE; else nothing.
 */
export async function afterVerifiedChange(
  config: Config,
  backend: HostBackend,
  result: RotationResult,
  log: (level: "info" | "warn" | "error", message: string) => void,
): Promise<AfterChange> {
  const bundle = result.pins?.written ? result.pins.path : null;
  if (!config.postChangeCommand || !VERIFIED_CHANGES.has(result.outcome)) return { bundle, hook: null };
  const facts = changeFacts(result, (await listenerOf(backend)) ?? "", bundle);
  return { bundle, hook: facts ? await runPostChange(config, facts, log) : null };
}

/** The lines a change's aftermath adds to `warnings`: a bundle that could not be written, a failed hook. */
export function afterChangeWarnings(after: AfterChange | null): string[] {
  if (!after) return [];
  return after.hook && !after.hook.ok ? [after.hook.reason] : [];
}
