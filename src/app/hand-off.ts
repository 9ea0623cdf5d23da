import { win32 } from "node:path";
import type { Config } from "../core/config";
import { runCommand } from "../hosts/command-runner";
import { installedCommand, workingDirectory } from "../hosts/local/self";

/**
 * Windows, inside an RDP session: restarting Remote Desktop Services would cut
 * this session and the command with it. The same command runs as a one-off
 * SYSTEM task instead, with --in-session, every option of this one, and its
 * log in the log dir: a rotation started from inside an RDP session must hand
 * the work to a process outside the session.
 */
export interface HandOffRequest {
  readonly force?: boolean;
  readonly reason?: string | null;
  /** Windows: another listener than RDP-Tcp. */
  readonly listener?: string;
}

export type HandOffResult = { readonly ok: true; readonly task: string } | { readonly ok: false; readonly reason: string };

export async function handOff(config: Config, command: readonly string[], request: HandOffRequest = {}): Promise<HandOffResult> {
  const { handOffToSystemTask, HANDOFF_TASK } = await import("../hosts/windows/windows-rotation");
  const { windowsQuote } = await import("../schedule/task/windows-task");
  const args = handOffCommand(
    installedCommand().cli,
    command,
    {
      stateDir: config.stateDir,
      logDir: config.logDir,
      verifyTimeout: config.verifyTimeoutMs,
      restartTimeout: config.restartTimeoutMs,
      timeout: config.timeoutMs,
      warnDays: config.warnDays,
      keepBackups: config.keepBackups,
      force: request.force ?? false,
      restart: config.restartCommand !== null,
      reason: request.reason ?? null,
      ...(request.listener ? { listener: request.listener } : {}),
    },
    workingDirectory(),
  );
  const result = await handOffToSystemTask(runCommand, process.execPath, args.map(windowsQuote).join(" "));
  return result.ok ? { ok: true, task: HANDOFF_TASK } : { ok: false, reason: result.reason };
}

/** What the in-session command was asked to do, to be done the same way by the SYSTEM task. */
export interface HandOffOptions {
  readonly stateDir: string;
  /** The task's output goes nowhere: it logs to the log dir (JSON lines), like a scheduled run. */
  readonly logDir?: string;
  readonly verifyTimeout: number;
  readonly restartTimeout: number;
  readonly timeout: number;
  readonly warnDays: number;
  readonly force: boolean;
  readonly restart: boolean;
  readonly reason?: string | null;
  readonly keepBackups: number;
  readonly listener?: string;
}

/**
 * The SYSTEM task's arguments for `command` (`rotate`, `backups restore ID`,
 * `status` for the recovery of an interrupted rotation): every option of the
 * command it replaces, and the state and log dirs as absolute paths (the task
 * starts in %SystemRoot%\System32, where a relative one would land). `cwd` is
 * where the user ran rdpcert.
 */
export function handOffCommand(cli: string, command: readonly string[], options: HandOffOptions, cwd: string): string[] {
  const rotates = command[0] === "rotate";
  const args = [
    cli,
    ...command,
    ...(command[0] === "status" ? [] : ["--yes"]),
    "--in-session",
    "--backend",
    "windows",
    "--state-dir",
    win32.resolve(cwd, options.stateDir),
  ];
  if (options.logDir) args.push("--log-dir", win32.resolve(cwd, options.logDir));
  args.push("--timeout", String(options.timeout), "--warn-days", String(options.warnDays));
  if (command[0] !== "status")
    args.push(
      "--verify-timeout",
      String(options.verifyTimeout),
      "--restart-timeout",
      String(options.restartTimeout),
      "--keep-backups",
      String(options.keepBackups),
    );
  if (command[0] !== "status" && options.listener) args.push("--listener", options.listener);
  if (rotates && options.force) args.push("--force");
  if (command[0] !== "status" && !options.restart) args.push("--no-restart");
  if (rotates && options.reason) args.push("--reason", options.reason);
  return args;
}

/** `rdpcert rotate`'s hand-off (see handOffCommand). */
export function handOffArguments(cli: string, options: HandOffOptions, cwd: string): string[] {
  return handOffCommand(cli, ["rotate"], options, cwd);
}
