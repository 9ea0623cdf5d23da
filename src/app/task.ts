import { join, resolve } from "node:path";
import type { Config } from "../core/config";
import { runCommand } from "../hosts/command-runner";
import { installedCommand, writeBytes } from "../hosts/local/self";
import { StateDir } from "../hosts/local/state-dir";
import { calendarFromCron } from "../schedule/task/cron-daily";
import {
  DEFAULT_UNIT_DIR,
  type TaskCommand,
  type TaskStep,
  installSystemd,
  removeSystemd,
  showSystemd,
  systemdRunning,
  systemdUnits,
} from "../schedule/task/systemd";
import { TASK_NAME, installWindowsTask, removeWindowsTask, showWindowsTask, taskXml } from "../schedule/task/windows-task";
import { ExitCode } from "../core/exit-code";
import { type Platform, currentPlatform, isWindows } from "../core/platform";

export interface TaskOptions {
  readonly action: "install" | "remove" | "show";
  readonly print: boolean;
  readonly configPath: string;
  readonly unitDir: string;
  readonly platform?: Platform;
  /** Whether systemd runs this host; default: sd_booted(3)'s check. */
  readonly systemdRunning?: () => boolean;
}

function taskCommandLine(configPath: string): TaskCommand {
  return { ...installedCommand(), configPath: resolve(configPath) };
}

/** What a task action printed and its exit code; the CLI writes it. */
export interface TaskOutput {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** A usage problem (the schedule cannot be expressed): one line, exit 3. */
  readonly usage: string | null;
}

const output = (exitCode: number, stdout: string, stderr = ""): TaskOutput => ({ exitCode, stdout, stderr, usage: null });

function report(steps: TaskStep[]): TaskOutput {
  return output(
    steps.every((s) => s.ok) ? ExitCode.OK : ExitCode.CRITICAL,
    steps.map((step) => (step.ok ? `ok    ${step.did}\n` : `FAIL  ${step.did}: ${step.reason}\n`)).join(""),
  );
}

/** `rdpcert task install|remove|show`: the OS scheduler entry that runs `rdpcert run`. */
export async function taskAction(config: Config, options: TaskOptions): Promise<TaskOutput> {
  const platform = options.platform ?? currentPlatform();
  const calendar = calendarFromCron(config.schedule);
  if (!calendar.ok) return { exitCode: ExitCode.UNKNOWN, stdout: "", stderr: "", usage: calendar.reason };
  const command = taskCommandLine(options.configPath);
  if (isWindows(platform)) {
    const xml = taskXml(command, calendar.time, config.jitterMinutes);
    const xmlPath = join(config.stateDir, "rdpcert-task.xml");
    if (options.action === "show") {
      const current = await showWindowsTask(runCommand);
      return output(current ? ExitCode.OK : ExitCode.WARNING, current ?? `the scheduled task ${TASK_NAME} is not installed\n`);
    }
    if (options.print) {
      return output(
        ExitCode.OK,
        options.action === "install"
          ? `# ${xmlPath} (UTF-16)\n${xml}\n# then: schtasks.exe /Create /TN ${TASK_NAME} /XML ${xmlPath} /F\n# and: New-EventLog -LogName Application -Source rdpcert (if missing)\n`
          : `schtasks.exe /Delete /TN ${TASK_NAME} /F\n`,
      );
    }
    const write = (path: string, bytes: Uint8Array): void => {
      // The state dir may not exist yet on a fresh host: create it (SYSTEM and Administrators only) first.
      new StateDir(config.stateDir).ensure();
      writeBytes(path, bytes);
    };
    return report(options.action === "install" ? await installWindowsTask(runCommand, xmlPath, write, xml) : await removeWindowsTask(runCommand));
  }
  const units = systemdUnits(command, calendar.time, config.jitterMinutes);
  if (options.action === "show") {
    const current = showSystemd(options.unitDir);
    return output(current ? ExitCode.OK : ExitCode.WARNING, current ?? `rdpcert.timer is not installed in ${options.unitDir}\n`);
  }
  if (options.print) {
    return output(
      ExitCode.OK,
      options.action === "install"
        ? `# ${join(options.unitDir, "rdpcert.service")}\n${units.service}\n# ${join(options.unitDir, "rdpcert.timer")}\n${units.timer}\n# then: systemctl daemon-reload && systemctl enable --now rdpcert.timer\n`
        : `systemctl disable --now rdpcert.timer\nrm ${join(options.unitDir, "rdpcert.timer")} ${join(options.unitDir, "rdpcert.service")}\nsystemctl daemon-reload\n`,
    );
  }
  if (!(options.systemdRunning ?? systemdRunning)()) {
    // Units that systemd never loads would make `task show` say "installed": write nothing.
    return output(
      ExitCode.CRITICAL,
      "",
      `rdpcert: systemd is not running on this host (no /run/systemd/system), so nothing was written; see the units with 'rdpcert task ${options.action} --print', or run 'rdpcert schedule' under another supervisor\n`,
    );
  }
  return report(options.action === "install" ? await installSystemd(runCommand, options.unitDir, units) : await removeSystemd(runCommand, options.unitDir));
}

export { DEFAULT_UNIT_DIR };
