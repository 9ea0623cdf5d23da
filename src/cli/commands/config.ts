import type { Command } from "commander";
import { configOption, withOptions } from "../options";

/** `rdpcert config init|show|validate`. */
export function registerConfig(program: Command): void {
  const config = program
    .command("config")
    .description("Create, show or check rdpcert's configuration file.")
    .addHelpText(
      "after",
      `\nExamples:\n  sudo rdpcert config init\n  rdpcert config show\n  rdpcert config validate --config /etc/rdpcert/config.json\n\nExit codes: 0 done or valid; 3 not valid (one line names the field, the value and what is allowed).`,
    );
  withOptions(
    config.command("init").description("Write a configuration file with every field at its default.").option("--force", "overwrite an existing file"),
    [configOption()],
  )
    .addHelpText(
      "after",
      `\nExamples:\n  sudo rdpcert config init\n  rdpcert config init --config ./rdpcert.json\n\nExit codes:\n  0  written\n  3  the file exists (without --force) or cannot be written`,
    )
    .action(async (opts: { config: string; force?: boolean }) => {
      const { configInit } = await import("../../app/config-file");
      const out = configInit(opts.config, opts.force === true);
      process.stdout.write(out.stdout);
      process.exitCode = out.exitCode;
    });
  withOptions(config.command("show").description("Print the effective configuration: the file, then RDPCERT_* environment overrides, as JSON."), [
    configOption(),
  ])
    .addHelpText(
      "after",
      `\nExamples:\n  rdpcert config show\n  RDPCERT_WARN_DAYS=21 rdpcert config show --config ./rdpcert.json\n\nExit codes:\n  0  shown\n  3  the configuration is not valid (one line names the field, the value and what is allowed)`,
    )
    .action(async (_opts: unknown, command: Command) => {
      const { configFor } = await import("../config-flags");
      const { jsonText } = await import("../../core/terminal-safe");
      process.stdout.write(`${jsonText(await configFor(command), 2)}\n`);
    });
  withOptions(config.command("validate").description("Check the configuration file (and RDPCERT_* overrides) as run, schedule and task would."), [
    configOption(),
  ])
    .addHelpText(
      "after",
      `\nChecks what run, schedule and task would: the schema, field combinations that churn, the cron expression;\nsays when the file is absent (the defaults apply) and when task cannot register the schedule.\n\nExamples:\n  rdpcert config validate --config /etc/rdpcert/config.json\n\nExit codes:\n  0  valid (or the default file absent: the defaults are valid)\n  3  not valid, or a file named with --config that does not exist: one line names the field, the value and what is allowed`,
    )
    .action(async (opts: { config: string }, command: Command) => {
      const { configFor } = await import("../config-flags");
      const { configValidate } = await import("../../app/config-file");
      // A file named with --config that does not exist is an error (a typo must not silently mean the defaults); the absent default file means the defaults.
      const out = configValidate(opts.config, await configFor(command, { missingIsDefault: command.getOptionValueSource("config") !== "cli" }));
      process.stdout.write(out.stdout);
      process.exitCode = out.exitCode;
    });
}
