import type { Command } from "commander";
import { resolve } from "node:path";
import type { Config, ConfigField } from "../core/config";
import { splitCommand } from "./argv";
import { UsageError } from "./exit-codes";

/** Command-line flag (commander's attribute name) -> config field, for flags that override the file. */
const FLAG_FIELDS: Readonly<Record<string, ConfigField>> = {
  backend: "backend",
  xrdpIni: "xrdpIni",
  grdConf: "grdConf",
  grdUser: "grdUser",
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
  restartTimeout: "restartTimeoutMs",
  textfileDir: "textfileDir",
  deploySource: "deploySource",
};

/** Flags that name a file or directory (core/config.ts PATH_FIELDS). */
const PATH_FLAGS: ReadonlySet<string> = new Set(["xrdpIni", "grdConf", "stateDir", "logDir", "textfileDir", "deploySource"]);

/** Only flags the user typed override the file (commander fills defaults for the rest). */
export function flagOverrides(command: Command, exclude: readonly string[] = []): Partial<Record<ConfigField, unknown>> {
  const opts = command.opts<Record<string, unknown>>();
  const out: Partial<Record<ConfigField, unknown>> = {};
  const typed = (name: string): boolean => command.getOptionValueSource(name) === "cli";
  for (const [flag, field] of Object.entries(FLAG_FIELDS)) {
    if (!typed(flag) || exclude.includes(flag)) continue;
    // A path typed on the command line is taken from the working directory, as admins expect;
    // the config file and RDPCERT_* variables must give absolute ones (core/config.ts).
    out[field] =
      flag === "keyBits" ? Number(opts[flag]) : PATH_FLAGS.has(flag) && typeof opts[flag] === "string" && opts[flag] !== "" ? resolve(opts[flag]) : opts[flag];
  }
  if (typed("restart") && opts.restart === false) {
    if (typed("restartCommand")) throw new UsageError("--restart-command and --no-restart contradict each other: pass one");
    out.restartCommand = null;
  } else if (typed("restartCommand")) out.restartCommand = splitCommand(String(opts.restartCommand), "--restart-command");
  if (typed("postHook")) out.postChangeCommand = splitCommand(String(opts.postHook), "--post-hook");
  return out;
}

/**
 * The effective configuration for a command, the same rule for every command:
 * the config file (`--config`, default /etc/rdpcert/config.json; a missing
 * default file means all defaults, a missing named one is an error), then
 * RDPCERT_* environment variables, then the flags the user typed.
 * `missingIsDefault`: config validate reports an absent file itself.
 * `exclude`: flags that mean something else for this command (doctor's --port).
 */
export async function configFor(command: Command, options: { missingIsDefault?: boolean; exclude?: readonly string[] } = {}): Promise<Config> {
  const { loadConfig } = await import("../app/config");
  const explicit = command.getOptionValueSource("config") === "cli" && !options.missingIsDefault;
  const { unknownEnvVariables } = await import("../core/config-defaults");
  for (const unknown of unknownEnvVariables(process.env)) {
    process.stderr.write(
      `rdpcert: warning: ${unknown.name} is not an rdpcert setting, so it is ignored${unknown.nearest ? ` (did you mean ${unknown.nearest}?)` : ""}\n`,
    );
  }
  return loadConfig(command.opts<{ config: string }>().config, explicit, flagOverrides(command, options.exclude));
}
