import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export const CLI = join(__dirname, "..", "..", "dist", "src", "cli", "main.js");

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The signal that ended it (a test fault kills with SIGKILL), or null. */
  readonly signal: NodeJS.Signals | null;
}

/** Runs the built `rdpcert` bin as a user would (npm test builds it first). */
export function rdpcert(args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string; uid?: number; gid?: number; prefix?: readonly string[] } = {}): Promise<CliRun> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' (npm test does it for you)`);
  return new Promise((resolve, reject) => {
    // `prefix`: a command that runs node, e.g. ["faketime", "+400 days"] for a host whose clock jumped.
    const [file, ...argv] = [...(options.prefix ?? []), process.execPath, CLI, ...args];
    const child = spawn(file!, argv, { env: { ...process.env, ...options.env }, stdio: ["pipe", "pipe", "pipe"], uid: options.uid, gid: options.gid });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, stdout, stderr, signal }));
    child.stdin.end(options.input ?? "");
  });
}

/** Runs the CLI with --json in `args` and parses its report; a run that printed no JSON fails with its output. */
export async function rdpcertJson<T>(args: readonly string[], options: Parameters<typeof rdpcert>[1] = {}): Promise<{ code: number | null; json: T; stderr: string }> {
  const run = await rdpcert(args, options);
  try {
    return { code: run.code, json: JSON.parse(run.stdout) as T, stderr: run.stderr };
  } catch {
    throw new Error(`rdpcert ${args[0] ?? ""} did not print JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}
