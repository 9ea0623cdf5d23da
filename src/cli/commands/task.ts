import { type Command, Option } from "commander";
import { UsageError } from "../exit-codes";
import { configOption, withOptions } from "../options";

/** `rdpcert task install|remove|show`: the OS scheduler entry that runs `rdpcert run`. */
export function registerTask(program: Command): void {
  const task = program
    .command("task")
    .description(
      "Register, remove or show the OS scheduler entry that runs 'rdpcert run' daily with a random delay (systemd timer, or a Windows Task Scheduler task as SYSTEM).",
    )
    .addHelpText(
      "after",
      `\nExamples:\n  sudo rdpcert task install --print\n  sudo rdpcert task install\n  sudo rdpcert task show\n  sudo rdpcert task remove\n\nExit codes: 0 done; 1 (show) not installed; 2 a step failed (or no running systemd); 3 bad usage.`,
    );
  for (const action of ["install", "remove", "show"] as const) {
    const sub = task
      .command(action)
      .description(
        action === "install"
          ? "Write and enable the scheduler entry for the config's schedule and jitter, running this rdpcert and node by absolute path."
          : action === "remove"
            ? "Disable and remove the scheduler entry."
            : "Show the installed scheduler entry.",
      );
    if (action !== "show") sub.option("--print", "show what would be written and run, without writing or running anything");
    withOptions(sub, [configOption(), new Option("--unit-dir <dir>", "systemd unit directory (Linux)").default("/etc/systemd/system")])
      .addHelpText(
        "after",
        `
Examples:
  sudo rdpcert task ${action}${action === "show" ? "" : " --print"}
  sudo rdpcert task ${action} --config /etc/rdpcert/config.json

Exit codes:
  0  done${action === "show" ? " (installed)" : ""}
  ${action === "show" ? "1  not installed" : "2  a step failed (the output says which), or systemd is not running (nothing written)"}
  3  bad usage, or the config's schedule is not a daily/weekly "M H * * *" form`,
      )
      .action(async (opts: { print?: boolean; config: string; unitDir: string }, command: Command) => {
        const { configFor } = await import("../config-flags");
        const config = await configFor(command);
        const { taskAction } = await import("../../app/task");
        const out = await taskAction(config, { action, print: opts.print === true, configPath: opts.config, unitDir: opts.unitDir });
        if (out.usage) throw new UsageError(out.usage);
        process.stdout.write(out.stdout);
        process.stderr.write(out.stderr);
        process.exitCode = out.exitCode;
      });
  }
}
