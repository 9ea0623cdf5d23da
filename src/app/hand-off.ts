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
  const { handOffCommand, handOffToSystemTask, HANDOFF_TASK } = await import("../hosts/windows/windows-rotation");
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
