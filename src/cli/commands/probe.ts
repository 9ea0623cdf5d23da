import { readBoundedText } from "../../hosts/local/bounded-read";
import { concurrencyWithin, openFileCount, openFileLimit } from "../../hosts/local/fd-limit";
import { assessProbe } from "../../core/probe-verdict";
import { type Target, TargetError, parseTarget, parseTargetList } from "../../core/target";
import { worstHealth } from "../../core/validity";
import { probeAll } from "../../probe/probe-all";
import { probe } from "../../probe/prober";
import { UsageError, exitCodeFor } from "../exit-codes";
import { probeReportJson } from "../render/probe-json";
import { renderProbeText } from "../render/probe-text";
import { jsonText, terminalText } from "../../core/terminal-safe";

export interface ProbeCommandOptions {
  readonly targets: readonly string[];
  readonly targetsFile?: string;
  readonly port: number;
  readonly timeout: number;
  readonly concurrency: number;
  readonly warnDays: number;
  readonly json: boolean;
}

export async function probeCommand(options: ProbeCommandOptions, now: () => Date = () => new Date()): Promise<number> {
  const targets = collectTargets(options);
  const { concurrency, note } = concurrencyWithin(options.concurrency, targets.length, openFileLimit(), openFileCount());
  const notes = note ? [note] : [];
  if (note) process.stderr.write(`rdpcert: note: ${note}\n`);
  const results = await probeAll(targets, { timeoutMs: options.timeout }, concurrency, probe);
  const at = now();
  const verdicts = results.map((result) => assessProbe(result, at, options.warnDays));
  const health = worstHealth(verdicts.map((v) => v.health));
  const exitCode = exitCodeFor(health);
  const report = { results, verdicts, health, exitCode, now: at, warnDays: options.warnDays };
  process.stdout.write(options.json ? `${jsonText({ ...probeReportJson(report), notes }, 2)}\n` : terminalText(renderProbeText(report)));
  return exitCode;
}

function collectTargets(options: ProbeCommandOptions): Target[] {
  const targets: Target[] = [];
  try {
    for (const input of options.targets) targets.push(parseTarget(input, options.port));
    if (options.targetsFile !== undefined) {
      let text: string;
      try {
        text = readBoundedText(options.targetsFile, "targets");
      } catch (error) {
        throw new UsageError(`cannot read --targets file ${options.targetsFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
      targets.push(...parseTargetList(text, options.port, `--targets ${options.targetsFile}`));
    }
  } catch (error) {
    if (error instanceof TargetError) throw new UsageError(error.message);
    throw error;
  }
  if (targets.length === 0) throw new UsageError("no targets: name at least one TARGET or a non-empty --targets file");
  return targets;
}
