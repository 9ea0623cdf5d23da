import { type Command, Option } from "commander";
import { UsageError } from "../exit-codes";
import {
  backendOption,
  configOption,
  deploySourceOption,
  textfileDirOption,
  integerIn,
  logDirOption,
  rotationOptions,
  stateDirOption,
  timeoutOption,
  warnDaysOption,
  withOptions,
  xrdpIniOption,
} from "../options";

/** `rdpcert schedule`: the daemon alternative to the OS scheduler. */
export function registerSchedule(program: Command): void {
  withOptions(
    program
      .command("schedule")
      .description(
        "Run as a daemon: one run pass on the configured cron schedule plus random jitter, never two at once. SIGHUP runs now; SIGTERM/SIGINT finish the current run safely and exit 0.",
      )
      .option("--schedule <cron>", 'cron expression, 5 fields (or 6 with seconds first); default from the config: "0 3 * * *"')
      .addOption(new Option("--jitter-minutes <n>", "random delay before each scheduled run").argParser(integerIn(0, 1440, "--jitter-minutes"))),
    [
      configOption(),
      backendOption(),
      xrdpIniOption(),
      stateDirOption(),
      logDirOption(),
      textfileDirOption(),
      deploySourceOption(),
      ...rotationOptions(),
      timeoutOption(),
      warnDaysOption(),
    ],
  )
    .addHelpText(
      "after",
      `
Examples:
  sudo rdpcert schedule
  sudo rdpcert schedule --schedule "30 2 * * *" --jitter-minutes 60
  sudo kill -HUP $(pidof -s rdpcert)       # run a pass now

Exit codes:
  0  stopped by SIGTERM or SIGINT after the run in progress finished
  3  bad configuration, e.g. an invalid cron expression`,
    )
    .action(async (_opts: unknown, command: Command) => {
      const longRunning = await import("../../app/long-running");
      longRunning.keepYoungGenerationSmall();
      longRunning.keepCodeUnoptimized();
      const { configFor } = await import("../config-flags");
      const config = await configFor(command);
      const { runDaemon } = await import("../../app/schedule");
      const outcome = await runDaemon(config);
      if ("cronError" in outcome) throw new UsageError(`${outcome.cronError}: fix "schedule" in the config or --schedule`);
      process.exitCode = outcome.exitCode;
    });
}
