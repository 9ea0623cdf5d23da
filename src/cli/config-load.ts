import type { Command } from "commander";
import { type Config, type ConfigField, resolveConfig } from "../core/config";
import { findJsonSyntaxError } from "../core/json-syntax";
import { readBoundedText } from "../hosts/local/bounded-read";
import { untrustedConfig } from "../hosts/local/trust";
import { splitCommand } from "./argv";
import { UsageError } from "./exit-codes";
import type { RotationFlags } from "./commands/rotate";

export { DEFAULT_CONFIG_PATH } from "./options";

/** Command-line flag (commander's attribute name) -> config field, for flags that override the file. */
const FLAG_FIELDS: Readonly<Record<string, ConfigField>> = {
  backend: "backend",
  xrdpIni: "xrdpIni",
  stateDir: "stateDir",
  logDir: "logDir",
  warnDays: "warnDays",
  timeout: "timeoutMs",
  verifyTimeout: "verifyTimeoutMs",
  keyBits: "keyBits",
  validityDays: "validityDays",
  keepBackups: "keepBackups",
  schedule: "schedule",
  jitterMinutes: "jitterMinutes",
  port: "port",
  textfileDir: "textfileDir",
};

/** Only flags the user typed override the file (commander fills defaults for the rest). */
export function flagOverrides(command: Command): Partial<Record<ConfigField, unknown>> {
  const opts = command.opts<Record<string, unknown>>();
  const out: Partial<Record<ConfigField, unknown>> = {};
  const typed = (name: string): boolean => command.getOptionValueSource(name) === "cli";
  for (const [flag, field] of Object.entries(FLAG_FIELDS)) if (typed(flag)) out[field] = flag === "keyBits" ? Number(opts[flag]) : opts[flag];
  if (typed("restart") && opts.restart === false) {
    if (typed("restartCommand")) throw new UsageError("--restart-command and --no-restart contradict each other: pass one");
    out.restartCommand = null;
  } else if (typed("restartCommand")) out.restartCommand = splitCommand(String(opts.restartCommand), "--restart-command");
  return out;
}

/**
 * The effective configuration: the file (a missing default file means all
 * defaults; a missing file named with --config is an error), then RDPCERT_*
 * environment variables, then typed flags. A bad value is a UsageError (exit 3)
 * naming the field, the value and what is allowed.
 */
export function loadConfig(path: string, explicit: boolean, flags: Partial<Record<ConfigField, unknown>>, env: NodeJS.ProcessEnv = process.env): Config {
  let fileValues: Record<string, unknown> = {};
  let text: string | null = null;
  try {
    // Bounded first: a FIFO or a device is named as such, and never read.
    text = readBoundedText(path, "config");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" || explicit) {
      throw new UsageError(`cannot read the config file ${path}: ${code === "ENOENT" ? "it does not exist (create it with: rdpcert config init --config PATH)" : (code ?? (error as Error).message)}`);
    }
  }
  // Then trusted before anything in it is used: its commands run as root.
  const untrusted = text === null ? null : untrustedConfig(path);
  if (untrusted) throw new UsageError(untrusted);
  if (text !== null) {
    try {
      fileValues = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      // Never JSON.parse's message: it quotes the file (issue 12: /etc/shadow).
      const where = error instanceof SyntaxError ? findJsonSyntaxError(text) : null;
      throw new UsageError(`${path}: not valid JSON${where ? ` at line ${where.line}, column ${where.column}: expected ${where.expected}` : ""}; rdpcert's configuration is a JSON object (see: rdpcert config init --config PATH)`);
    }
    if (fileValues === null || typeof fileValues !== "object" || Array.isArray(fileValues)) throw new UsageError(`${path}: the configuration must be a JSON object`);
  }
  const result = resolveConfig(fileValues, env, flags, path);
  if (!result.ok) throw new UsageError(result.error);
  return result.config;
}

export function rotationFlagsFrom(config: Config): RotationFlags {
  return {
    backend: config.backend,
    xrdpIni: config.xrdpIni,
    stateDir: config.stateDir,
    restartCommand: Array.isArray(config.restartCommand) ? config.restartCommand : undefined,
    restart: config.restartCommand !== null,
    restartTimeout: 60_000,
    verifyTimeout: config.verifyTimeoutMs,
    timeout: config.timeoutMs,
    warnDays: config.warnDays,
    renewalFraction: config.renewalFraction,
    rotateDays: config.rotateDays,
    keyBits: config.keyBits,
    validityDays: config.validityDays,
    keepBackups: config.keepBackups,
    portOverride: config.port,
  };
}
