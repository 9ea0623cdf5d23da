import { z } from "zod";
import { churnError, configDefaults, defaultLogDir, defaultStateDir, envName } from "./config-defaults";
import { findJsonSyntaxError } from "./json-syntax";
import { BACKEND_KINDS } from "./inspection";
import { currentPlatform, isAbsolutePathOn } from "./platform";

/**
 * rdpcert's one configuration file (`/etc/rdpcert/config.json`,
 * `%ProgramData%\rdpcert\config.json`). Every field has a default; environment
 * variables (RDPCERT_<FIELD_IN_SNAKE_CASE>) override the file, and flags
 * override both. Pure: reading the file is the caller's business.
 */
const argv = z.array(z.string().min(1)).min(1);

/**
 * An absolute path on this platform (Windows: a drive, a UNC or a root-relative path). A
 * config file or RDPCERT_* value is used by root from whatever directory it was started in
 * (under sudo, a user's home): a relative one would put the state dir, with its key backups,
 * there (the trust rules judge the path). Flags are made absolute by the CLI, against the working directory.
 */
export function isAbsolutePath(value: string): boolean {
  return isAbsolutePathOn(currentPlatform(), value);
}

const ABSOLUTE = "must be an absolute path: a relative one would depend on the directory rdpcert is started from";
const absolutePath = z.string().min(1).refine(isAbsolutePath, { message: ABSOLUTE });

/** Fields that name files or directories: absolute only (isAbsolutePath). */
export const PATH_FIELDS = ["xrdpIni", "grdConf", "stateDir", "logDir", "textfileDir", "deploySource", "certFile", "keyFile"] as const;

/** How deep a value of the configuration may nest (its deepest is an argv: 2); deeper is refused before validation. */
const MAX_DEPTH = 32;

export const configSchema = z
  .object({
    backend: z.enum(["auto", ...BACKEND_KINDS]).default("auto"),
    /** Probe this port instead of the configured one (e.g. behind a port forward); null: the configured port. */
    port: z.number().int().min(1).max(65535).nullable().default(null),
    xrdpIni: absolutePath.default("/etc/xrdp/xrdp.ini"),
    /** gnome-remote-desktop's system-mode configuration (46+). */
    grdConf: absolutePath.default("/etc/gnome-remote-desktop/grd.conf"),
    /** gnome-remote-desktop in user mode: the user whose session serves RDP; null: the owner of the listening process. */
    grdUser: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/, "a user name")
      .nullable()
      .default(null),
    warnDays: z.number().int().min(0).max(3650).default(30),
    criticalDays: z.number().int().min(0).max(3650).default(7),
    /** Renew a self-signed certificate after this fraction of its lifetime. */
    renewalFraction: z
      .number()
      .gt(0)
      .lt(1)
      .default(2 / 3),
    /** Instead of the fraction: renew when this many days are left. */
    rotateDays: z.number().int().min(1).max(3650).nullable().default(null),
    autoRepair: z.boolean().default(true),
    /** Cron expression for `rdpcert schedule` and `rdpcert task` (5 fields, or 6 with seconds). */
    schedule: z.string().min(1).default("0 3 * * *"),
    jitterMinutes: z.number().int().min(0).max(1440).default(30),
    stateDir: absolutePath.default(defaultStateDir()),
    logDir: absolutePath.default(defaultLogDir()),
    keepBackups: z.number().int().min(1).max(1000).default(5),
    /** "auto" (systemctl restart xrdp when systemd runs it), null (never), or argv. */
    restartCommand: z.union([z.literal("auto"), z.null(), argv]).default("auto"),
    /** Deadline for the restart command. */
    restartTimeoutMs: z.number().int().min(1).max(3_600_000).default(60_000),
    keyBits: z.union([z.literal(2048), z.literal(3072), z.literal(4096)]).default(2048),
    validityDays: z.number().int().min(1).max(3650).default(180),
    /** For CA-issued certificates: argv of a command that renews and installs one; never run through a shell. */
    renewCommand: argv.nullable().default(null),
    renewTimeoutMs: z.number().int().min(1000).max(3_600_000).default(300_000),
    timeoutMs: z.number().int().min(1).max(600_000).default(5000),
    verifyTimeoutMs: z.number().int().min(1).max(3_600_000).default(60_000),
    /** Where `run` writes rdpcert.prom after every pass (node_exporter's or windows_exporter's textfile directory); null: nowhere. */
    textfileDir: absolutePath.nullable().default(null),
    /**
     * xrdp: a directory holding fullchain.pem and privkey.pem (a certbot lineage such as
     * /etc/letsencrypt/live/NAME, or where acme.sh installs): `run` deploys a newer certificate
     * for the same names from it when the CA-issued one nears expiry. Windows looks in LocalMachine\My.
     */
    deploySource: absolutePath.nullable().default(null),
    /**
     * argv run after every verified change (rotate, deploy, run, rotate --activate) with the old and
     * new fingerprints and the pin bundle in RDPCERT_* variables (docs/hooks-and-staging.md); never a shell.
     */
    postChangeCommand: argv.nullable().default(null),
    /** Deadline for postChangeCommand. */
    postChangeTimeoutMs: z.number().int().min(1000).max(3_600_000).default(300_000),
    /**
     * Staged rotation in `run`: when a self-signed certificate is due, stage the next pair (and its pin
     * bundle) first and activate it this many days later (earlier only when the current one would
     * expire within criticalDays). null: rotate at once, as without staging.
     */
    stageDays: z.number().int().min(0).max(3650).nullable().default(null),
    /** The pem-pair backend (ogon, KRdp, any server configured with a PEM certificate and key): the two files it serves. */
    certFile: absolutePath.nullable().default(null),
    keyFile: absolutePath.nullable().default(null),
    /** pem-pair: argv run after a new pair is written, for a server that loads its pair once (never through a shell); null: none. */
    reloadCommand: argv.nullable().default(null),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

// The plain defaults (config-defaults.ts, zod-free for quick commands) must have the schema's type; a unit test compares the values.
const plainDefaults: Config = configDefaults();
void plainDefaults;
export type ConfigField = keyof Config;

export const CONFIG_FIELDS = Object.keys(configSchema.shape) as ConfigField[];

export function defaultConfig(): Config {
  return configSchema.parse({});
}

export { churnError, envName } from "./config-defaults";

export type ConfigResult = { readonly ok: true; readonly config: Config } | { readonly ok: false; readonly error: string };

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = issue.path.map(String).join(".") || "(top level)";
  let value: unknown = input;
  for (const key of issue.path) value = value && typeof value === "object" ? (value as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined;
  if (issue.code === "unrecognized_keys") return `unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(", ")} (allowed: ${CONFIG_FIELDS.join(", ")})`;
  // A command typed as one string: it is never split or run through a shell, so say how to write it.
  if ((path === "restartCommand" || path === "renewCommand" || path === "postChangeCommand") && typeof value === "string" && value !== "auto") {
    const example =
      path === "restartCommand"
        ? '["systemctl","restart","xrdp"]'
        : path === "renewCommand"
          ? '["/usr/bin/certbot","renew","--quiet"]'
          : '["/usr/local/sbin/publish-rdp-pins"]';
    return `${path}: ${JSON.stringify(value)} is not allowed: it must be an argv array (never run through a shell), e.g. ${example}${path === "restartCommand" ? ', or "auto", or null' : ", or null"}`;
  }
  return `${path}: ${JSON.stringify(value)} is not allowed (${issue.message})`;
}

/** The first field whose value nests deeper than MAX_DEPTH (counted without recursion), or null. */
function tooDeep(input: Record<string, unknown>): string | null {
  for (const [field, value] of Object.entries(input)) {
    const stack: [unknown, number][] = [[value, 1]];
    while (stack.length > 0) {
      const [item, depth] = stack.pop()!;
      if (item === null || typeof item !== "object") continue;
      if (depth > MAX_DEPTH) return field;
      for (const child of Object.values(item as Record<string, unknown>)) stack.push([child, depth + 1]);
    }
  }
  return null;
}

/** Validates parsed JSON; the error is one line naming the field, the value and what is allowed. */
export function validateConfig(input: unknown, source: string): ConfigResult {
  if (input === null || typeof input !== "object" || Array.isArray(input)) return { ok: false, error: `${source}: the configuration must be a JSON object` };
  // Before the schema: a value nested thousands deep would overflow the stack of the validator and of the message.
  const deep = tooDeep(input as Record<string, unknown>);
  if (deep !== null)
    return { ok: false, error: `${source}: ${deep}: the value is nested more than ${MAX_DEPTH} levels deep, which no field of rdpcert's configuration allows` };
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) return { ok: false, error: `${source}: ${describeIssue(parsed.error.issues[0]!, input)}` };
  const churn = churnError(parsed.data);
  return churn ? { ok: false, error: `${source}: ${churn}` } : { ok: true, config: parsed.data };
}

export function parseConfigText(text: string, source: string): ConfigResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // Never JSON.parse's message: it quotes the text, and errors never quote a file.
    const where = error instanceof SyntaxError ? findJsonSyntaxError(text) : null;
    return { ok: false, error: `${source}: not valid JSON${where ? ` at line ${where.line}, column ${where.column}: expected ${where.expected}` : ""}` };
  }
  return validateConfig(json, source);
}

/** Environment overrides: numbers, booleans, null/none, JSON arrays; anything else is a string. */
export function envOverrides(env: Readonly<Record<string, string | undefined>>): { values: Partial<Record<ConfigField, unknown>>; names: string[] } {
  const values: Partial<Record<ConfigField, unknown>> = {};
  const names: string[] = [];
  for (const field of CONFIG_FIELDS) {
    const raw = env[envName(field)];
    if (raw === undefined) continue;
    names.push(envName(field));
    const text = raw.trim();
    if (/^-?\d+(\.\d+)?$/.test(text)) values[field] = Number(text);
    else if (text === "true" || text === "false") values[field] = text === "true";
    else if (text === "null" || text === "none") values[field] = null;
    else if (text.startsWith("[")) {
      try {
        values[field] = JSON.parse(text);
      } catch {
        values[field] = text;
      }
    } else values[field] = text;
  }
  return { values, names };
}

/** File, then environment, then flags; validated as a whole so an override is checked like the file. */
export function resolveConfig(
  fileValues: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  flags: Partial<Record<ConfigField, unknown>>,
  source: string,
): ConfigResult {
  const fromEnv = envOverrides(env);
  const merged = { ...fileValues, ...fromEnv.values, ...flags };
  const result = validateConfig(merged, source);
  if (result.ok) return result;
  const named = fromEnv.names.length ? ` (environment overrides: ${fromEnv.names.join(", ")})` : "";
  return { ok: false, error: `${result.error}${named}` };
}
