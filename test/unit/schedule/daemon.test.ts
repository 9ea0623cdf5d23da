import { EventEmitter } from "node:events";
import { CronError, type Scheduler, nodeCronScheduler, startDaemon } from "../../../src/schedule/daemon";

function harness(jitterMinutes = 0) {
  let tick: () => void = () => undefined;
  let stoppedJob = false;
  const scheduler: Scheduler = (_expression, onTick) => {
    tick = onTick;
    return { stop: () => (stoppedJob = true), nextRun: () => new Date("2027-01-01T03:00:00Z") };
  };
  const releases: (() => void)[] = [];
  const passes: number[] = [];
  const logs: string[] = [];
  const signals = new EventEmitter();
  const daemon = startDaemon({
    expression: "0 3 * * *",
    jitterMinutes,
    scheduler,
    signals,
    random: () => 0.5,
    log: (level, message) => logs.push(`${level}: ${message}`),
    pass: () =>
      new Promise((resolve) => {
        passes.push(passes.length);
        releases.push(() => resolve({ exitCode: 0, outcome: "nothing" }));
      }),
  });
  return { daemon, tick: () => tick(), releases, passes, logs, signals, jobStopped: () => stoppedJob };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("startDaemon", () => {
  it("logs the expression and the next run time at start", () => {
    const h = harness(30);
    expect(h.logs[0]).toBe('info: scheduled "0 3 * * *" plus up to 30 min jitter; next run at 2027-01-01T03:00:00.000Z');
  });

  it("never overlaps two runs: ticks while one runs are skipped and logged", async () => {
    const h = harness();
    h.tick();
    await flush();
    h.tick();
    h.tick();
    expect(h.passes).toHaveLength(1);
    expect(h.daemon.stats()).toEqual({ passes: 1, skipped: 2 });
    expect(h.logs.filter((l) => l.includes("skipped, the previous run is still in progress"))).toHaveLength(2);
    h.releases[0]!();
    await flush();
    await flush();
    h.tick();
    await flush();
    expect(h.passes).toHaveLength(2);
  });

  it("SIGHUP runs now, without jitter", async () => {
    const h = harness(60);
    h.signals.emit("SIGHUP");
    await flush();
    expect(h.passes).toHaveLength(1);
  });

  it("waits the jitter before a scheduled run, and SIGTERM during the wait stops without running", async () => {
    const h = harness(60);
    h.tick();
    await flush();
    expect(h.logs.at(-1)).toBe("info: scheduled run: starting in 1800 s (jitter)");
    expect(h.passes).toHaveLength(0);
    h.signals.emit("SIGTERM");
    await h.daemon.stopped;
    expect(h.passes).toHaveLength(0);
    expect(h.jobStopped()).toBe(true);
  });

  it("SIGTERM during a run lets it finish, then resolves; no new run starts", async () => {
    const h = harness();
    h.tick();
    await flush();
    let stopped = false;
    void h.daemon.stopped.then(() => (stopped = true));
    h.signals.emit("SIGTERM");
    await flush();
    expect(stopped).toBe(false);
    h.tick();
    h.signals.emit("SIGHUP");
    h.releases[0]!();
    await h.daemon.stopped;
    expect(h.passes).toHaveLength(1);
    expect(h.logs).toContain("info: SIGTERM: stopping after the run in progress");
    expect(h.signals.listenerCount("SIGTERM")).toBe(0);
  });
});

describe("startDaemon: signals and failing logs during shutdown (issue 12)", () => {
  it("a SIGHUP after SIGTERM, even after the daemon stopped, is handled (ignored), never the default action (exit 129)", async () => {
    const h = harness();
    h.signals.emit("SIGTERM");
    await h.daemon.stopped;
    expect(h.signals.listenerCount("SIGHUP")).toBe(1);
    const logged = h.logs.length;
    h.signals.emit("SIGHUP");
    await flush();
    expect([h.passes.length, h.logs.length]).toEqual([0, logged]);
  });

  it("a log that throws never stops the schedule: the pass runs and the daemon stops cleanly", async () => {
    const signals = new EventEmitter();
    let tick: () => void = () => undefined;
    let passes = 0;
    const daemon = startDaemon({
      expression: "0 3 * * *",
      jitterMinutes: 0,
      scheduler: (_e, onTick) => ((tick = onTick), { stop: () => undefined, nextRun: () => null }),
      signals,
      log: () => {
        throw Object.assign(new Error("EROFS: read-only file system, open '/var/log/rdpcert/rdpcert.log'"), { code: "EROFS" });
      },
      pass: async () => ({ exitCode: 0, outcome: `nothing ${++passes}` }),
    });
    tick();
    await flush();
    tick();
    await flush();
    signals.emit("SIGTERM");
    await daemon.stopped;
    expect(daemon.stats()).toEqual({ passes: 2, skipped: 0 });
  });
});

describe("nodeCronScheduler", () => {
  it("rejects a bad cron expression with one line saying what is expected", () => {
    expect(() => nodeCronScheduler("every day at 3", () => undefined)).toThrow(CronError);
    expect(() => nodeCronScheduler("61 3 * * *", () => undefined)).toThrow(/is not a valid cron expression \(5 fields/);
  });

  it("computes the next run of a daily expression", () => {
    const job = nodeCronScheduler("0 3 * * *", () => undefined);
    try {
      const next = job.nextRun()!;
      expect([next.getHours(), next.getMinutes()]).toEqual([3, 0]);
      expect(next.getTime()).toBeGreaterThan(Date.now());
    } finally {
      job.stop();
    }
  });
});
