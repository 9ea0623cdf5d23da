import { type CommandRunner, runCommand } from "../hosts/command-runner";
export type { CommandRunner };
import { clientExitCode, inspectClient } from "../hosts/windows/client";

/**
 * `rdpcert doctor --client`'s use case: the Windows Remote Desktop client's cached state for
 * `host` (or every host), and with `fix` its removal, each item backed up first under
 * %LOCALAPPDATA%\rdpcert\client-backups.
 */
export async function doctorClient(host: string | null, fix: boolean, runner: CommandRunner = runCommand, now: Date = new Date()) {
  const backupDir = `${process.env.LOCALAPPDATA ?? "."}\\rdpcert\\client-backups\\${now.toISOString().replace(/[:.]/g, "-")}`;
  const result = await inspectClient(runner, { host, fix, backupDir });
  return result.ok ? { ok: true as const, state: result.state, exitCode: clientExitCode(result.state) } : result;
}
