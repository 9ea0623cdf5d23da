import { randomBytes } from "node:crypto";
import type * as Winston from "winston";
import type TransportStream from "winston-transport";
import type { CommandRunner } from "../hosts/command-runner";
import { jsonText, terminalField } from "../core/terminal-safe";
import { WINDOWS_POWERSHELL } from "../hosts/windows/system-paths";
import { RotatingFile } from "./rotating-file";

/** Extra fields a caller passed, without winston's own. */
function metaOf(info: Record<string, unknown>): Record<string, unknown> {
  const { level: _l, message: _m, timestamp: _t, runId: _r, ...rest } = info;
  return rest;
}

export type Level = "error" | "warn" | "info" | "debug";

export interface Log {
  readonly runId: string;
  log(level: Level, message: string, meta?: Record<string, unknown>): void;
  /** Resolves once every transport has written what it was given (file, event log). */
  close(): Promise<void>;
  /** Sinks that failed during this log's life, one line each (e.g. for a `warnings` array in JSON output). */
  warnings(): readonly string[];
}

/** Private keys and passwords never reach a log line, whatever a caller passes. */
const SECRET = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
const PFX_OR_PASSWORD = /("?(password|passphrase|pfx|pfxBase64)"?\s*[:=]\s*)("[^"]*"|\S+)/gi;
export function redact(text: string): string {
  return text.replace(SECRET, "[private key redacted]").replace(PFX_OR_PASSWORD, "$1[redacted]");
}

export interface LogOptions {
  readonly level?: Level;
  readonly runId?: string;
  /** JSON lines in DIR/rdpcert.log, rotated by size (rdpcert.log, .1 ... .4; 5 MB each). */
  readonly logDir?: string | null;
  /** Size rotation of the log file; the defaults suit a daily job for years. */
  readonly maxFileBytes?: number;
  readonly maxFiles?: number;
  /** Windows: warnings and errors to the Application event log, source `rdpcert`. */
  readonly eventLog?: { readonly runner: CommandRunner; readonly reportFailure?: (line: string) => void } | null;
  /** Console on stderr (stdout carries reports and JSON). */
  readonly console?: boolean;
  /** The console's own threshold (e.g. "warn" when stdout carries JSON); the file keeps `level`. */
  readonly consoleLevel?: Level;
  /** Where a failing sink is reported, once per sink and process; default: one line on stderr. */
  readonly onSinkFailure?: (line: string) => void;
}

/** Sinks already reported in this process: the daemon's log and each pass's log share the report: a broken sink is reported once per process, not on every line. */
const reportedSinks = new Set<string>();

export function sinkFailureText(file: string, error: NodeJS.ErrnoException): string {
  const why: Record<string, string> = {
    EROFS: "the file system is read-only",
    ENOSPC: "the disk is full",
    EDQUOT: "the disk quota is exhausted",
    EACCES: "permission denied",
    EPERM: "permission denied",
    ENOTDIR: "a path component is not a directory",
    EEXIST: "a file is in the way of the log directory",
    EISDIR: "it is a directory",
    ELOOP: "it is a link, which rdpcert never writes its log through",
    ENOTREG: "it is not a regular file",
  };
  const code = error.code ?? "unknown error";
  return `cannot write the log file ${file}: ${why[code] ?? code} (${code}); the work goes on without this log. Fix the log directory, or pick another with --log-dir DIR (logDir in the config)`;
}

export const LOG_FILE = "rdpcert.log";
export const EVENT_SOURCE = "rdpcert";

/**
 * The Write-EventLog call: the script text is constant and the message travels
 * as JSON on stdin, so nothing from a log line is ever parsed as PowerShell.
 * rdpcert's event source is registered at first use (New-EventLog), so a host
 * where `task install` never ran still gets the events.
 */
export const EVENT_LOG_SCRIPT =
  "$e = [Console]::In.ReadToEnd() | ConvertFrom-Json; if (-not [System.Diagnostics.EventLog]::SourceExists($e.source)) { New-EventLog -LogName Application -Source $e.source }; Write-EventLog -LogName Application -Source $e.source -EntryType $e.entryType -EventId $e.eventId -Message $e.message";

export function eventLogCall(level: Level, message: string, runId: string): { file: string; args: string[]; input: string } {
  const entryType = level === "error" ? "Error" : "Warning";
  return {
    file: WINDOWS_POWERSHELL(),
    args: ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", EVENT_LOG_SCRIPT],
    input: JSON.stringify({ source: EVENT_SOURCE, entryType, eventId: level === "error" ? 1002 : 1001, message: `[${runId}] ${redact(message)}` }),
  };
}

/**
 * Console for people (levels, colours on a TTY), a JSON-lines file for machines,
 * and the Windows event log for what admins must see. winston is loaded only
 * by commands that log, so quick commands start fast.
 */
export function createLog(options: LogOptions = {}): Log {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const winston = require("winston") as typeof Winston;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Transport = require("winston-transport") as typeof TransportStream;
  const runId = options.runId ?? randomBytes(4).toString("hex");
  const transports: TransportStream[] = [];
  const pending: Promise<unknown>[] = [];
  const warnings: string[] = [];
  const sinkFailed = (sink: string, line: string): void => {
    if (warnings.includes(line)) return;
    warnings.push(line);
    if (reportedSinks.has(sink)) return;
    reportedSinks.add(sink);
    try {
      (options.onSinkFailure ?? ((text: string) => process.stderr.write(`rdpcert: warning: ${terminalField(text)}\n`)))(line);
    } catch {
      // stderr itself is gone: nothing left to tell.
    }
  };
  if (options.console !== false) {
    const colour = process.stderr.isTTY === true;
    transports.push(
      new winston.transports.Console({
        level: options.consoleLevel,
        stderrLevels: ["error", "warn", "info", "debug"],
        format: winston.format.combine(
          ...(colour ? [winston.format.colorize()] : []),
          winston.format.printf((info) => `${String(info.timestamp)} ${info.level} [${runId}] ${terminalField(String(info.message))}`),
        ),
      }),
    );
  }
  if (options.logDir) {
    const logDir = options.logDir;
    const file = new RotatingFile(logDir, LOG_FILE, options.maxFileBytes ?? 5 * 1024 * 1024, options.maxFiles ?? 5, (error) => {
      const path = file.path(0);
      sinkFailed(`${path} ${error.code ?? ""}`, sinkFailureText(path, error));
    });
    class FileTransport extends Transport {
      override log(info: Record<string, unknown>, next: () => void): void {
        file.write(jsonText({ timestamp: info.timestamp, level: info.level, runId, message: info.message, ...metaOf(info) }));
        next();
      }
    }
    transports.push(new FileTransport());
  }
  if (options.eventLog) {
    const runner = options.eventLog.runner;
    const report = options.eventLog.reportFailure ?? ((line: string) => process.stderr.write(`${line}\n`));
    let failureReported = false;
    class EventLogTransport extends Transport {
      override log(info: { level: string; message: unknown }, next: () => void): void {
        const call = eventLogCall(info.level as Level, String(info.message), runId);
        // A failure to write the event log is reported once per process, never swallowed.
        pending.push(
          runner(call.file, call.args, { input: call.input, timeoutMs: 15_000 }).then((result) => {
            if (failureReported || (result.exitCode === 0 && !result.spawnError)) return;
            failureReported = true;
            const why = result.spawnError ?? (result.timedOut ? "timed out" : (result.stderr.trim().split(/\r?\n/)[0] ?? "") || `exit ${result.exitCode}`);
            report(
              `rdpcert: cannot write to the Windows event log (${why}); the log file still has every line, and further event log failures are not repeated`,
            );
          }),
        );
        next();
      }
    }
    transports.push(new EventLogTransport({ level: "warn" }));
  }
  const logger = winston.createLogger({
    level: options.level ?? "info",
    defaultMeta: { runId },
    format: winston.format.combine(winston.format.timestamp(), winston.format((info) => ({ ...info, message: redact(String(info.message)) }))()),
    transports,
  });
  return {
    runId,
    warnings: () => [...warnings],
    log: (level, message, meta) => {
      try {
        logger.log(level, message, meta);
      } catch (error) {
        // Logging never stops the work: a sink that throws is a warning.
        sinkFailed(`logger ${(error as Error).name}`, `logging failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; the work goes on`);
      }
    },
    close: async () => {
      const finished = new Promise<void>((resolve) => logger.on("finish", () => resolve()));
      logger.end();
      await Promise.all([finished, ...pending]);
    },
  };
}

/** The console-only logger of interactive commands. */
export function createConsoleLog(options: { readonly level?: Level; readonly runId?: string } = {}): Log {
  return createLog({ ...options, console: true });
}
