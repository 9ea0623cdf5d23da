#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { jsonText, terminalField, terminalText } from "../core/terminal-safe";
import { registerBackups } from "./commands/backups";
import { registerClient } from "./commands/client";
import { registerConfig } from "./commands/config";
import { registerDeploy } from "./commands/deploy";
import { registerDoctor } from "./commands/doctor";
import { registerExporter } from "./commands/exporter";
import { registerHelp } from "./commands/help";
import { registerProbe } from "./commands/probe";
import { registerRotate } from "./commands/rotate";
import { registerRun } from "./commands/run";
import { registerSchedule } from "./commands/schedule";
import { registerStatus } from "./commands/status";
import { registerTask } from "./commands/task";
import { EXIT_CODE_SCALE } from "../core/exit-code";
import { ERROR_SCHEMA, ExitCode, describeFailure } from "./exit-codes";

/**
 * The program: global options and help, then one module per command
 * (./commands/<name>.ts declares its flags, help with examples and exit codes,
 * and an action that parses, calls the application layer in src/app, and
 * renders). Each action loads its implementation only when its command runs,
 * so `--help` and quick commands start fast.
 */
export function buildProgram(argv?: readonly string[]): Command {
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

Every command that looks at this host reads the config file (--config, default
/etc/rdpcert/config.json) when present, then RDPCERT_* variables, then its flags.

Exit codes (probe, status, run, doctor; each command's --help has its own):
  ${EXIT_CODE_SCALE} (bad usage, or could not check)

Every failure is one line on stderr naming what failed and what to do (exit 3);
with --json, stdout carries {"schema":"rdpcert.error/v1", ..., "error":{code,message,fix}};
--debug adds the stack trace of an internal error.`,
    );
  for (const register of commandsFor(argv)) register(program);
  return program;
}

/** Every command, in the order `--help` lists them. */
const COMMANDS: ReadonlyMap<string, (program: Command) => void> = new Map([
  ["probe", registerProbe],
  ["status", registerStatus],
  ["rotate", registerRotate],
  ["deploy", registerDeploy],
  ["backups", registerBackups],
  ["doctor", registerDoctor],
  ["run", registerRun],
  ["schedule", registerSchedule],
  ["task", registerTask],
  ["config", registerConfig],
  ["exporter", registerExporter],
  ["client", registerClient],
  ["help", registerHelp],
]);

/**
 * The commands to declare: only the one named when the first word names one
 * (declaring the others, with their options and help, was a measurable
 * part of a quick command's start-up); all of them otherwise (`--help`,
 * `help CMD` or `help TOPIC`, a mistyped command that commander suggests a name for).
 */
export function commandsFor(argv: readonly string[] | undefined): ((program: Command) => void)[] {
  const named = argv?.find((arg) => !arg.startsWith("-"));
  // `help COMMAND` shows another command's help: every command is declared for it.
  const one = named === undefined || named === "help" ? undefined : COMMANDS.get(named);
  return one ? [one] : [...COMMANDS.values()];
}

/** The package's version, written into the bundle by scripts/bundle.ts (esbuild's `define`); unset in tsc's and ts-jest's output. */
declare const RDPCERT_BUNDLED_VERSION: string | undefined;

function versionText(): string {
  if (typeof RDPCERT_BUNDLED_VERSION === "string") return RDPCERT_BUNDLED_VERSION;
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
  const program = buildProgram(argv);
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return ExitCode.OK;
      // A flag error with --json: commander said it on stderr; stdout still carries the JSON error report.
      if (argv.includes("--json")) {
        try {
          const message = error.message.replace(/^error: /, "");
          process.stdout.write(
            `${jsonText({ schema: ERROR_SCHEMA, command: argv.find((a) => !a.startsWith("-")) ?? null, outcome: "error", exitCode: ExitCode.UNKNOWN, error: { code: "usage", message, fix: null } })}\n`,
          );
        } catch {
          // stdout is gone: the exit code still tells.
        }
      }
      return ExitCode.UNKNOWN;
    }
    const failure = describeFailure(error);
    const debug = argv.includes("--debug");
    try {
      if (argv.includes("--json")) {
        process.stdout.write(
          `${jsonText({ schema: ERROR_SCHEMA, command: argv.find((a) => !a.startsWith("-")) ?? null, outcome: "error", exitCode: ExitCode.UNKNOWN, error: failure })}\n`,
        );
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
 * `localhost` included. One thread per probe in flight (up to
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
