import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Disposer } from "./dispose";

/**
 * The real FreeRDP 2 client (Debian's freerdp2-x11) under its own Xvfb, with a temporary HOME
 * (its known_hosts2 and server/*.pem live there). xfreerdp exits 143 when it refuses the
 * certificate (XF_EXIT_TLS_CONNECT_FAILED, client/X11/xfreerdp.h).
 */
export const XF_EXIT_TLS_CONNECT_FAILED = 143;
export const haveFreerdpClient = existsSync("/usr/bin/xfreerdp") && existsSync("/usr/bin/Xvfb");

export interface ClientRun {
  code: number | null;
  output: string;
}

export interface FreerdpClient {
  readonly home: string;
  readonly display: string;
  /** This process's environment with the client's HOME, XDG_CONFIG_HOME and DISPLAY. */
  env(): NodeJS.ProcessEnv;
  /** `xfreerdp /v:TARGET EXTRA +auth-only /u:x /p:x /sec:tls`, killed after 30 s (a bound, not an assertion). */
  connect(target: string, extra?: readonly string[], environment?: NodeJS.ProcessEnv): Promise<ClientRun>;
}

/** Xvfb (on a display it picks itself) and a fresh HOME named `homePrefix`…; `made` stops Xvfb and removes the HOME. */
export async function startFreerdpClient(made: Disposer, homePrefix: string): Promise<FreerdpClient> {
  const home = made.tempDir(homePrefix);
  const xvfb = spawn("Xvfb", ["-displayfd", "1", "-nolisten", "tcp"], { stdio: ["ignore", "pipe", "ignore"] });
  made.add(async () => {
    if (xvfb.exitCode !== null || xvfb.signalCode !== null) return;
    const exited = new Promise((resolve) => xvfb.once("exit", resolve));
    xvfb.kill("SIGTERM");
    await exited;
  });
  const display = await new Promise<string>((resolve, reject) => {
    let text = "";
    xvfb.stdout!.on("data", (c: Buffer) => {
      text += c.toString();
      if (text.includes("\n")) resolve(`:${text.trim()}`);
    });
    xvfb.once("exit", () => reject(new Error("Xvfb exited before it chose a display")));
  });
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, ".config"), DISPLAY: display });
  return {
    home,
    display,
    env,
    connect: (target, extra = ["/cert-deny"], environment = env()) =>
      new Promise((resolve, reject) => {
        const child = spawn("xfreerdp", [`/v:${target}`, ...extra, "+auth-only", "/u:x", "/p:x", "/sec:tls"], {
          env: environment,
          stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
        child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
        // A bound, not an assertion: a hung client is killed and the test fails on its exit code.
        const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
        child.once("error", reject);
        child.once("close", (code) => {
          clearTimeout(guard);
          resolve({ code, output });
        });
      }),
  };
}
