import { type ChildProcess, spawn } from "node:child_process";
import { CLI } from "./cli";

/**
 * The `rdpcert schedule` daemon as a real process: its output (stdout and stderr), its exit code
 * (a signal that ended it as 128 + its number, as a shell reports it), and a wait for a line of it.
 */
export interface ScheduleDaemon {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Resolves once `pattern` occurs `count` times in the output; rejects when the daemon ends first. */
  waitFor: (pattern: RegExp, count?: number) => Promise<void>;
}

export function scheduleDaemon(config: string): ScheduleDaemon {
  const child = spawn(process.execPath, [CLI, "schedule", "--config", config], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 + (signal === "SIGHUP" ? 1 : 15) : null))),
  );
  const waitFor = (pattern: RegExp, count = 1): Promise<void> =>
    new Promise((resolve, reject) => {
      const global = new RegExp(pattern.source, "g");
      const check = (): void => {
        if ((output.match(global) ?? []).length >= count) resolve();
        else if (child.exitCode !== null || child.signalCode !== null)
          reject(new Error(`daemon exited (${child.exitCode ?? child.signalCode}) before ${pattern}:\n${output}`));
        else setTimeout(check, 25);
      };
      check();
    });
  return { child, output: () => output, exited, waitFor };
}
