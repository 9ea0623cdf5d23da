#!/usr/bin/env node
import { Command, CommanderError, Option } from "commander";
import type { BackendChoice } from "../hosts/select-backend";
import { jsonText, terminalField, terminalText } from "../core/terminal-safe";
import { ERROR_SCHEMA, EXIT_CODES_HELP, ExitCode, STATUS_EXIT_CODES_HELP, UsageError, describeFailure } from "./exit-codes";
import { DEFAULT_CONFIG_PATH, backendOption, integerIn, jsonOption, portOption, rotationOptions, stateDirOption, timeoutOption, warnDaysOption, xrdpIniOption } from "./options";
import type { RotationFlags } from "./commands/rotate";
import { registerExporter } from "./commands/exporter";


/** commander's raw values for the shared rotation flags, typed into RotationFlags. */
interface RawRotationOptions {
  backend: BackendChoice;
  xrdpIni: string;
  stateDir: string;
  restartCommand?: string;
  restart: boolean;
  restartTimeout: number;
  verifyTimeout: number;
  timeout: number;
  warnDays: number;
  keyBits: string;
  validityDays: number;
  keepBackups: number;
}

async function rotationFlags(opts: RawRotationOptions): Promise<RotationFlags> {
  const { DEFAULT_RENEWAL_FRACTION } = await import("../core/policy");
  return { ...opts, keyBits: Number(opts.keyBits) as 2048 | 3072 | 4096, renewalFraction: DEFAULT_RENEWAL_FRACTION };
}

/** commander's repeatable option: --name a --name b -> ["a", "b"]. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function withOptions(command: Command, options: readonly Option[]): Command {
  for (const option of options) command.addOption(option);
  return command;
}

/**
 * Every command is declared here and implemented in ./commands/<name>.ts as an
 * async function taking a typed options object; the implementation is loaded
 * only when its command runs, so `--help` and quick commands start fast.
 */
export function buildProgram(): Command {
  const program = new Command("rdpcert")
    .description("Keeps the TLS certificates of Remote Desktop (RDP) listeners healthy.")
    .version(versionText(), "-V, --version")
    .option("--debug", "on an internal error, print its stack trace too")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`rdpcert: ${text.replace(/^error: /, "")}`) })
    .addHelpText(
      "after",
      `
Examples:
  rdpcert probe rdp01.example.com:3389          # from anywhere: what the listener presents
  sudo rdpcert status                           # on the host: configured vs presented, verdict
  sudo rdpcert rotate --dry-run                 # the exact plan of a safe replacement
  rdpcert doctor rdp01.example.com              # "error 0x904, extended 0x7": most likely cause
  sudo rdpcert task install                     # daily 'rdpcert run' from systemd or Task Scheduler

Exit codes (probe, status, run, doctor; each command's --help has its own):
  0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad usage, or could not check)

Every failure is one line on stderr naming what failed and what to do (exit 3);
with --json, stdout carries {"schema":"rdpcert.error/v1", ..., "error":{code,message,fix}};
--debug adds the stack trace of an internal error.`,
    );

  program
    .command("probe")
    .description("Connect to RDP listeners, negotiate TLS like a client, and report the certificate each presents.")
    .argument("[target...]", "host, host:port or [IPv6]:port (default port 3389)")
    .option("--targets <file>", "read more targets from FILE, one per line (# comments, blank lines ignored)")
    .addOption(portOption())
    .addOption(timeoutOption())
    .addOption(new Option("--concurrency <n>", "how many listeners to probe at once").default(32).argParser(integerIn(1, 1024, "--concurrency")))
    .addOption(warnDaysOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      `
Examples:
  rdpcert probe rdp01.example.com
  rdpcert probe 10.0.0.5:3390 [2001:db8::7]:3389 --warn-days 21
  rdpcert probe --targets listeners.txt --concurrency 64 --json > report.json
${EXIT_CODES_HELP}`,
    )
    .action(async (targets: string[], opts: { targets?: string; port: number; timeout: number; concurrency: number; warnDays: number; json?: boolean }) => {
      const { probeCommand } = await import("./commands/probe");
      process.exitCode = await probeCommand({
        targets,
        targetsFile: opts.targets,
        port: opts.port,
        timeout: opts.timeout,
        concurrency: opts.concurrency,
        warnDays: opts.warnDays,
        json: opts.json === true,
      });
    });

  program
    .command("status")
    .description("Inspect this host's RDP listener: the configured certificate and key, what the listener presents, and a verdict with fixes.")
    .addOption(backendOption())
    .addOption(xrdpIniOption())
    .addOption(stateDirOption())
    .addOption(timeoutOption())
    .addOption(warnDaysOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      `
An interrupted rotation found in --state-dir is finished or rolled back first.

Examples:
  sudo rdpcert status
  rdpcert status --xrdp-ini /etc/xrdp/xrdp.ini --warn-days 21
  rdpcert status --json | jq .status          # for monitoring: exit code 0/1/2/3
${STATUS_EXIT_CODES_HELP}`,
    )
    .action(async (opts: { backend: BackendChoice; xrdpIni: string; stateDir: string; timeout: number; warnDays: number; json?: boolean }) => {
      const { statusCommand } = await import("./commands/status");
      const { DEFAULT_RENEWAL_FRACTION } = await import("../core/policy");
      process.exitCode = await statusCommand({
        backend: opts.backend,
        xrdpIni: opts.xrdpIni,
        stateDir: opts.stateDir,
        timeout: opts.timeout,
        warnDays: opts.warnDays,
        renewalFraction: DEFAULT_RENEWAL_FRACTION,
        json: opts.json === true,
      });
    });

  const rotateCommand = program
    .command("rotate")
    .description("Replace the listener's self-signed certificate safely: back up, replace, restart, verify with a real handshake, roll back on failure.")
    .option("--dry-run", "print the exact plan and change nothing")
    .option("--yes", "do not ask for confirmation (required without a terminal)")
    .option("--force", "rotate even when healthy, and even a CA-issued certificate (replaced by a self-signed one)")
    .option("--reason <text>", "recorded in the journal and the backup")
    .option("--name <dns>", "xrdp: a DNS name for the new certificate (repeat for more; the first is the CN). Default: the old certificate's names", collect, [])
    .option("--ip <address>", "xrdp: an IP address for the new certificate's subjectAltName (repeat for more)", collect, [])
    .option("--in-session", "Windows: rotate from inside an RDP session instead of handing the rotation to a SYSTEM task");
  withOptions(rotateCommand, [backendOption(), xrdpIniOption(), stateDirOption(), ...rotationOptions(), timeoutOption(), warnDaysOption(), jsonOption()])
    .addHelpText(
      "after",
      `
Examples:
  sudo rdpcert rotate --dry-run
  sudo rdpcert rotate --yes --reason "expires in 9 days"
  sudo rdpcert rotate --yes --name rdp01.example.com --name rdp01 --ip 192.0.2.10
  sudo rdpcert rotate --yes --restart-command "systemctl restart xrdp" --verify-timeout 30000 --json

Outcomes: rotated, not-needed, planned (--dry-run), refused, busy, rolled-back, rollback-failed,
handed-off (Windows, from inside an RDP session: the rotation runs as a one-off SYSTEM task).

Exit codes:
  0  rotated, not needed, or planned (--dry-run)
  2  rolled back (the old certificate is in place again) or rollback failed
     (the output names the backup to restore with 'rdpcert backups restore ID')
  3  refused (CA-issued without --force, listener down, cannot inspect), another
     rotation holds the lock, or bad usage`,
    )
    .action(async (opts: RawRotationOptions & { dryRun?: boolean; yes?: boolean; force?: boolean; reason?: string; inSession?: boolean; json?: boolean; name: string[]; ip: string[] }) => {
      const { rotateCommand: run, requestedNames } = await import("./commands/rotate");
      process.exitCode = await run({
        ...(await rotationFlags(opts)),
        requestedNames: requestedNames(opts.name, opts.ip),
        inSession: opts.inSession === true,
        dryRun: opts.dryRun === true,
        yes: opts.yes === true,
        force: opts.force === true,
        reason: opts.reason,
        json: opts.json === true,
      });
    });

  const backups = program
    .command("backups")
    .description("List the numbered backups rotations made, or restore one by hand.")
    .addHelpText("after", `\nExamples:\n  sudo rdpcert backups list\n  sudo rdpcert backups restore 0003 --yes\n\nExit codes: see 'rdpcert backups list --help' and 'rdpcert backups restore --help'.`);
  withOptions(backups.command("list").description("List backups, newest last."), [stateDirOption(), jsonOption()])
    .addHelpText("after", `
Examples:
  sudo rdpcert backups list
  sudo rdpcert backups list --json

Exit codes:
  0  listed
  3  bad usage`)
    .action(async (opts: { stateDir: string; json?: boolean }) => {
      const { backupsListCommand } = await import("./commands/backups");
      process.exitCode = backupsListCommand({ stateDir: opts.stateDir, json: opts.json === true });
    });
  withOptions(
    backups
      .command("restore")
      .description("Put a backup's certificate, key and configuration back (the current ones are backed up first), restart, and show what the listener presents.")
      .argument("<id>", "backup number, as 'backups list' shows it")
      .option("--yes", "do not ask for confirmation (required without a terminal)"),
    [backendOption(), xrdpIniOption(), stateDirOption(), ...rotationOptions(), timeoutOption(), warnDaysOption(), jsonOption()],
  )
    .addHelpText("after", `
Examples:
  sudo rdpcert backups restore 0003 --yes

Exit codes:
  0  restored, and the listener presents the restored certificate
  2  restored, but the listener does not present it
  3  no such backup, another rotation holds the lock, or bad usage`)
    .action(async (id: string, opts: RawRotationOptions & { yes?: boolean; json?: boolean }) => {
      const { backupsRestoreCommand } = await import("./commands/backups");
      process.exitCode = await backupsRestoreCommand(id, { ...(await rotationFlags(opts)), yes: opts.yes === true, json: opts.json === true });
    });

  program
    .command("doctor")
    .description('Diagnose "error code 0x904, extended error 0x7": resolution, reachability, negotiation, TLS and certificate, link quality, and on the host the configuration; then the most likely cause and its fix.')
    .argument("[target]", "host, host:port or [IPv6]:port; default: this host's listener")
    .addOption(new Option("--samples <n>", "handshakes for the link-quality check").default(10).argParser(integerIn(1, 1000, "--samples")))
    .option("--client [host]", "Windows client side: Default.rdp, the bitmap cache and the certificate stored for HOST")
    .option("--fix", "with --client: back each item up, then remove it")
    .addOption(portOption())
    .addOption(backendOption())
    .addOption(xrdpIniOption())
    .addOption(timeoutOption())
    .addOption(warnDaysOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      `
Examples:
  sudo rdpcert doctor                      # on the RDP host: adds the configuration's view
  rdpcert doctor rdp01.example.com --samples 30
  rdpcert doctor 10.0.0.5:3390 --json
  rdpcert doctor --client rdp01.example.com --fix   # on the Windows client that fails

Exit codes:
  0  nothing wrong found (--client --fix: cleaned)
  2  a cause was found (the output names the most likely one and its fix)
  3  doctor itself could not run (bad target, no local listener found)`,
    )
    .action(async (target: string | undefined, opts: { samples: number; port: number; backend: BackendChoice; xrdpIni: string; timeout: number; warnDays: number; json?: boolean; client?: string | boolean; fix?: boolean }) => {
      if (opts.fix && opts.client === undefined) throw new UsageError("--fix goes with --client (it cleans the Windows client's cached state)");
      if (opts.client !== undefined) {
        const { clientDoctorCommand } = await import("./commands/doctor");
        process.exitCode = await clientDoctorCommand({ host: typeof opts.client === "string" ? opts.client : (target ?? null), fix: opts.fix === true, json: opts.json === true });
        return;
      }
      const { doctorCommand } = await import("./commands/doctor");
      process.exitCode = await doctorCommand({ target, ...opts, json: opts.json === true });
    });

  const textfileDirOption = (): Option => new Option("--textfile-dir <dir>", "write rdpcert.prom (Prometheus text format) here after every pass, for node_exporter's textfile collector or windows_exporter's textfile_inputs");
  const configOption = (): Option => new Option("--config <path>", "rdpcert's configuration file (JSON)").default(DEFAULT_CONFIG_PATH);
  /** `missingIsDefault`: config validate reports an absent file itself rather than failing on it. */
  const effectiveConfig = async (command: Command, missingIsDefault = false) => {
    const { loadConfig, flagOverrides } = await import("./config-load");
    const explicit = command.getOptionValueSource("config") === "cli" && !missingIsDefault;
    return loadConfig(command.opts<{ config: string }>().config, explicit, flagOverrides(command));
  };

  withOptions(
    program
      .command("run")
      .description("One pass of the policy, what the scheduler runs: finish an interrupted rotation, inspect, rotate or repair a self-signed certificate when due, run the renewal hook for a CA-issued one, back off after failures.")
      .option("--dry-run", "say what would be done and change nothing"),
    [configOption(), backendOption(), xrdpIniOption(), stateDirOption(), new Option("--log-dir <dir>", "where the JSON-lines log goes"), textfileDirOption(), ...rotationOptions(), timeoutOption(), warnDaysOption(), jsonOption()],
  )
    .addHelpText(
      "after",
      `
Flags override the config file, which overrides nothing else; RDPCERT_<FIELD> environment
variables (e.g. RDPCERT_WARN_DAYS=21) sit between the file and the flags. A one-off run
needs no config file at all.

Examples:
  sudo rdpcert run
  sudo rdpcert run --dry-run --json
  sudo rdpcert run --config /etc/rdpcert/config.json --no-restart
  sudo rdpcert run --textfile-dir /var/lib/prometheus/node-exporter   # rdpcert.prom for node_exporter

Exit codes:
  0  healthy, or rotated/renewed and verified
  1  WARNING: a CA-issued certificate expires within warnDays and no renewCommand is set
  2  CRITICAL: the listener is unhealthy (rotation rolled back, backing off after failures,
     CA-issued within criticalDays, listener down, ...)
  3  bad configuration or usage, or the listener could not be inspected`,
    )
    .action(async (opts: { dryRun?: boolean; json?: boolean }, command: Command) => {
      const config = await effectiveConfig(command);
      const { runCommandLine } = await import("./commands/run");
      process.exitCode = await runCommandLine(config, { dryRun: opts.dryRun === true, json: opts.json === true });
    });

  withOptions(
    program
      .command("schedule")
      .description("Run as a daemon: one run pass on the configured cron schedule plus random jitter, never two at once. SIGHUP runs now; SIGTERM/SIGINT finish the current run safely and exit 0.")
      .option("--schedule <cron>", 'cron expression, 5 fields (or 6 with seconds first); default from the config: "0 3 * * *"')
      .addOption(new Option("--jitter-minutes <n>", "random delay before each scheduled run").argParser(integerIn(0, 1440, "--jitter-minutes"))),
    [configOption(), backendOption(), xrdpIniOption(), stateDirOption(), new Option("--log-dir <dir>", "where the JSON-lines log goes"), textfileDirOption(), ...rotationOptions(), timeoutOption(), warnDaysOption()],
  )
    .addHelpText(
      "after",
      `
Examples:
  sudo rdpcert schedule
  sudo rdpcert schedule --schedule "30 2 * * *" --jitter-minutes 60
  sudo kill -HUP $(pidof -s rdpcert)       # run a pass now

Exit codes:
  0  stopped by SIGTERM or SIGINT after the run in progress finished
  3  bad configuration, e.g. an invalid cron expression`,
    )
    .action(async (_opts: unknown, command: Command) => {
      const cfg = await effectiveConfig(command);
      const { scheduleCommand } = await import("./commands/schedule");
      process.exitCode = await scheduleCommand(cfg);
    });

  const task = program
    .command("task")
    .description("Register, remove or show the OS scheduler entry that runs 'rdpcert run' daily with a random delay (systemd timer, or a Windows Task Scheduler task as SYSTEM).")
    .addHelpText("after", `\nExamples:\n  sudo rdpcert task install --print\n  sudo rdpcert task install\n  sudo rdpcert task show\n  sudo rdpcert task remove\n\nExit codes: 0 done; 1 (show) not installed; 2 a step failed; 3 bad usage.`);
  for (const action of ["install", "remove", "show"] as const) {
    const sub = task
      .command(action)
      .description(
        action === "install"
          ? "Write and enable the scheduler entry for the config's schedule and jitter."
          : action === "remove"
            ? "Disable and remove the scheduler entry."
            : "Show the installed scheduler entry.",
      );
    if (action !== "show") sub.option("--print", "show what would be written and run, without writing or running anything");
    withOptions(sub, [configOption(), new Option("--unit-dir <dir>", "systemd unit directory (Linux)").default("/etc/systemd/system")])
      .addHelpText(
        "after",
        `
Examples:
  sudo rdpcert task ${action}${action === "show" ? "" : " --print"}
  sudo rdpcert task ${action} --config /etc/rdpcert/config.json

Exit codes:
  0  done${action === "show" ? " (installed)" : ""}
  ${action === "show" ? "1  not installed" : "2  a step failed (the output says which)"}
  3  bad usage, or the config's schedule is not a daily/weekly "M H * * *" form`,
      )
      .action(async (opts: { print?: boolean; config: string; unitDir: string }, command: Command) => {
        const cfg = await effectiveConfig(command);
        const { taskCommand } = await import("./commands/task");
        process.exitCode = await taskCommand(cfg, { action, print: opts.print === true, configPath: opts.config, unitDir: opts.unitDir });
      });
  }

  const config = program
    .command("config")
    .description("Create, show or check rdpcert's configuration file.")
    .addHelpText("after", `\nExamples:\n  sudo rdpcert config init\n  rdpcert config show\n  rdpcert config validate --config /etc/rdpcert/config.json\n\nExit codes: 0 done or valid; 3 not valid (one line names the field, the value and what is allowed).`);
  withOptions(config.command("init").description("Write a configuration file with every field at its default.").option("--force", "overwrite an existing file"), [configOption()])
    .addHelpText("after", `\nExamples:\n  sudo rdpcert config init\n  rdpcert config init --config ./rdpcert.json\n\nExit codes:\n  0  written\n  3  the file exists (without --force) or cannot be written`)
    .action(async (opts: { config: string; force?: boolean }) => {
      const { configInitCommand } = await import("./commands/config");
      process.exitCode = configInitCommand(opts.config, opts.force === true);
    });
  withOptions(config.command("show").description("Print the effective configuration: the file, then RDPCERT_* environment overrides, as JSON."), [configOption()])
    .addHelpText("after", `\nExamples:\n  rdpcert config show\n  RDPCERT_WARN_DAYS=21 rdpcert config show --config ./rdpcert.json\n\nExit codes:\n  0  shown\n  3  the configuration is not valid (one line names the field, the value and what is allowed)`)
    .action(async (_opts: unknown, command: Command) => {
      const { configShowCommand } = await import("./commands/config");
      process.exitCode = configShowCommand(await effectiveConfig(command));
    });
  withOptions(config.command("validate").description("Check the configuration file (and RDPCERT_* overrides)."), [configOption()])
    .addHelpText("after", `\nChecks what run, schedule and task would: the schema, field combinations that churn, the cron expression;\nsays when the file is absent (the defaults apply) and when task cannot register the schedule.\n\nExamples:\n  rdpcert config validate --config /etc/rdpcert/config.json\n\nExit codes:\n  0  valid (or absent: the defaults are valid)\n  3  not valid: one line names the field, the value and what is allowed`)
    .action(async (opts: { config: string }, command: Command) => {
      const cfg = await effectiveConfig(command, true);
      const { configValidateCommand } = await import("./commands/config");
      process.exitCode = configValidateCommand(opts.config, cfg);
    });

  registerExporter(program);

  return program;
}

function versionText(): string {
  // dist/src/cli/main.js -> package.json at the repository root.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- JSON outside rootDir's compiled tree
  return (require("../../../package.json") as { version: string }).version;
}

/**
 * The one place where failures become exit codes: every failure is one line
 * on stderr naming what failed and what to do, exit 3; with --json, stdout
 * still carries a JSON report with the error; a stack trace only with --debug.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.OK : ExitCode.UNKNOWN;
    }
    const failure = describeFailure(error);
    const debug = argv.includes("--debug");
    try {
      if (argv.includes("--json")) {
        process.stdout.write(`${jsonText({ schema: ERROR_SCHEMA, command: argv.find((a) => !a.startsWith("-")) ?? null, outcome: "error", exitCode: ExitCode.UNKNOWN, error: failure })}\n`);
      }
      process.stderr.write(`rdpcert: ${terminalField(failure.message)}${failure.fix ? `: ${terminalField(failure.fix)}` : ""}\n`);
      if (debug && error instanceof Error && error.stack) process.stderr.write(`${terminalText(error.stack)}\n`);
    } catch {
      // stdout or stderr is gone (EPIPE): the exit code still tells.
    }
    return ExitCode.UNKNOWN;
  }
}

/**
 * Name lookups (getaddrinfo) run on libuv's thread pool, 4 threads by default:
 * four names waiting on a silent DNS server would queue every other lookup,
 * `localhost` included (issue 12 item 4). One thread per probe in flight (up to
 * 128), plus the default four for file work; read by libuv when the pool first starts.
 */
export function threadPoolSize(argv: readonly string[]): number {
  let concurrency = 32;
  argv.forEach((arg, i) => {
    const value = arg.startsWith("--concurrency=") ? arg.slice("--concurrency=".length) : arg === "--concurrency" ? argv[i + 1] : undefined;
    if (value !== undefined && /^\d+$/.test(value)) concurrency = Number(value);
  });
  // Capped: past 128 names waiting at once, a few more may queue; threads are not free.
  return Math.min(128, Math.max(1, concurrency)) + 4;
}

if (require.main === module) {
  process.env.UV_THREADPOOL_SIZE ??= String(threadPoolSize(process.argv.slice(2)));
  // `rdpcert probe ... | head -c1`: a reader that went away is not an error of ours.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") process.exitCode = ExitCode.UNKNOWN;
    });
  }
  void main(process.argv.slice(2)).then(exitWhenFlushed);
}

/**
 * Exits as soon as stdout and stderr are flushed: work the command gave up on
 * (a name lookup past its deadline) does not hold the process, and the daemon's
 * SIGHUP handler stays in place to the end (Node restores the default action,
 * exit 129, while it tears down an event loop that ran dry).
 */
function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  let waiting = 2;
  const done = (): void => {
    if (--waiting === 0) process.exit(typeof process.exitCode === "number" && process.exitCode !== 0 ? process.exitCode : code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.destroyed) done();
    else stream.write("", () => done());
  }
}
