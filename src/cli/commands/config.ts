import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { type Config, defaultConfig } from "../../core/config";
import { jsonText } from "../../core/terminal-safe";
import { writeFileAtomic } from "../../hosts/local/atomic-write";
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

export function configValidateCommand(path: string): number {
  process.stdout.write(`${path}: valid\n`);
  return ExitCode.OK;
}
