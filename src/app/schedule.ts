import type { Config } from "../core/config";
import { ExitCode } from "../core/exit-code";
import { runCommand } from "../hosts/command-runner";
import { hostOs } from "../hosts/local/host-os";
import { createLog } from "../log/logger";
import { CronError, nodeCronScheduler, startDaemon } from "../schedule/daemon";
import { collectGarbageWhenIdle } from "./long-running";
import { executePass } from "./run";

/** `rdpcert schedule`: the long-running daemon; every pass is a `run` with its own run id. */
export async function runDaemon(config: Config): Promise<{ exitCode: number } | { cronError: string }> {
  const log = createLog({ logDir: config.logDir, console: true, eventLog: hostOs.eventLog ? { runner: runCommand } : null });
  // Idle between passes (hours, usually): compact the heap a second after each.
  const afterPass = collectGarbageWhenIdle(1000);
  let daemon;
  try {
    daemon = startDaemon({
      expression: config.schedule,
      jitterMinutes: config.jitterMinutes,
      scheduler: nodeCronScheduler,
      signals: process,
      log: log.log,
      pass: async () => {
        const { result, error } = await executePass(config, { dryRun: false, quietConsole: false });
        afterPass();
        return result ?? { exitCode: ExitCode.UNKNOWN, outcome: `cannot-run: ${error}` };
      },
    });
  } catch (error) {
    await log.close();
    if (error instanceof CronError) return { cronError: error.message };
    throw error;
  }
  await daemon.stopped;
  log.log("info", `stopped after ${daemon.stats().passes} run(s)`);
  await log.close();
  return { exitCode: ExitCode.OK };
}
