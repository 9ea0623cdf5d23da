#!/usr/bin/env node
import { Command, CommanderError, Option } from "commander";
import type { BackendChoice } from "../hosts/select-backend";
import { EXIT_CODES_HELP, ExitCode, STATUS_EXIT_CODES_HELP, UsageError } from "./exit-codes";
import { backendOption, integerIn, jsonOption, portOption, timeoutOption, warnDaysOption, xrdpIniOption } from "./options";

/**
 * Every command is declared here and implemented in ./commands/<name>.ts as an
 * async function taking a typed options object; the implementation is loaded
 * only when its command runs, so `--help` and quick commands start fast.
 */
export function buildProgram(): Command {
  const program = new Command("rdpcert")
    .description("Keeps the TLS certificates of Remote Desktop (RDP) listeners healthy.")
    .version(versionText(), "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`rdpcert: ${text.replace(/^error: /, "")}`) });

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
    .addOption(timeoutOption())
    .addOption(warnDaysOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      `
Examples:
  sudo rdpcert status
  rdpcert status --xrdp-ini /etc/xrdp/xrdp.ini --warn-days 21
  rdpcert status --json | jq .status          # for monitoring: exit code 0/1/2/3
${STATUS_EXIT_CODES_HELP}`,
    )
    .action(async (opts: { backend: BackendChoice; xrdpIni: string; timeout: number; warnDays: number; json?: boolean }) => {
      const { statusCommand } = await import("./commands/status");
      const { DEFAULT_RENEWAL_FRACTION } = await import("../core/policy");
      process.exitCode = await statusCommand({
        backend: opts.backend,
        xrdpIni: opts.xrdpIni,
        timeout: opts.timeout,
        warnDays: opts.warnDays,
        renewalFraction: DEFAULT_RENEWAL_FRACTION,
        json: opts.json === true,
      });
    });

  return program;
}

function versionText(): string {
  // dist/src/cli/main.js -> package.json at the repository root.
  return (require("../../../package.json") as { version: string }).version;
}

/** The one place where failures become exit codes. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.OK : ExitCode.UNKNOWN;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`rdpcert: ${error.message}\n`);
      return ExitCode.UNKNOWN;
    }
    process.stderr.write(`rdpcert: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return ExitCode.UNKNOWN;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
