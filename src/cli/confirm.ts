import type { Command } from "commander";
import { UsageError } from "./exit-codes";

/** The effective configuration of a command (file, RDPCERT_* variables, flags). */
export type EffectiveConfig = Awaited<ReturnType<typeof import("./config-flags").configFor>>;
/** The command log's writer while a change runs; undefined when nothing is logged. */
export type ChangeLog = ((level: "info" | "warn" | "error", message: string) => void) | undefined;

/**
 * A change to the listener's certificate (rotate, deploy) asks a person: off a
 * terminal, --yes says yes, and --dry-run shows the plan instead.
 */
export function requireYesOffTerminal(flags: { readonly dryRun: boolean; readonly yes?: boolean }, command: string): void {
  if (!flags.dryRun && !flags.yes && !process.stdin.isTTY) {
    throw new UsageError(`${command} changes the listener's certificate: pass --yes to confirm (or --dry-run to see the plan)`);
  }
}

/** Runs a change with the command's effective configuration, inside the log of every change (src/app/command-log.ts). */
export async function runLoggedChange(
  command: Command,
  flags: { readonly dryRun: boolean; readonly json: boolean },
  change: (config: EffectiveConfig, log: ChangeLog) => Promise<number>,
): Promise<number> {
  const { configFor } = await import("./config-flags");
  const config = await configFor(command);
  const { withCommandLog } = await import("../app/command-log");
  // Every change, typed or scheduled, goes to the log file (--log-dir / logDir); a dry run changes nothing.
  return withCommandLog(config, flags, (log) => change(config, log));
}

/** The terminal confirmation of a change (rotate, deploy): the warnings, the exact plan, then [y/N] on stderr. */
export async function confirmPlan(
  plan: readonly string[],
  question: string,
  terminalText: (text: string) => string,
  warnings: readonly string[] = [],
): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  process.stderr.write(
    terminalText(`${warnings.map((w) => `warning: ${w}\n`).join("")}rdpcert will:\n${plan.map((line, i) => `  ${i + 1}. ${line}`).join("\n")}\n`),
  );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
