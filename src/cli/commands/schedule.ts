import type { Config } from "../../core/config";
import { runCommand } from "../../hosts/command-runner";
import { createLog } from "../../log/logger";
import { CronError, nodeCronScheduler, startDaemon } from "../../schedule/daemon";
import { ExitCode, UsageError } from "../exit-codes";
import { executePass } from "./run";

/** `rdpcert schedule`: the long-running daemon; every pass is a `run` with its own run id. */
export async function scheduleCommand(config: Config): Promise<number> {
  const log = createLog({ logDir: config.logDir, console: true, eventLog: process.platform === "win32" ? { runner: runCommand } : null });
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
        return result ?? { exitCode: ExitCode.UNKNOWN, outcome: `cannot-run: ${error}` };
      },
    });
  } catch (error) {
    await log.close();
    if (error instanceof CronError) throw new UsageError(`${error.message}: fix "schedule" in the config or --schedule`);
    throw error;
  }
  await daemon.stopped;
  log.log("info", `stopped after ${daemon.stats().passes} run(s)`);
  await log.close();
  return ExitCode.OK;
}
