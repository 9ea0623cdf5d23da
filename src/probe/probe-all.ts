import type { Target } from "../core/target";
import type { ProbeOptions, ProbeResult, Prober } from "./prober";

/**
 * Probes every target with at most `concurrency` in flight. Results come back in
 * input order; one slow target holds only its own slot, never the others.
 */
export async function probeAll(
  targets: readonly Target[],
  options: ProbeOptions,
  concurrency: number,
  prober: Prober,
  onResult?: (index: number, result: ProbeResult) => void,
): Promise<ProbeResult[]> {
  const results = new Array<ProbeResult>(targets.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < targets.length) {
      const index = next++;
      results[index] = await prober(targets[index]!, options);
      onResult?.(index, results[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, targets.length)) }, worker));
  return results;
}
