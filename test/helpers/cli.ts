import { spawn } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, parse } from "node:path";

const ROOT = join(__dirname, "..", "..");
export const CLI = join(ROOT, "dist", "src", "cli", "main.js");

/** Whether every directory above `path` lets others in, and `path` lets them read. */
function othersCanRead(path: string): boolean {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === parse(dir).root) break;
  }
  return (statSync(path).mode & 0o004) !== 0;
}

let readableCopy: string | null = null;

/**
 * The CLI as another (non-root) user can run it. A clone in a directory others cannot
 * enter (/root/x, with /root 0700) is out of their reach: then the built
 * dist/, package.json and the production dependencies (package-lock.json entries
 * without "dev") are copied once per test process into a 0755 temp dir, removed at exit.
 */
export function readableCli(): string {
  if (othersCanRead(CLI)) return CLI;
  if (readableCopy) return readableCopy;
  const dir = mkdtempSync(join(tmpdir(), "rdpcert-cli-"));
  chmodSync(dir, 0o755);
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(ROOT, "dist"), join(dir, "dist"), { recursive: true });
  cpSync(join(ROOT, "package.json"), join(dir, "package.json"));
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path.startsWith("node_modules/") && !entry.dev && existsSync(join(ROOT, path))) cpSync(join(ROOT, path), join(dir, path), { recursive: true });
  }
  readableCopy = join(dir, "dist", "src", "cli", "main.js");
  return readableCopy;
}

/** Prefixes that run the CLI as another user. */
const SWITCH_USER = new Set(["setpriv", "runuser", "su", "sudo"]);

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The signal that ended it (a test fault kills with SIGKILL), or null. */
  readonly signal: NodeJS.Signals | null;
}

/** Runs the built `rdpcert` bin as a user would (npm test builds it first). */
export function rdpcert(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; uid?: number; gid?: number; prefix?: readonly string[] } = {},
): Promise<CliRun> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' (npm test does it for you)`);
  return new Promise((resolve, reject) => {
    // `prefix`: a command that runs node, e.g. ["faketime", "+400 days"] for a host whose clock jumped.
    const otherUser = (options.uid !== undefined && options.uid !== process.getuid?.()) || SWITCH_USER.has(options.prefix?.[0] ?? "");
    const [file, ...argv] = [...(options.prefix ?? []), process.execPath, otherUser ? readableCli() : CLI, ...args];
    const child = spawn(file!, argv, { env: { ...process.env, ...options.env }, stdio: ["pipe", "pipe", "pipe"], uid: options.uid, gid: options.gid });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, stdout, stderr, signal }));
    // A CLI that stops reading early (a bounded read refused the rest) closes its stdin: not the test's failure.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

/** Runs the CLI with --json in `args` and parses its report; a run that printed no JSON fails with its output. */
export async function rdpcertJson<T>(
  args: readonly string[],
  options: Parameters<typeof rdpcert>[1] = {},
): Promise<{ code: number | null; json: T; stderr: string }> {
  const run = await rdpcert(args, options);
  try {
    return { code: run.code, json: JSON.parse(run.stdout) as T, stderr: run.stderr };
  } catch {
    throw new Error(`rdpcert ${args[0] ?? ""} did not print JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}
