import { type ProbeVerdict, assessProbe } from "../core/probe-verdict";
import type { ProbeResult } from "../core/probe-result";
import { type Target, type TargetLine, TargetError, parseTarget, parseTargetLines } from "../core/target";
import { type Health, worstHealth } from "../core/validity";
import { readBoundedInput } from "../hosts/local/bounded-read";
import { concurrencyWithin, openFileCount, openFileLimit } from "../hosts/local/fd-limit";
import { probeAllThreaded, probeThreads } from "../probe/probe-threads";

/**
 * `rdpcert probe`'s use case: targets from the command line and a file, the
 * concurrency the file-descriptor limit allows, one deadline per listener,
 * and a verdict for each. Loads no heavy module (no config, log or forge).
 */
export type Targets = { readonly ok: true; readonly lines: readonly TargetLine[] } | { readonly ok: false; readonly reason: string };

/**
 * The command line's targets, then the --targets file's lines (`-` or a pipe: standard
 * input, bounded). A bad target on the command line is a usage error; a bad line of the
 * file is that line's error, and the other lines are probed.
 */
export async function collectTargets(inputs: readonly string[], targetsFile: string | undefined, defaultPort: number): Promise<Targets> {
  const lines: TargetLine[] = [];
  try {
    for (const input of inputs) lines.push({ ok: true, target: parseTarget(input, defaultPort) });
  } catch (error) {
    if (error instanceof TargetError) return { ok: false, reason: error.message };
    throw error;
  }
  if (targetsFile !== undefined) {
    let text: string;
    try {
      text = (await readBoundedInput(targetsFile, "targets")).toString("utf8");
    } catch (error) {
      const name = targetsFile === "-" ? "standard input" : targetsFile;
      return { ok: false, reason: `cannot read --targets file ${name}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
    }
    lines.push(...parseTargetLines(text, defaultPort, `--targets ${targetsFile === "-" ? "-" : targetsFile}`));
  }
  if (lines.length === 0) return { ok: false, reason: "no targets: name at least one TARGET or a non-empty --targets file" };
  return { ok: true, lines };
}

export interface ProbeReport {
  readonly results: readonly ProbeResult[];
  readonly verdicts: readonly ProbeVerdict[];
  readonly health: Health;
  readonly now: Date;
  readonly warnDays: number;
  readonly criticalDays: number;
  /** e.g. the concurrency was lowered to fit the open-file limit. */
  readonly notes: readonly string[];
}

/** A line that names no listener, as a result: its typed error, CRITICAL like any check that cannot run as written. */
function badLine(line: Extract<TargetLine, { ok: false }>, defaultPort: number): ProbeResult {
  return {
    target: { input: line.input, host: line.input, port: defaultPort },
    address: null,
    requestedProtocols: 0,
    confirm: null,
    tls: null,
    certificate: null,
    certificateDer: null,
    timings: { connectMs: null, negotiationMs: null, tlsMs: null, totalMs: 0 },
    error: { kind: "bad-target", message: line.reason },
  };
}

export interface ProbeListenersOptions {
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly warnDays: number;
  readonly criticalDays?: number;
  readonly defaultPort?: number;
  readonly now?: () => Date;
  /** Each result as it completes (any order): index into `lines`. */
  readonly onResult?: (index: number, result: ProbeResult, verdict: ProbeVerdict) => void;
}

export async function probeListeners(lines: readonly TargetLine[], options: ProbeListenersOptions): Promise<ProbeReport> {
  const now = options.now ?? (() => new Date());
  const criticalDays = options.criticalDays ?? 0;
  const judge = (result: ProbeResult): ProbeVerdict => assessProbe(result, now(), options.warnDays, criticalDays);
  const positions: number[] = [];
  const targets: Target[] = [];
  const results = new Array<ProbeResult>(lines.length);
  lines.forEach((line, i) => {
    if (line.ok) {
      positions.push(i);
      targets.push(line.target);
    } else {
      results[i] = badLine(line, options.defaultPort ?? 3389);
      options.onResult?.(i, results[i]!, judge(results[i]!));
    }
  });
  const notes: string[] = [];
  if (targets.length) {
    const { concurrency, note } = concurrencyWithin(options.concurrency, targets.length, openFileLimit(), openFileCount());
    if (note) notes.push(note);
    const onResult = options.onResult ? (k: number, result: ProbeResult) => options.onResult!(positions[k]!, result, judge(result)) : undefined;
    const probed = await probeAllThreaded(targets, { timeoutMs: options.timeoutMs }, concurrency, probeThreads(targets.length, concurrency), onResult);
    probed.forEach((result, k) => (results[positions[k]!] = result));
  }
  const at = now();
  const verdicts = results.map((result) => assessProbe(result, at, options.warnDays, criticalDays));
  return { results, verdicts, health: worstHealth(verdicts.map((v) => v.health)), now: at, warnDays: options.warnDays, criticalDays, notes };
}
