import type { Config, ConfigField } from "../core/config";
import { churnError, configDefaults, hasEnvOverrides } from "../core/config-defaults";
import { UntrustedPathError, readTrustedFile } from "../hosts/local/trust";

/** A configuration that cannot be used: one line naming the field, the value and what is allowed (exit 3). */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * The effective configuration: the file (a missing default file means all
 * defaults; a missing file named with --config is an error), then RDPCERT_*
 * environment variables, then typed flags. A bad value is a ConfigError (exit 3)
 * naming the field, the value and what is allowed.
 */
export function loadConfig(path: string, explicit: boolean, flags: Partial<Record<ConfigField, unknown>>, env: NodeJS.ProcessEnv = process.env): Config {
  let fileValues: Record<string, unknown> = {};
  let text: string | null = null;
  try {
    // Trusted before anything in it is used (its commands run as root): every directory and link
    // on the way, then the file judged by fstat of the descriptor it is read from, so a file swapped after the check is never the one read.
    // Bounded: a FIFO or a device is named as such, and never read. A UTF-8 BOM (Windows
    // PowerShell 5.1's Set-Content -Encoding UTF8) is not part of the JSON.
    text = readTrustedFile(path, "config", "the config file")
      .toString("utf8")
      .replace(/^\uFEFF/, "");
  } catch (error) {
    if (error instanceof UntrustedPathError) throw new ConfigError(`${error.message}; fix: ${error.fix}`);
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" || explicit) {
      throw new ConfigError(
        `cannot read the config file ${path}: ${code === "ENOENT" ? "it does not exist (create it with: rdpcert config init --config PATH)" : (code ?? (error as Error).message)}`,
      );
    }
  }
  if (text !== null) {
    try {
      fileValues = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      // Never JSON.parse's message: it quotes the file, and --config /etc/shadow must not print a line of it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const where = error instanceof SyntaxError ? (require("../core/json-syntax") as typeof import("../core/json-syntax")).findJsonSyntaxError(text) : null;
      throw new ConfigError(
        `${path}: not valid JSON${where ? ` at line ${where.line}, column ${where.column}: expected ${where.expected}` : ""}; rdpcert's configuration is a JSON object (see: rdpcert config init --config PATH)`,
      );
    }
    if (fileValues === null || typeof fileValues !== "object" || Array.isArray(fileValues))
      throw new ConfigError(`${path}: the configuration must be a JSON object`);
  }
  // No file and no RDPCERT_* variable: the defaults and the typed flags (commander checked their
  // ranges), without loading the schema library; the field combinations are checked either way.
  if (text === null && !hasEnvOverrides(env)) {
    const config = { ...configDefaults(), ...flags } as Config;
    const churn = churnError(config);
    if (churn) throw new ConfigError(`${path}: ${churn}`);
    return config;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { resolveConfig } = require("../core/config") as typeof import("../core/config");
  const result = resolveConfig(fileValues, env, flags, path);
  if (!result.ok) throw new ConfigError(result.error);
  return result.config;
}
