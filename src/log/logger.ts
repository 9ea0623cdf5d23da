import { randomBytes } from "node:crypto";
import type * as Winston from "winston";

export type Level = "error" | "warn" | "info" | "debug";

export interface Log {
  readonly runId: string;
  log(level: Level, message: string, meta?: Record<string, unknown>): void;
}

/** Private keys and passwords never reach a log line, whatever a caller passes. */
const SECRET = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g;
export function redact(text: string): string {
  return text.replace(SECRET, "[private key redacted]");
}

/**
 * Console logging for people on stderr (stdout carries reports and JSON).
 * winston is loaded only by commands that log, so quick commands start fast.
 */
export function createConsoleLog(options: { readonly level?: Level; readonly runId?: string } = {}): Log {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const winston = require("winston") as typeof Winston;
  const runId = options.runId ?? randomBytes(4).toString("hex");
  const colour = process.stderr.isTTY === true;
  const logger = winston.createLogger({
    level: options.level ?? "info",
    format: winston.format.combine(
      winston.format.timestamp(),
      ...(colour ? [winston.format.colorize()] : []),
      winston.format.printf((info) => `${String(info.timestamp)} ${info.level} [${runId}] ${redact(String(info.message))}`),
    ),
    transports: [new winston.transports.Console({ stderrLevels: ["error", "warn", "info", "debug"] })],
  });
  return {
    runId,
    log: (level, message, meta) => logger.log(level, redact(message), meta),
  };
}
