import { type ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";

/** A server the tests started: its process, and its output so far (for a failure message). */
export interface Started {
  readonly child: ChildProcess;
  output(): string;
}

export function startProcess(file: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; uid?: number; gid?: number; cwd?: string }): Started {
  let output = "";
  const child = spawn(file, args, { env: options.env, uid: options.uid, gid: options.gid, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString("utf8")).slice(-20_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  child.on("error", (error) => keep(Buffer.from(`spawn error: ${error.message}\n`)));
  return { child, output: () => output };
}

/** Resolves once something accepts connections on 127.0.0.1:port; rejects when the process exits first or `timeoutMs` passes. */
export function waitForPort(port: number, started: Started, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (started.child.exitCode !== null || started.child.signalCode !== null) {
        reject(
          new Error(`${what} exited (${started.child.exitCode ?? started.child.signalCode}) before listening on ${port}:\n${started.output().slice(-2000)}`),
        );
        return;
      }
      const socket = net.connect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`${what} did not listen on ${port} within ${timeoutMs} ms:\n${started.output().slice(-2000)}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
