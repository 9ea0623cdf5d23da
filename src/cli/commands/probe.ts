import { type Command, Option } from "commander";
import { EXIT_CODES_HELP, UsageError } from "../exit-codes";
import { integerIn, jsonOption, portOption, timeoutOption, warnDaysOption } from "../options";
import type { ProbeVerdict } from "../../core/probe-verdict";
import type { ProbeResult } from "../../core/probe-result";
import type { Health } from "../../core/validity";

/** `rdpcert probe`: from anywhere, what each listener presents. Loads no heavy module (no config, log or forge). */
export function registerProbe(program: Command): void {
  program
    .command("probe")
    .description("Connect to RDP listeners, negotiate TLS like a client, and report the certificate each presents.")
    .argument("[target...]", "host, host:port or [IPv6]:port (default port 3389)")
    .option("--targets <file>", "read more targets from FILE, one per line (# comments, blank lines ignored); - or a pipe: standard input (at most 16 MiB)")
    .addOption(portOption())
    .addOption(timeoutOption())
    .addOption(new Option("--concurrency <n>", "how many listeners to probe at once").default(32).argParser(integerIn(1, 1024, "--concurrency")))
    .addOption(warnDaysOption())
    .addOption(
      new Option("--critical-days <days>", "CRITICAL when a certificate expires within this many days (0: only once expired)")
        .default(0)
        .argParser(integerIn(0, 3650, "--critical-days")),
    )
    .option("--problems-only", "text: list only the targets that are not OK (the first line still counts them all)")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      `
Output: on a terminal, each result as soon as it and those before it are done (input
order), progress on stderr, the overall state last. Otherwise (a monitoring system, a
pipe) the first line is the overall state with the counts and performance data
(Nagios/Icinga plugin guidelines), then each target:
  RDPCERT WARNING - 2 targets: 1 OK, 1 WARNING | 'rdp01_days'=9;30:;7: 'rdp02_days'=160;30:;7:

Examples:
  rdpcert probe rdp01.example.com
  rdpcert probe 10.0.0.5:3390 [2001:db8::7]:3389 --warn-days 21
  rdpcert probe --targets listeners.txt --concurrency 64 --json > report.json
  rdpcert probe --targets listeners.txt --warn-days 30 --critical-days 7 --problems-only   # an Icinga check
  getent hosts | awk '{print $1}' | rdpcert probe --targets -
${EXIT_CODES_HELP}`,
    )
    .action(
      async (
        inputs: string[],
        opts: {
          targets?: string;
          port: number;
          timeout: number;
          concurrency: number;
          warnDays: number;
          criticalDays: number;
          problemsOnly?: boolean;
          json?: boolean;
        },
      ) => {
        const { collectTargets, probeListeners } = await import("../../app/probe");
        const { exitCodeFor } = await import("../exit-codes");
        const { terminalText } = await import("../../core/terminal-safe");
        const { countsText, monitoringLine, resultBlock, renderProbeText } = await import("../render/probe-text");
        const targets = await collectTargets(inputs, opts.targets, opts.port);
        if (!targets.ok) throw new UsageError(targets.reason);
        const total = targets.lines.length;
        // On a terminal: results in input order as they complete, progress on stderr.
        const streaming = !opts.json && process.stdout.isTTY === true;
        const progress = process.stderr.isTTY === true && total > 1;
        const ready = new Map<number, string>();
        const seen: { health: Health }[] = [];
        let next = 0;
        let drawnAt = 0;
        let drawn = false;
        const clear = (): void => {
          if (drawn) process.stderr.write("\r\x1b[K");
          drawn = false;
        };
        const onResult = (index: number, result: ProbeResult, verdict: ProbeVerdict): void => {
          seen.push(verdict);
          if (streaming) {
            ready.set(
              index,
              opts.problemsOnly && verdict.health === "ok" ? "" : `${terminalText(resultBlock(result, verdict.health, verdict.reason, new Date()))}\n`,
            );
            let out = "";
            while (ready.has(next)) {
              out += ready.get(next);
              ready.delete(next++);
            }
            if (out) {
              clear();
              process.stdout.write(out);
            }
          }
          if (progress && (seen.length === total || Date.now() - drawnAt >= 100 || !drawn)) {
            process.stderr.write(`\r\x1b[Kprobed ${seen.length}/${total}: ${countsText(seen)}`);
            drawn = true;
            drawnAt = Date.now();
          }
        };
        const report = await probeListeners(targets.lines, {
          timeoutMs: opts.timeout,
          concurrency: opts.concurrency,
          warnDays: opts.warnDays,
          criticalDays: opts.criticalDays,
          defaultPort: opts.port,
          onResult,
        });
        clear();
        for (const note of report.notes) process.stderr.write(`rdpcert: note: ${note}\n`);
        const exitCode = exitCodeFor(report.health);
        if (opts.json) {
          const { writeProbeReportJson } = await import("../render/probe-json");
          await writeProbeReportJson({ ...report, exitCode }, writeStdout);
        } else if (streaming) {
          process.stdout.write(terminalText(monitoringLine({ ...report, exitCode }).split(" | ")[0]!) + "\n");
        } else {
          process.stdout.write(terminalText(renderProbeText({ ...report, exitCode }, { problemsOnly: opts.problemsOnly === true })));
        }
        process.exitCode = exitCode;
      },
    );
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
