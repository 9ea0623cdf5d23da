import type { Command } from "commander";
import { STATUS_EXIT_CODES_HELP } from "../exit-codes";
import {
  backendOption,
  listenerPortOption,
  configOption,
  grdOptions,
  jsonOption,
  listenerName,
  logDirOption,
  stateDirOption,
  timeoutOption,
  warnDaysOption,
  xrdpIniOption,
} from "../options";

/** `rdpcert status`: on the host, configured vs presented, and a verdict with fixes. */
export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("Inspect this host's RDP listener: the configured certificate and key, what the listener presents, and a verdict with fixes.")
    .addOption(configOption())
    .addOption(backendOption())
    .addOption(listenerPortOption())
    .addOption(xrdpIniOption())
    .addOption(grdOptions()[0]!)
    .addOption(grdOptions()[1]!)
    .addOption(stateDirOption())
    .addOption(timeoutOption())
    .addOption(warnDaysOption())
    .addOption(jsonOption())
    .option("--listener <name>", "Windows: the listener to inspect (a WinStations key such as RDP-Tcp-Admin; default RDP-Tcp)", listenerName)
    .option("--in-session", "Windows: finish or undo an interrupted rotation from inside an RDP session instead of handing it to a SYSTEM task")
    .addOption(logDirOption())
    .addHelpText(
      "after",
      `
The config file counts as for every command (then RDPCERT_* variables, then flags).
An interrupted rotation found in the state dir is finished or rolled back first.

Examples:
  sudo rdpcert status
  rdpcert status --xrdp-ini /etc/xrdp/xrdp.ini --warn-days 21
  rdpcert status --json | jq .status          # for monitoring: exit code 0/1/2/3
  sudo rdpcert status --backend gnome-remote-desktop --grd-user alice   # g-r-d 43 (GSettings); 46+: grd.conf
${STATUS_EXIT_CODES_HELP}`,
    )
    .action(async (opts: { json?: boolean; inSession?: boolean; listener?: string }, command: Command) => {
      const { configFor } = await import("../config-flags");
      const { collectStatus } = await import("../../app/status");
      const { jsonText, terminalText } = await import("../../core/terminal-safe");
      const report = await collectStatus(await configFor(command), {
        inSession: opts.inSession === true,
        ...(opts.listener ? { listener: opts.listener } : {}),
      });
      for (const path of report.removedLeftovers) process.stderr.write(terminalText(`rdpcert: removed ${path}, left over by an interrupted write\n`));
      if (opts.json) {
        const { statusReportJson } = await import("../render/status-json");
        process.stdout.write(`${jsonText(statusReportJson(report), 2)}\n`);
      } else {
        const { renderStatusText } = await import("../render/status-text");
        process.stdout.write(terminalText(renderStatusText(report)));
      }
      process.exitCode = report.exitCode;
    });
}
