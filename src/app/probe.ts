import { type ProbeVerdict, assessProbe } from "../core/probe-verdict";
import type { ProbeResult } from "../core/probe-result";
import { type Target, TargetError, parseTarget, parseTargetList } from "../core/target";
import { type Health, worstHealth } from "../core/validity";
import { readBoundedText } from "../hosts/local/bounded-read";
import { concurrencyWithin, openFileCount, openFileLimit } from "../hosts/local/fd-limit";
import { probeAllThreaded, probeThreads } from "../probe/probe-threads";

/**
 * `rdpcert probe`'s use case: targets from the command line and a file, the
 * concurrency the file-descriptor limit allows, one deadline per listener,
 * and a verdict for each. Loads no heavy module (no config, log or forge).
 */
export type Targets = { readonly ok: true; readonly targets: readonly Target[] } | { readonly ok: false; readonly reason: string };

export function collectTargets(inputs: readonly string[], targetsFile: string | undefined, defaultPort: number): Targets {
  const targets: Target[] = [];
  try {
    for (const input of inputs) targets.push(parseTarget(input, defaultPort));
    if (targetsFile !== undefined) {
      let text: string;
      try {
        text = readBoundedText(targetsFile, "targets");
      } catch (error) {
        return { ok: false, reason: `cannot read --targets file ${targetsFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
      }
      targets.push(...parseTargetList(text, defaultPort, `--targets ${targetsFile}`));
    }
  } catch (error) {
    if (error instanceof TargetError) return { ok: false, reason: error.message };
    throw error;
  }
  if (targets.length === 0) return { ok: false, reason: "no targets: name at least one TARGET or a non-empty --targets file" };
  return { ok: true, targets };
}

export interface ProbeReport {
  readonly results: readonly ProbeResult[];
  readonly verdicts: readonly ProbeVerdict[];
  readonly health: Health;
  readonly now: Date;
  readonly warnDays: number;
  /** e.g. the concurrency was lowered to fit the open-file limit. */
  readonly notes: readonly string[];
}

export async function probeListeners(targets: readonly Target[], options: { timeoutMs: number; concurrency: number; warnDays: number; now?: () => Date }): Promise<ProbeReport> {
  const { concurrency, note } = concurrencyWithin(options.concurrency, targets.length, openFileLimit(), openFileCount());
  const results = await probeAllThreaded(targets, { timeoutMs: options.timeoutMs }, concurrency, probeThreads(targets.length, concurrency));
  const now = (options.now ?? (() => new Date()))();
  const verdicts = results.map((result) => assessProbe(result, now, options.warnDays));
  return { results, verdicts, health: worstHealth(verdicts.map((v) => v.health)), now, warnDays: options.warnDays, notes: note ? [note] : [] };
}
