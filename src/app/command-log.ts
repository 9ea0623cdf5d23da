import type { Config } from "../core/config";
import { createConsoleLog, createLog } from "../log/logger";

export type LogLine = (level: "info" | "warn" | "error", message: string) => void;

/**
 * The log of a command that changes the listener (rotate, deploy, backups restore): every
 * change, typed or scheduled, goes to the log file (--log-dir / logDir) and the console; a dry
 * run changes nothing and logs nowhere but, with --json, warnings on stderr. `use` gets the
 * log's line function (undefined: the use case's own default); the file is closed after it,
 * so every line has reached it.
 */
export async function withCommandLog<T>(
  config: Config,
  options: { readonly dryRun: boolean; readonly json: boolean },
  use: (log: LogLine | undefined) => Promise<T>,
): Promise<T> {
  const fileLog = options.dryRun ? null : createLog({ logDir: config.logDir, console: true, consoleLevel: options.json ? "warn" : "info" });
  try {
    return await use(fileLog?.log ?? (options.json ? createConsoleLog({ level: "warn" }).log : undefined));
  } finally {
    await fileLog?.close();
  }
}
