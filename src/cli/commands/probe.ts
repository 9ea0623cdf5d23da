import { type Command, Option } from "commander";
import { EXIT_CODES_HELP, UsageError } from "../exit-codes";
import { integerIn, jsonOption, portOption, timeoutOption, warnDaysOption } from "../options";

/** `rdpcert probe`: from anywhere, what each listener presents. Loads no heavy module (no config, log or forge). */
export function registerProbe(program: Command): void {
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
    .action(async (inputs: string[], opts: { targets?: string; port: number; timeout: number; concurrency: number; warnDays: number; json?: boolean }) => {
      const { collectTargets, probeListeners } = await import("../../app/probe");
      const { exitCodeFor } = await import("../exit-codes");
      const { terminalText } = await import("../../core/terminal-safe");
      const targets = collectTargets(inputs, opts.targets, opts.port);
      if (!targets.ok) throw new UsageError(targets.reason);
      const report = await probeListeners(targets.targets, { timeoutMs: opts.timeout, concurrency: opts.concurrency, warnDays: opts.warnDays });
      for (const note of report.notes) process.stderr.write(`rdpcert: note: ${note}\n`);
      const exitCode = exitCodeFor(report.health);
      if (opts.json) {
        const { writeProbeReportJson } = await import("../render/probe-json");
        await writeProbeReportJson({ ...report, exitCode }, writeStdout);
      } else {
        const { renderProbeText } = await import("../render/probe-text");
        process.stdout.write(terminalText(renderProbeText({ ...report, exitCode })));
      }
      process.exitCode = exitCode;
    });
}

/** Resolves once stdout took `text` (at once unless its buffer is full), or cannot take more. */
function writeStdout(text: string): Promise<void> {
  if (process.stdout.write(text)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      process.stdout.off("drain", done).off("close", done).off("error", done);
      resolve();
    };
    process.stdout.once("drain", done).once("close", done).once("error", done);
  });
}
