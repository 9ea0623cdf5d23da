import { StateDir } from "../../hosts/local/state-dir";
import { restoreBackupById } from "../../rotation/rotate";
import { ExitCode, UsageError } from "../exit-codes";
import { type RotationFlags, rotationSetup } from "./rotate";
import { jsonText, terminalField, terminalText } from "../../core/terminal-safe";

export function backupsListCommand(options: { stateDir: string; json: boolean }): number {
  const backups = new StateDir(options.stateDir).listBackups();
  if (options.json) {
    process.stdout.write(`${jsonText({ schema: "rdpcert.backups/v1", stateDir: options.stateDir, backups }, 2)}\n`);
    return ExitCode.OK;
  }
  if (backups.length === 0) {
    process.stdout.write(terminalText(`no backups in ${options.stateDir}\n`));
    return ExitCode.OK;
  }
  for (const b of backups) {
    process.stdout.write(`${terminalField(`${b.id}  ${b.createdAt}  ${b.backend}  ${b.thumbprint ?? "(no certificate)"}  ${b.reason ?? ""}`)}\n`);
    for (const item of b.items) process.stdout.write(terminalText(`      ${item.role.padEnd(11)} ${item.originalPath}${item.wasLink ? "  (link: kept for reference, not restored)" : ""}\n`));
  }
  return ExitCode.OK;
}

export async function backupsRestoreCommand(id: string, options: RotationFlags & { yes: boolean; json: boolean }): Promise<number> {
  if (!options.yes) throw new UsageError("restoring replaces the current certificate and key (they are backed up first): pass --yes to confirm");
  const setup = await rotationSetup(options, { force: false, reason: `restore backup ${id}` });
  if (!setup.ok) {
    process.stderr.write(terminalText(`rdpcert: ${setup.reason}; ${setup.fix}\n`));
    return ExitCode.UNKNOWN;
  }
  const result = await restoreBackupById(setup.ctx, setup.settings, id);
  const code = result.outcome === "restored" ? ExitCode.OK : result.outcome === "restored-unverified" || result.outcome === "failed" ? ExitCode.CRITICAL : ExitCode.UNKNOWN;
  process.stdout.write(options.json ? `${jsonText({ schema: "rdpcert.restore/v1", backupId: id, ...result, exitCode: code }, 2)}\n` : terminalText(`${result.outcome}  ${result.reason}\n`));
  return code;
}
