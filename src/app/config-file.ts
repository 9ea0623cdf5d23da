import { type Config, defaultConfig } from "../core/config";
import { createTextFile, pathExists } from "../hosts/local/self";
import { cronError } from "../schedule/daemon";
import { calendarFromCron } from "../schedule/task/cron-daily";
import { ExitCode } from "../core/exit-code";
import { ConfigError } from "./config";

/**
 * `rdpcert config init|show|validate`: these return what to print; the CLI
 * writes it. A problem is a ConfigError (one line, exit 3).
 */
export function configInit(path: string, force: boolean): { exitCode: number; stdout: string } {
  if (createTextFile(path, `${JSON.stringify(defaultConfig(), null, 2)}\n`, force) === "exists")
    throw new ConfigError(`${path} already exists: pass --force to overwrite it with the defaults`);
  return { exitCode: ExitCode.OK, stdout: `wrote the default configuration to ${path}\n` };
}

/**
 * Everything `run`, `schedule` and `task` would check, before they do (the
 * schema and field combinations were checked when the config was loaded).
 */
export function configValidate(path: string, config: Config): { exitCode: number; stdout: string } {
  const invalid = cronError(config.schedule);
  if (invalid) throw new ConfigError(`${path}: ${invalid}`);
  const calendar = calendarFromCron(config.schedule);
  const lines: string[] = [];
  if (!pathExists(path)) lines.push(`${path}: there is no such file; rdpcert uses the defaults (and RDPCERT_* overrides), which are valid`);
  else lines.push(`${path}: valid`);
  if (!calendar.ok) lines.push(`note: rdpcert schedule runs "${config.schedule}", but rdpcert task cannot register it: ${calendar.reason}`);
  return { exitCode: ExitCode.OK, stdout: `${lines.join("\n")}\n` };
}
