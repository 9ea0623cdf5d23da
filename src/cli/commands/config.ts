import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { type Config, defaultConfig } from "../../core/config";
import { jsonText } from "../../core/terminal-safe";
import { writeFileAtomic } from "../../hosts/local/atomic-write";
import { cronError } from "../../schedule/daemon";
import { calendarFromCron } from "../../schedule/task/cron-daily";
import { ExitCode, UsageError } from "../exit-codes";

export function configInitCommand(path: string, force: boolean): number {
  if (existsSync(path) && !force) throw new UsageError(`${path} already exists: pass --force to overwrite it with the defaults`);
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  writeFileAtomic(path, `${JSON.stringify(defaultConfig(), null, 2)}\n`, { mode: 0o644 });
  process.stdout.write(`wrote the default configuration to ${path}\n`);
  return ExitCode.OK;
}

export function configShowCommand(config: Config): number {
  process.stdout.write(`${jsonText(config, 2)}\n`);
  return ExitCode.OK;
}

/**
 * Everything `run`, `schedule` and `task` would check, before they do (the
 * schema and field combinations were checked when the config was loaded).
 */
export function configValidateCommand(path: string, config: Config): number {
  const invalid = cronError(config.schedule);
  if (invalid) throw new UsageError(`${path}: ${invalid}`);
  const calendar = calendarFromCron(config.schedule);
  const lines: string[] = [];
  if (!existsSync(path)) lines.push(`${path}: there is no such file; rdpcert uses the defaults (and RDPCERT_* overrides), which are valid`);
  else lines.push(`${path}: valid`);
  if (!calendar.ok) lines.push(`note: rdpcert schedule runs "${config.schedule}", but rdpcert task cannot register it: ${calendar.reason}`);
  process.stdout.write(`${lines.join("\n")}\n`);
  return ExitCode.OK;
}
