import type { EventEmitter } from "node:events";

/**
 * `rdpcert schedule`: runs one pass on a cron expression plus random jitter,
 * never two at once. SIGHUP runs now; SIGTERM/SIGINT stop scheduling, let the
 * pass in progress finish its rotation or rollback, and resolve `stopped`.
 */
export interface ScheduledJob {
  stop(): void;
  nextRun(): Date | null;
}

/** The cron port: node-cron in production, a hand-driven fake in tests. */
export type Scheduler = (expression: string, onTick: () => void) => ScheduledJob;

export interface DaemonOptions {
  readonly expression: string;
  readonly jitterMinutes: number;
  readonly pass: () => Promise<{ readonly exitCode: number; readonly outcome: string }>;
  readonly log: (level: "info" | "warn" | "error", message: string) => void;
  readonly scheduler: Scheduler;
  readonly signals: EventEmitter;
  readonly random?: () => number;
}

export interface Daemon {
  /** Resolves after SIGTERM/SIGINT once the pass in progress has finished. */
  readonly stopped: Promise<void>;
  /** How many passes ran, and how many ticks were skipped because one was running. */
  readonly stats: () => { readonly passes: number; readonly skipped: number };
}

export class CronError extends Error {
  override name = "CronError";
}

/** Why `rdpcert schedule` would refuse this expression, or null: the check `config validate` shares. */
export function cronError(expression: string): string | null {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cron = require("node-cron") as typeof import("node-cron");
  return cron.validate(expression)
    ? null
    : `schedule ${JSON.stringify(expression)} is not a valid cron expression (5 fields: minute hour day-of-month month day-of-week, or 6 with seconds first)`;
}

export const nodeCronScheduler: Scheduler = (expression, onTick) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cron = require("node-cron") as typeof import("node-cron");
  const invalid = cronError(expression);
  if (invalid) throw new CronError(invalid);
  const task = cron.schedule(expression, onTick, { noOverlap: false });
  return { stop: () => void task.stop(), nextRun: () => task.getNextRun() };
};

export function startDaemon(options: DaemonOptions): Daemon {
  const random = options.random ?? Math.random;
  // Logging never stops the schedule: a failing log is the logger's to report.
  const log: DaemonOptions["log"] = (level, message) => {
    try {
      options.log(level, message);
    } catch {
      // Nothing to do: the pass and the schedule go on.
    }
  };
  let running: Promise<void> | null = null;
  let stopping = false;
  let cancelWait: (() => void) | null = null;
  let passes = 0;
  let skipped = 0;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));

  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        cancelWait = null;
        resolve();
      }
      cancelWait = done;
    });

  const start = (why: string, jitter: boolean): void => {
    if (stopping) return;
    if (running) {
      skipped++;
      log("warn", `${why}: skipped, the previous run is still in progress`);
      return;
    }
    running = (async () => {
      if (jitter && options.jitterMinutes > 0) {
        const delay = Math.floor(random() * options.jitterMinutes * 60_000);
        log("info", `${why}: starting in ${Math.round(delay / 1000)} s (jitter)`);
        await wait(delay);
        if (stopping) return;
      }
      passes++;
      try {
        const result = await options.pass();
        log(
          result.exitCode === 0 ? "info" : result.exitCode === 1 ? "warn" : "error",
          `run finished: ${result.outcome} (exit ${result.exitCode}); next run at ${job.nextRun()?.toISOString() ?? "unknown"}`,
        );
      } catch (error) {
        log("error", `run failed: ${(error as Error).message}`);
      }
    })().finally(() => {
      running = null;
    });
  };

  const job = options.scheduler(options.expression, () => start("scheduled run", true));
  const onHup = (): void => start("SIGHUP: run now", false);
  const ignoreHup = (): void => undefined;
  const onStop = (signal: string) => (): void => {
    if (stopping) return;
    stopping = true;
    job.stop();
    cancelWait?.();
    log("info", `${signal}: stopping${running ? " after the run in progress" : ""}`);
    // A SIGHUP from here on (a reload racing the stop) is ignored, not the default
    // action that kills the process with 129; the listener stays.
    options.signals.on("SIGHUP", ignoreHup);
    void (running ?? Promise.resolve()).then(() => {
      options.signals.off("SIGHUP", onHup);
      options.signals.off("SIGTERM", onTerm);
      options.signals.off("SIGINT", onInt);
      resolveStopped();
    });
  };
  const onTerm = onStop("SIGTERM");
  const onInt = onStop("SIGINT");
  options.signals.on("SIGHUP", onHup);
  options.signals.on("SIGTERM", onTerm);
  options.signals.on("SIGINT", onInt);
  // Only now: whoever reads this line may signal at once (a SIGHUP before the
  // handler exists is the default action, exit 129).
  log(
    "info",
    `scheduled ${JSON.stringify(options.expression)} plus up to ${options.jitterMinutes} min jitter; next run at ${job.nextRun()?.toISOString() ?? "unknown"}`,
  );
  return { stopped, stats: () => ({ passes, skipped }) };
}
