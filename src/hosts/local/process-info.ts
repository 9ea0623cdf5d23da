import { readFileSync } from "node:fs";

/**
 * Identity of a process beyond its pid, which the kernel reuses (after a
 * crash and a reboot, a lock's pid is often some other live process, which
 * must not count as the lock's holder). Linux only; elsewhere these return null and callers fall back
 * to the pid alone.
 */

/** Field 22 of /proc/PID/stat: start time in clock ticks since boot, as text. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // comm (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const start = fields[22 - 3];
    return start && /^\d+$/.test(start) ? start : null;
  } catch {
    return null;
  }
}

let cachedBootId: string | null | undefined;

/** /proc/sys/kernel/random/boot_id: changes at every boot. */
export function bootId(): string | null {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync("/proc/sys/kernel/random/boot_id", "latin1").trim() || null;
    } catch {
      cachedBootId = null;
    }
  }
  return cachedBootId;
}

/** When the process started, in ms since the epoch (btime + ticks / USER_HZ, which Linux fixes at 100). */
export function processStartedAtMs(pid: number): number | null {
  const ticks = processStartTime(pid);
  if (ticks === null) return null;
  try {
    const btime = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "latin1"));
    return btime ? Number(btime[1]) * 1000 + Number(ticks) * 10 : null;
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
