import type * as ChildProcess from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { hostOs } from "./local/host-os";

/**
 * The process boundary. Backends take a CommandRunner so that tests can assert
 * the exact executable and argv and feed real output shapes back. Arguments are
 * passed as an argv array, never through a shell.
 */
export interface CommandResult {
  /** null when the process was killed (timeout, or a signal: see `signal`) or could not start. */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** Set when the executable could not be started at all (ENOENT, EACCES). */
  readonly spawnError: string | null;
  /** The signal that ended the process when it was not our timeout (e.g. "SIGSEGV"), else null or absent. */
  readonly signal?: string | null;
}

export interface CommandOptions {
  /** Written to stdin, then stdin is closed. */
  readonly input?: string;
  readonly timeoutMs: number;
  /** Output beyond this many bytes per stream is dropped (a hostile or runaway command cannot exhaust memory). */
  readonly maxOutputBytes?: number;
  /** Added to the inherited environment (a post-change hook's RDPCERT_* facts). */
  readonly env?: Readonly<Record<string, string>>;
  /** The whole environment of the command instead of this process' (gsettings read as the serving user, with that user's environment). */
  readonly wholeEnv?: NodeJS.ProcessEnv;
  /** Run as this user and group (root only): a per-user setting read as its user (gsettings of the serving user). */
  readonly uid?: number;
  readonly gid?: number;
}

export type CommandRunner = (file: string, args: readonly string[], options: CommandOptions) => Promise<CommandResult>;

const DEFAULT_MAX_OUTPUT = 16 * 1024 * 1024;
/** After SIGTERM to the command's process group, this long before SIGKILL. */
export const KILL_GRACE_MS = 2000;
/** After the command exited, this long for the rest of its output to arrive before the pipes are abandoned. */
export const DRAIN_MS = 500;

/** "exited with 3", "was killed by SIGSEGV": for a result that is neither a spawn error nor a timeout. */
export function describeExit(result: CommandResult): string {
  return result.exitCode === null && result.signal ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`;
}

/** One output stream, capped in bytes and decoded as a whole (a character split across chunks stays whole). */
function collector(stream: Readable, max: number): { text: () => string } {
  const decoder = new StringDecoder("utf8");
  let text = "";
  let bytes = 0;
  stream.on("data", (chunk: Buffer) => {
    if (bytes < max) text += decoder.write(chunk.subarray(0, max - bytes));
    bytes += chunk.length;
  });
  // Reading stops when the pipe is abandoned (destroyed); its errors are not ours to report.
  stream.on("error", () => undefined);
  return { text: () => text + decoder.end() };
}

/** Windows has no process groups to signal: there the command alone is ended, and its pipes are still not waited on. */
const GROUPS = hostOs.processGroups;

/** Signals every process in group `pgid` (on Windows: the process `pgid`); false when none is left. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(GROUPS ? -pgid : pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a process of group `pgid` still runs. A member that has exited but
 * is not yet reaped (a zombie, reparented to an init that reaps slowly) still
 * answers kill(0), so on Linux /proc tells the running from the dead.
 */
function groupRunning(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  if (!hostOs.procFs) return true;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "latin1");
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") return true;
  }
  return false;
}

/**
 * Runs a command in its own process group and bounds every wait:
 *
 * - at `timeoutMs` the whole group gets SIGTERM, then SIGKILL after
 *   KILL_GRACE_MS, and the result is a timeout;
 * - the command is finished when its process exits, not when its output pipes
 *   close: a child it left behind holding stdout/stderr cannot hold us. After
 *   the exit the output gets DRAIN_MS to arrive, then the pipes are abandoned;
 * - whatever the command left running in its own process group is ended
 *   (SIGTERM, then SIGKILL), as systemd ends what a finished oneshot unit left
 *   behind. A program meant to outlive the command leaves the group (a daemon
 *   calls setsid, or it is started through systemctl).
 *
 * So the longest any call takes is timeoutMs + KILL_GRACE_MS + DRAIN_MS, plus
 * KILL_GRACE_MS for leftovers that ignore SIGTERM.
 */
export const runCommand: CommandRunner = (file, args, options) =>
  new Promise((resolve) => {
    const max = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    let timedOut = false;
    let settled = false;
    const timers = new Set<NodeJS.Timeout>();
    const after = (ms: number, fn: () => void): void => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        fn();
      }, ms);
      timers.add(timer);
    };
    // node:child_process when a command runs: `status` for a local user spawns nothing and starts faster without it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { spawn } = require("node:child_process") as typeof ChildProcess;
    // detached: the command leads a new process group (setsid), so that the group can be signalled as one.
    const child = spawn(file, [...args], {
      shell: false,
      windowsHide: true,
      detached: GROUPS,
      stdio: ["pipe", "pipe", "pipe"],
      ...(options.wholeEnv || options.env ? { env: { ...(options.wholeEnv ?? process.env), ...(options.env ?? {}) } } : {}),
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.gid !== undefined ? { gid: options.gid } : {}),
    });
    const stdout = collector(child.stdout, max);
    const stderr = collector(child.stderr, max);
    const pgid = child.pid;
    const settle = (result: CommandResult): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      child.stdout.destroy();
      child.stderr.destroy();
      resolve(result);
    };

    /** Ends what is left of the group: SIGTERM now, SIGKILL after the grace if anything remains; then `done`. */
    const endGroup = (done: () => void): void => {
      if (pgid === undefined || !signalGroup(pgid, "SIGTERM")) return done();
      const deadline = Date.now() + KILL_GRACE_MS;
      const poll = (): void => {
        if (!groupRunning(pgid)) return done();
        if (Date.now() >= deadline) {
          signalGroup(pgid, "SIGKILL");
          return done();
        }
        after(100, poll);
      };
      after(20, poll);
    };

    child.once("error", (error: NodeJS.ErrnoException) =>
      settle({ exitCode: null, stdout: stdout.text(), stderr: stderr.text(), timedOut: false, spawnError: `${file}: ${error.code ?? error.message}` }),
    );
    if (pgid === undefined) return; // could not start: 'error' follows

    let exited = false;
    after(options.timeoutMs, () => {
      if (exited) return; // what it left behind is ended below, within KILL_GRACE_MS
      timedOut = true;
      signalGroup(pgid, "SIGTERM");
      after(KILL_GRACE_MS, () => {
        signalGroup(pgid, "SIGKILL");
        // SIGKILL cannot be refused; should 'exit' still not come (a process stuck in the kernel), do not wait for it.
        after(DRAIN_MS, () => settle({ exitCode: null, stdout: stdout.text(), stderr: stderr.text(), timedOut: true, spawnError: null }));
      });
    });

    child.once("exit", (code, signal) => {
      exited = true;
      let pipes = 2;
      let drained = false;
      let groupGone = false;
      const finish = (): void => {
        if (!drained || !groupGone) return;
        settle({ exitCode: code, stdout: stdout.text(), stderr: stderr.text(), timedOut, spawnError: null, signal: timedOut ? null : signal });
      };
      const pipeDone = (): void => {
        if (--pipes === 0 && !drained) {
          drained = true;
          finish();
        }
      };
      child.stdout.once("close", pipeDone);
      child.stderr.once("close", pipeDone);
      if (child.stdout.closed) pipeDone();
      if (child.stderr.closed) pipeDone();
      after(DRAIN_MS, () => {
        drained = true;
        finish();
      });
      endGroup(() => {
        groupGone = true;
        finish();
      });
    });

    // A command that exits without reading stdin must not crash us with EPIPE.
    child.stdin.once("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
