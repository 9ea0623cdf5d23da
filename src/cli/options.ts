import { type Command, InvalidArgumentError, Option } from "commander";
import { defaultPaths } from "../core/platform";
import { UsageError } from "./exit-codes";

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
  new Option(
    "--backend <kind>",
    "the kind of RDP server on this host (auto: Windows on win32; else the server listening on --port, else xrdp where its ini exists)",
  )
    .choices(["auto", "windows", "xrdp", "weston", "freerdp-shadow", "pem-pair", "gnome-remote-desktop"])
    .default("auto");
/** The local listener's port (the config's `port`): picks the server under --backend auto, and is where it is probed. No default: the configured one, else 3389. */
export const listenerPortOption = (): Option =>
  new Option("--port <port>", "the local listener's port: --backend auto finds the server listening there (default: the configured port, else 3389)").argParser(
    integerIn(1, 65535, "--port"),
  );
export const xrdpIniOption = (): Option => new Option("--xrdp-ini <path>", "xrdp's configuration file").default("/etc/xrdp/xrdp.ini");
/** gnome-remote-desktop: system mode's grd.conf, or the user whose session serves (user mode). */
export const grdOptions = (): Option[] => [
  new Option("--grd-conf <path>", "gnome-remote-desktop 46+ system mode: its configuration").default("/etc/gnome-remote-desktop/grd.conf"),
  new Option("--grd-user <name>", "gnome-remote-desktop user mode: the user whose GNOME session serves RDP (default: the owner of the listening process)"),
];

export const DEFAULT_STATE_DIR = defaultPaths().stateDir;
export const stateDirOption = (): Option => new Option("--state-dir <dir>", "rdpcert's lock, journal and backups (0700)").default(DEFAULT_STATE_DIR);

/** The options every command that may rotate shares (rotate, backups restore, run). */
export const rotationOptions = (): Option[] => [
  new Option(
    "--restart-command <cmd>",
    "command that restarts the RDP service, as argv (quotes group words; no shell). xrdp default: systemctl restart xrdp when systemd runs it, else none",
  ),
  new Option("--no-restart", "do not restart the service (xrdp reads its certificate for every new connection)"),
  new Option("--restart-timeout <ms>", "deadline for the restart command").default(60_000).argParser(integerIn(1, 3_600_000, "--restart-timeout")),
  new Option("--verify-timeout <ms>", "how long to wait for the listener to present the new certificate")
    .default(60_000)
    .argParser(integerIn(1, 3_600_000, "--verify-timeout")),
  new Option("--key-bits <bits>", "RSA key size of a generated certificate").choices(["2048", "3072", "4096"]).default("2048"),
  new Option("--validity-days <days>", "validity of a generated certificate").default(180).argParser(integerIn(1, 3650, "--validity-days")),
  new Option("--keep-backups <n>", "how many numbered backups to keep").default(5).argParser(integerIn(1, 1000, "--keep-backups")),
];

export const DEFAULT_CONFIG_PATH = defaultPaths().configFile;

export const configOption = (): Option =>
  new Option("--config <path>", "rdpcert's configuration file (JSON); flags override it, RDPCERT_* variables sit between").default(DEFAULT_CONFIG_PATH);
export const logDirOption = (): Option => new Option("--log-dir <dir>", "where the JSON-lines log goes");
export const deploySourceOption = (): Option =>
  new Option(
    "--deploy-source <dir>",
    "xrdp: a directory with fullchain.pem and privkey.pem (a certbot lineage): deploy a newer certificate for the same names from it when the CA-issued one nears expiry",
  );
export const textfileDirOption = (): Option =>
  new Option(
    "--textfile-dir <dir>",
    "write rdpcert.prom (Prometheus text format) here after every pass, for node_exporter's textfile collector or windows_exporter's textfile_inputs",
  );

/** `--post-hook CMD`: the config's postChangeCommand for this invocation (docs/hooks-and-staging.md). */
export const postHookOption = (): Option =>
  new Option(
    "--post-hook <cmd>",
    "run this command (argv: quotes group words; no shell) after a verified change only, with RDPCERT_LISTENER, RDPCERT_OLD_SHA1/SHA256, RDPCERT_NEW_SHA1/SHA256 and RDPCERT_BUNDLE set; overrides postChangeCommand",
  );

/** commander's repeatable option: --name a --name b -> ["a", "b"]. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function withOptions(command: Command, options: readonly Option[]): Command {
  for (const option of options) command.addOption(option);
  return command;
}

/** `--listener NAME` (Windows): a WinStations key name, never text a script would interpret. */
export function listenerName(value: string): string {
  if (!/^[A-Za-z0-9#-]{1,32}$/.test(value))
    throw new UsageError(`--listener ${JSON.stringify(value)} is not a listener name (1 to 32 letters, digits, # or -)`);
  return value;
}
