import { realpathSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Config } from "../../core/config";
import { runCommand } from "../../hosts/command-runner";
import { StateDir } from "../../hosts/local/state-dir";
import { calendarFromCron } from "../../schedule/task/cron-daily";
import { DEFAULT_UNIT_DIR, type TaskCommand, type TaskStep, installSystemd, removeSystemd, showSystemd, systemdUnits } from "../../schedule/task/systemd";
import { TASK_NAME, installWindowsTask, removeWindowsTask, showWindowsTask, taskXml } from "../../schedule/task/windows-task";
import { ExitCode, UsageError } from "../exit-codes";

export interface TaskOptions {
  readonly action: "install" | "remove" | "show";
  readonly print: boolean;
  readonly configPath: string;
  readonly unitDir: string;
  readonly platform?: NodeJS.Platform;
}

function taskCommandLine(configPath: string): TaskCommand {
  return { node: process.execPath, cli: realpathSync(process.argv[1] ?? join(__dirname, "..", "main.js")), configPath: resolve(configPath) };
}

function report(steps: TaskStep[]): number {
  for (const step of steps) process.stdout.write(step.ok ? `ok    ${step.did}\n` : `FAIL  ${step.did}: ${step.reason}\n`);
  return steps.every((s) => s.ok) ? ExitCode.OK : ExitCode.CRITICAL;
}

export async function taskCommand(config: Config, options: TaskOptions): Promise<number> {
  const platform = options.platform ?? process.platform;
  const calendar = calendarFromCron(config.schedule);
  if (!calendar.ok) throw new UsageError(calendar.reason);
  const command = taskCommandLine(options.configPath);
  if (platform === "win32") {
    const xml = taskXml(command, calendar.time, config.jitterMinutes);
    const xmlPath = join(config.stateDir, "rdpcert-task.xml");
    if (options.action === "show") {
      const current = await showWindowsTask(runCommand);
      process.stdout.write(current ?? `the scheduled task ${TASK_NAME} is not installed\n`);
      return current ? ExitCode.OK : ExitCode.WARNING;
    }
    if (options.print) {
      process.stdout.write(
        options.action === "install"
          ? `# ${xmlPath} (UTF-16)\n${xml}\n# then: schtasks.exe /Create /TN ${TASK_NAME} /XML ${xmlPath} /F\n# and: New-EventLog -LogName Application -Source rdpcert (if missing)\n`
          : `schtasks.exe /Delete /TN ${TASK_NAME} /F\n`,
      );
      return ExitCode.OK;
    }
    return report(options.action === "install" ? await installWindowsTask(
            runCommand,
            xmlPath,
            (path, bytes) => {
              // The state dir may not exist yet on a fresh host: create it (SYSTEM and Administrators only) first.
              new StateDir(config.stateDir).ensure();
              writeFileSync(path, bytes);
            },
            xml,
          ) : await removeWindowsTask(runCommand));
  }
  const units = systemdUnits(command, calendar.time, config.jitterMinutes);
  if (options.action === "show") {
    const current = showSystemd(options.unitDir);
    process.stdout.write(current ?? `rdpcert.timer is not installed in ${options.unitDir}\n`);
    return current ? ExitCode.OK : ExitCode.WARNING;
  }
  if (options.print) {
    process.stdout.write(
      options.action === "install"
        ? `# ${join(options.unitDir, "rdpcert.service")}\n${units.service}\n# ${join(options.unitDir, "rdpcert.timer")}\n${units.timer}\n# then: systemctl daemon-reload && systemctl enable --now rdpcert.timer\n`
        : `systemctl disable --now rdpcert.timer\nrm ${join(options.unitDir, "rdpcert.timer")} ${join(options.unitDir, "rdpcert.service")}\nsystemctl daemon-reload\n`,
    );
    return ExitCode.OK;
  }
  return report(options.action === "install" ? await installSystemd(runCommand, options.unitDir, units) : await removeSystemd(runCommand, options.unitDir));
}

export { DEFAULT_UNIT_DIR };
