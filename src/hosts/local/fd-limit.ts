import { readFileSync, readdirSync } from "node:fs";

/**
 * The soft limit on open files (`ulimit -n`) and how many are open now, from
 * /proc on Linux; null where unknown (other systems) or unlimited.
 */
export function openFileLimit(limitsText?: string): number | null {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/self/limits", "utf8");
    } catch {
      return null;
    }
  }
  const match = /^Max open files\s+(\S+)/m.exec(text);
  if (!match || !/^\d+$/.test(match[1]!)) return null;
  return Number(match[1]);
}

export function openFileCount(): number | null {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return null;
  }
}

/** Descriptors kept free for what runs beside the probes: the log file, stdio, Node's own. */
export const DESCRIPTOR_RESERVE = 16;
/** A probe holds its socket (TLS runs on it) and, while its name resolves, the resolver's socket. */
export const DESCRIPTORS_PER_PROBE = 2;

/**
 * How many probes may run at once: the limit minus what is open and a reserve,
 * over what one probe may hold (e.g. `--concurrency 1024`
 * under `ulimit -n 1024` made healthy listeners CRITICAL with EMFILE).
 */
export function concurrencyWithin(requested: number, targets: number, limit: number | null, open: number | null): { concurrency: number; note: string | null } {
  const needed = Math.max(1, Math.min(requested, targets));
  if (limit === null) return { concurrency: needed, note: null };
  const allowed = Math.max(1, Math.floor((limit - (open ?? 0) - DESCRIPTOR_RESERVE) / DESCRIPTORS_PER_PROBE));
  if (needed <= allowed) return { concurrency: needed, note: null };
  return {
    concurrency: allowed,
    note: `--concurrency ${requested} lowered to ${allowed}: the open-file limit is ${limit} (ulimit -n) and ${open ?? "some"} are open; raise the limit to probe more at once`,
  };
}
