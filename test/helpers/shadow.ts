import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, writeOwned } from "../../scripts/xrdp-server";
import { type Started, startProcess, stopProcess, waitForPort } from "./rdp-process";

/**
 * A throwaway FreeRDP shadow server (Debian 12's freerdp2-shadow-x11) on its own Xvfb:
 * `freerdp-shadow-cli /port:P /bind-address:127.0.0.1 -auth`, with HOME in a temp dir, so
 * its pair is HOME/.config/freerdp/shadow/shadow.crt and shadow.key (generated at start when
 * missing: 5 years, key 0644). `runAs`: the user it runs as (its HOME is theirs).
 * `stop()` ends both processes and removes the directory.
 */
export interface ShadowServer {
  readonly port: number;
  readonly pid: number;
  readonly home: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly runAs: { uid: number; gid: number } | null;
  readonly running: () => boolean;
  output(): string;
  stop(): Promise<void>;
}

/** Xvfb on a display it picks itself (-displayfd). */
async function startXvfb(): Promise<{ started: Started; display: string }> {
  const started = startProcess("Xvfb", ["-displayfd", "1", "-nolisten", "tcp", "-ac", "-screen", "0", "640x480x24"], { env: { PATH: process.env.PATH } });
  const display = await new Promise<string>((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`Xvfb did not report its display:\n${started.output()}`)), 15_000);
    started.child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      const m = /^(\d+)\n/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(`:${m[1]}`);
      }
    });
    started.child.once("exit", () => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited:\n${started.output()}`));
    });
  });
  // The display is reported when Xvfb is ready; its socket must be there before a client connects.
  const socket = `/tmp/.X11-unix/X${display.slice(1)}`;
  for (let i = 0; i < 50 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
  return { started, display };
}

export async function startShadow(
  pair: { certPem: string; keyPem: string; keyMode?: number } | null,
  options: { runAs?: { uid: number; gid: number } | null } = {},
): Promise<ShadowServer> {
  const runAs = options.runAs ?? null;
  const root = mkdtempSync(join(tmpdir(), "rdpcert-shadow-"));
  chmodSync(root, 0o755);
  const home = join(root, "home");
  const shadowDir = join(home, ".config", "freerdp", "shadow");
  mkdirSync(shadowDir, { recursive: true, mode: 0o755 });
  if (runAs) for (const d of [home, join(home, ".config"), join(home, ".config", "freerdp"), shadowDir]) chownSync(d, runAs.uid, runAs.gid);
  const certPath = join(shadowDir, "shadow.crt");
  const keyPath = join(shadowDir, "shadow.key");
  if (pair) {
    writeOwned(certPath, pair.certPem, 0o644, runAs);
    writeOwned(keyPath, pair.keyPem, pair.keyMode ?? 0o644, runAs);
  }
  // Xvfb may report a display another test's X server grabs at the same moment: try a fresh one.
  let attempt = 0;
  for (;;) {
    const xvfb = await startXvfb();
    const port = await freePort();
    const shadow = startProcess("freerdp-shadow-cli", [`/port:${port}`, "/bind-address:127.0.0.1", "-auth"], {
      env: { PATH: process.env.PATH, HOME: home, DISPLAY: xvfb.display },
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      cwd: home,
    });
    const stopBoth = async (): Promise<void> => {
      await stopProcess(shadow.child);
      await stopProcess(xvfb.started.child);
    };
    const stop = async (): Promise<void> => {
      await stopBoth();
      rmSync(root, { recursive: true, force: true });
    };
    try {
      // Generating its RSA key on first start takes a few seconds.
      await waitForPort(port, shadow, "freerdp-shadow-cli", 40_000);
    } catch (error) {
      await stopBoth();
      if (++attempt < 5 && /failed to open display/.test(shadow.output())) {
        await new Promise((r) => setTimeout(r, 500 * attempt));
        continue;
      }
      rmSync(root, { recursive: true, force: true });
      throw error;
    }
    return {
      port,
      pid: shadow.child.pid!,
      home,
      certPath,
      keyPath,
      runAs,
      running: () => shadow.child.exitCode === null && shadow.child.signalCode === null,
      output: () => `${shadow.output()}\n${xvfb.started.output()}`,
      stop,
    };
  }
}
