import type { Command } from "commander";
import { ExitCode, UsageError } from "../exit-codes";
import {
  backendOption,
  listenerPortOption,
  configOption,
  jsonOption,
  listenerName,
  logDirOption,
  rotationOptions,
  stateDirOption,
  timeoutOption,
  warnDaysOption,
  withOptions,
  xrdpIniOption,
  grdOptions,
} from "../options";

/** `rdpcert backups list|restore`: the numbered backups in the configuration's state dir. */
export function registerBackups(program: Command): void {
  const backups = program
    .command("backups")
    .description("List the numbered backups rotations made, or restore one by hand.")
    .addHelpText(
      "after",
      `\nExamples:\n  sudo rdpcert backups list\n  sudo rdpcert backups restore 0003 --yes\n\nExit codes: see 'rdpcert backups list --help' and 'rdpcert backups restore --help'.`,
    );
  withOptions(backups.command("list").description("List backups, newest last."), [configOption(), stateDirOption(), jsonOption()])
    .addHelpText(
      "after",
      `
Examples:
  sudo rdpcert backups list
  sudo rdpcert backups list --json

Exit codes:
  0  listed
  3  bad usage, or a state dir that breaks the trust rules`,
    )
    .action(async (opts: { json?: boolean }, command: Command) => {
      const { configFor } = await import("../config-flags");
      const config = await configFor(command);
      const { listBackups } = await import("../../app/backups");
      const { jsonText, terminalField, terminalText } = await import("../../core/terminal-safe");
      const list = listBackups(config);
      if (opts.json) {
        process.stdout.write(`${jsonText({ schema: "rdpcert.backups/v1", stateDir: config.stateDir, backups: list }, 2)}\n`);
      } else if (list.length === 0) {
        process.stdout.write(terminalText(`no backups in ${config.stateDir}\n`));
      } else {
        for (const b of list) {
          process.stdout.write(`${terminalField(`${b.id}  ${b.createdAt}  ${b.backend}  ${b.thumbprint ?? "(no certificate)"}  ${b.reason ?? ""}`)}\n`);
          for (const item of b.items)
            process.stdout.write(
              terminalText(`      ${item.role.padEnd(11)} ${item.originalPath}${item.wasLink ? "  (link: kept for reference, not restored)" : ""}\n`),
            );
        }
      }
      process.exitCode = ExitCode.OK;
    });
  withOptions(
    backups
      .command("restore")
      .description(
        "Put a backup's certificate, key and configuration back (the current ones are backed up first), restart, and show what the listener presents.",
      )
      .argument("<id>", "backup number, as 'backups list' shows it")
      .option("--yes", "do not ask for confirmation (required without a terminal)")
      .option("--in-session", "Windows: restore from inside an RDP session instead of handing the restore to a SYSTEM task")
      .option("--listener <name>", "Windows: the listener (WinStations key) the backup belongs to; default RDP-Tcp", listenerName),
    [
      configOption(),
      backendOption(),
      listenerPortOption(),
      xrdpIniOption(),
      ...grdOptions(),
      stateDirOption(),
      logDirOption(),
      ...rotationOptions(),
      timeoutOption(),
      warnDaysOption(),
      jsonOption(),
    ],
  )
    .addHelpText(
      "after",
      `
Examples:
  sudo rdpcert backups restore 0003 --yes

Exit codes:
  0  restored, and the listener presents the restored certificate
  2  restored, but the listener does not present it
  3  no such backup, another rotation holds the lock, refused by the trust rules, or bad usage`,
    )
    .action(async (id: string, opts: { yes?: boolean; json?: boolean; inSession?: boolean; listener?: string }, command: Command) => {
      if (!opts.yes) throw new UsageError("restoring replaces the current certificate and key (they are backed up first): pass --yes to confirm");
      const { configFor } = await import("../config-flags");
      const config = await configFor(command);
      const { restoreBackup } = await import("../../app/backups");
      const { jsonText, terminalText } = await import("../../core/terminal-safe");
      // A restore typed by hand is a change like a rotation: it goes to the log file.
      const { withCommandLog } = await import("../../app/command-log");
      const result = await withCommandLog(config, { dryRun: false, json: opts.json === true }, (log) =>
        restoreBackup(config, id, { inSession: opts.inSession === true, ...(log ? { log } : {}), ...(opts.listener ? { listener: opts.listener } : {}) }),
      );
      if (result.outcome === "handed-off") {
        process.stdout.write(
          opts.json
            ? `${jsonText({ schema: "rdpcert.restore/v1", backupId: id, outcome: "handed-off", reason: result.reason, task: result.task, exitCode: 0 })}\n`
            : terminalText(
                `handed-off  ${result.reason}.\n  The restore now runs as the SYSTEM task ${result.task}; this session may disconnect for a moment.\n  Check the result: rdpcert status, and the log in the log dir\n`,
              ),
        );
        process.exitCode = ExitCode.OK;
        return;
      }
      if (result.outcome === "refused") {
        process.stderr.write(terminalText(`rdpcert: ${result.reason}; ${result.fix}\n`));
        process.exitCode = ExitCode.UNKNOWN;
        return;
      }
      const code =
        result.outcome === "restored"
          ? ExitCode.OK
          : result.outcome === "restored-unverified" || result.outcome === "failed"
            ? ExitCode.CRITICAL
            : ExitCode.UNKNOWN;
      process.stdout.write(
        opts.json
          ? `${jsonText({ schema: "rdpcert.restore/v1", backupId: id, ...result, exitCode: code }, 2)}\n`
          : terminalText(`${result.outcome}  ${result.reason}\n`),
      );
      process.exitCode = code;
    });
}
