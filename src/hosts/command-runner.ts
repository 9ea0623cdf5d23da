import { spawn } from "node:child_process";

/**
 * The process boundary. Backends take a CommandRunner so that tests can assert
 * the exact executable and argv and feed real output shapes back. Arguments are
 * passed as an argv array, never through a shell.
 */
export interface CommandResult {
  /** null when the process was killed (timeout) or could not start. */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** Set when the executable could not be started at all (ENOENT, EACCES). */
  readonly spawnError: string | null;
}

export interface CommandOptions {
  /** Written to stdin, then stdin is closed. */
  readonly input?: string;
  readonly timeoutMs: number;
  /** Output beyond this many bytes per stream is dropped (a hostile or runaway command cannot exhaust memory). */
  readonly maxOutputBytes?: number;
}

export type CommandRunner = (file: string, args: readonly string[], options: CommandOptions) => Promise<CommandResult>;

const DEFAULT_MAX_OUTPUT = 16 * 1024 * 1024;

export const runCommand: CommandRunner = (file, args, options) =>
  new Promise((resolve) => {
    const max = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    let stdout = "";
    let stderr = "";
    let stdoutBytes = 0;
    let stderrBytes = 0;
    let timedOut = false;
    let settled = false;
    const child = spawn(file, [...args], { shell: false, windowsHide: true, stdio: ["pipe", "pipe", "pipe"] });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    const settle = (result: CommandResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    child.stdout.on("data", (chunk: Buffer) => {
      if (stdoutBytes < max) stdout += chunk.subarray(0, max - stdoutBytes).toString("utf8");
      stdoutBytes += chunk.length;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderrBytes < max) stderr += chunk.subarray(0, max - stderrBytes).toString("utf8");
      stderrBytes += chunk.length;
    });
    child.once("error", (error: NodeJS.ErrnoException) =>
      settle({ exitCode: null, stdout, stderr, timedOut: false, spawnError: `${file}: ${error.code ?? error.message}` }),
    );
    child.once("close", (code) => settle({ exitCode: code, stdout, stderr, timedOut, spawnError: null }));
    // A command that exits without reading stdin must not crash us with EPIPE.
    child.stdin.once("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
