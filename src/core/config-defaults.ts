import { defaultPaths } from "./platform";

/**
 * The configuration's defaults as a plain object, so that a command run with
 * no config file and no RDPCERT_* variable never loads the schema library
 * (zod is heavy: `status` must start fast). A unit test keeps these equal to
 * the schema's defaults (core/config.ts).
 */
export function configDefaults() {
  return {
    backend: "auto" as "auto" | "windows" | "xrdp" | "weston" | "freerdp-shadow" | "pem-pair" | "gnome-remote-desktop",
    port: null as number | null,
    xrdpIni: "/etc/xrdp/xrdp.ini",
    grdConf: "/etc/gnome-remote-desktop/grd.conf",
    grdUser: null as string | null,
    warnDays: 30,
    criticalDays: 7,
    renewalFraction: 2 / 3,
    rotateDays: null as number | null,
    autoRepair: true,
    schedule: "0 3 * * *",
    jitterMinutes: 30,
    stateDir: defaultStateDir(),
    logDir: defaultLogDir(),
    keepBackups: 5,
    restartCommand: "auto" as "auto" | null | string[],
    restartTimeoutMs: 60_000,
    keyBits: 2048 as 2048 | 3072 | 4096,
    validityDays: 180,
    renewCommand: null as string[] | null,
    renewTimeoutMs: 300_000,
    timeoutMs: 5000,
    verifyTimeoutMs: 60_000,
    textfileDir: null as string | null,
    deploySource: null as string | null,
    postChangeCommand: null as string[] | null,
    postChangeTimeoutMs: 300_000,
    stageDays: null as number | null,
    certFile: null as string | null,
    keyFile: null as string | null,
    reloadCommand: null as string[] | null,
  };
}

/** rdpcert's lock, journal, history and backups, unless --state-dir or stateDir says otherwise: the one definition. */
export function defaultStateDir(): string {
  return defaultPaths().stateDir;
}

/** Where `run` and `schedule` log, unless logDir says otherwise. */
export function defaultLogDir(): string {
  return defaultPaths().logDir;
}

/** RDPCERT_WARN_DAYS for warnDays. */
export function envName(field: string): string {
  return `RDPCERT_${field.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** Whether any RDPCERT_<FIELD> variable is set (other RDPCERT_* variables are not configuration). */
export function hasEnvOverrides(env: Readonly<Record<string, string | undefined>>): boolean {
  return Object.keys(configDefaults()).some((field) => env[envName(field)] !== undefined);
}

/**
 * Combinations that make every run rotate: a certificate
 * that is "expiring" or "due" the day it is issued is replaced on every pass.
 * Null when the fields fit together; else one line naming both fields.
 */
export function churnError(config: {
  readonly warnDays: number;
  readonly rotateDays: number | null;
  readonly validityDays: number;
  readonly renewalFraction: number;
  readonly stageDays?: number | null;
}): string | null {
  const { warnDays, rotateDays, validityDays, renewalFraction } = config;
  const stageDays = config.stageDays ?? null;
  // A staged pair ages from the day it is made: activated stageDays later, it must not already warn.
  if (stageDays !== null && stageDays + warnDays >= validityDays) {
    return `stageDays (${stageDays}) plus warnDays (${warnDays}) must be below validityDays (${validityDays}): a staged certificate would already warn the day it is activated`;
  }
  if (warnDays >= validityDays) {
    return `warnDays (${warnDays}) must be below validityDays (${validityDays}): a new certificate would warn the day it is issued, and every run would replace it`;
  }
  if (rotateDays !== null && rotateDays >= validityDays) {
    return `rotateDays (${rotateDays}) must be below validityDays (${validityDays}): a new certificate would be due for renewal the day it is issued, and every run would replace it`;
  }
  if (!(renewalFraction > 0 && renewalFraction < 1)) {
    return `renewalFraction (${renewalFraction}) must lie between 0 and 1 (exclusive): it is the part of validityDays (${validityDays}) after which a certificate is renewed`;
  }
  return null;
}

/** What a post-change hook finds in its environment (docs/hooks-and-staging.md): a hook that runs rdpcert again must not be warned about them. */
export const POST_CHANGE_VARIABLES = [
  "RDPCERT_LISTENER",
  "RDPCERT_OLD_SHA1",
  "RDPCERT_OLD_SHA256",
  "RDPCERT_NEW_SHA1",
  "RDPCERT_NEW_SHA256",
  "RDPCERT_BUNDLE",
] as const;

/** Variables that are not settings but that rdpcert reads (threads, test hooks, tools). */
const OTHER_RDPCERT_VARIABLES = new Set([
  "RDPCERT_PROBE_THREADS",
  "RDPCERT_TEST_FAULT",
  "RDPCERT_XRDP_BIN",
  "RDPCERT_PWSH",
  "RDPCERT_BENCH_RUSAGE",
  ...POST_CHANGE_VARIABLES,
]);

/** `RDPCERT_*` variables that name no setting (a typo is otherwise silently ignored), each with the nearest setting's name. */
export function unknownEnvVariables(env: Readonly<Record<string, string | undefined>>): { name: string; nearest: string | null }[] {
  const known = Object.keys(configDefaults()).map((field) => envName(field));
  return Object.keys(env)
    .filter((name) => name.startsWith("RDPCERT_") && !known.includes(name) && !OTHER_RDPCERT_VARIABLES.has(name))
    .sort()
    .map((name) => {
      const nearest = known.map((k) => [k, distance(k, name)] as const).sort((a, b) => a[1] - b[1])[0];
      return { name, nearest: nearest && nearest[1] <= 3 ? nearest[0] : null };
    });
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
