import type { Command } from "commander";
import { ExitCode } from "../exit-codes";
import {
  backendOption,
  listenerPortOption,
  configOption,
  deploySourceOption,
  textfileDirOption,
  jsonOption,
  logDirOption,
  postHookOption,
  rotationOptions,
  stateDirOption,
  timeoutOption,
  warnDaysOption,
  withOptions,
  xrdpIniOption,
  grdOptions,
} from "../options";

/** `rdpcert run`: one pass of the policy, what the scheduler runs. */
export function registerRun(program: Command): void {
  withOptions(
    program
      .command("run")
      .description(
        "One pass of the policy, what the scheduler runs: finish an interrupted rotation, inspect, rotate or repair a self-signed certificate when a new one fixes what is wrong, run the renewal hook for a CA-issued one, back off after failures.",
      )
      .option("--dry-run", "say what would be done and change nothing (the same decision and exit code as the real run)"),
    [
      configOption(),
      backendOption(),
      listenerPortOption(),
      xrdpIniOption(),
      ...grdOptions(),
      stateDirOption(),
      logDirOption(),
      textfileDirOption(),
      deploySourceOption(),
      ...rotationOptions(),
      postHookOption(),
      timeoutOption(),
      warnDaysOption(),
      jsonOption(),
    ],
  )
    .addHelpText(
      "after",
      `
Flags override the config file; RDPCERT_<FIELD> environment variables (e.g.
RDPCERT_WARN_DAYS=21) sit between the file and the flags. A one-off run needs
no config file at all.

Examples:
  sudo rdpcert run
  sudo rdpcert run --dry-run --json
  sudo rdpcert run --config /etc/rdpcert/config.json --no-restart
  sudo rdpcert run --textfile-dir /var/lib/prometheus/node-exporter   # rdpcert.prom for node_exporter
  sudo rdpcert run --deploy-source /etc/letsencrypt/live/rdp.example.com   # CA-issued: deploy the renewed one

Exit codes:
  0  healthy, or rotated/renewed/deployed and verified (and the problem that triggered it gone)
  1  WARNING: a warning a new certificate does not fix, or a CA-issued certificate
     expires within warnDays and neither renewCommand nor deploySource brought a newer one;
     or a verified change whose post-change hook failed (the new certificate stays)
  2  CRITICAL: the listener is unhealthy (rotation rolled back or not-fixed, backing off
     after failures, a problem a new certificate does not fix, CA-issued within
     criticalDays, listener down, ...)
  3  bad configuration or usage (also a deploySource or renew command another user
     could change: see docs/trust.md), or the listener could not be inspected`,
    )
    .action(async (opts: { dryRun?: boolean; json?: boolean }, command: Command) => {
      const { configFor } = await import("../config-flags");
      const config = await configFor(command);
      const { executePass } = await import("../../app/run");
      const { RUN_SCHEMA, runJson } = await import("../render/run-json");
      const { jsonText, terminalText } = await import("../../core/terminal-safe");
      const dryRun = opts.dryRun === true;
      const { result, runId, error, warnings: passWarnings, afterChange } = await executePass(config, { dryRun, quietConsole: opts.json === true });
      const { afterChangeWarnings, postChangeJson } = await import("../../app/post-change");
      const changeWarnings = afterChangeWarnings(afterChange ?? null);
      const warnings = [...passWarnings, ...changeWarnings];
      if (!result) {
        process.stdout.write(
          opts.json
            ? `${jsonText({ schema: RUN_SCHEMA, runId, outcome: "cannot-run", exitCode: 3, reason: error, warnings })}\n`
            : terminalText(`cannot run: ${error}\n`),
        );
        process.exitCode = ExitCode.UNKNOWN;
        return;
      }
      if (opts.json)
        process.stdout.write(
          `${jsonText({ ...runJson(result, runId, dryRun, new Date(), warnings), postChange: postChangeJson(afterChange?.hook ?? null) }, 2)}\n`,
        );
      else {
        process.stdout.write(terminalText(`${result.outcome}  ${result.status}  ${result.reason}\n`));
        for (const warning of changeWarnings) process.stdout.write(terminalText(`warning: ${warning}\n`));
        if (result.recovered)
          process.stdout.write(terminalText(`  recovered an interrupted rotation: ${result.recovered.outcome}: ${result.recovered.reason}\n`));
        const pins = result.rotation?.pins;
        if (pins)
          process.stdout.write(
            terminalText(
              pins.written ? `  new SHA-256 ${pins.bundle.sha256.hex}; pins for clients in ${pins.path}\n` : `  pins for clients not written: ${pins.reason}\n`,
            ),
          );
      }
      process.exitCode = result.exitCode;
    });
}
