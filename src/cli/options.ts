import { InvalidArgumentError, Option } from "commander";

/**
 * Options shared between commands are built here so that a flag means the same
 * thing, with the same default and validation, wherever it appears.
 */
export function integerIn(min: number, max: number, what: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`${what} must be a whole number from ${min} to ${max}.`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${what} must be a whole number from ${min} to ${max}.`);
    return n;
  };
}

export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_WARN_DAYS = 30;

export const jsonOption = (): Option => new Option("--json", "print the documented JSON report instead of text");
export const timeoutOption = (): Option =>
  new Option("--timeout <ms>", "deadline for each listener check (connect, negotiation, TLS), in ms")
    .default(DEFAULT_TIMEOUT_MS)
    .argParser(integerIn(1, 600_000, "--timeout"));
export const warnDaysOption = (): Option =>
  new Option("--warn-days <days>", "warn when a certificate expires within this many days")
    .default(DEFAULT_WARN_DAYS)
    .argParser(integerIn(0, 3650, "--warn-days"));
export const portOption = (): Option =>
  new Option("--port <port>", "port for targets that do not name one").default(3389).argParser(integerIn(1, 65535, "--port"));

export const backendOption = (): Option =>
  new Option("--backend <kind>", "the kind of RDP server on this host (auto: Windows on win32, xrdp where its ini exists)")
    .choices(["auto", "windows", "xrdp"])
    .default("auto");
export const xrdpIniOption = (): Option => new Option("--xrdp-ini <path>", "xrdp's configuration file").default("/etc/xrdp/xrdp.ini");
