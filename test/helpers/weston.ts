import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, writeOwned } from "../../scripts/xrdp-server";
import { startProcess, stopProcess, waitForPort } from "./rdp-process";

/**
 * A throwaway weston with its RDP backend on a free loopback port (Debian 12's weston 10):
 * `weston --backend=rdp-backend.so --shell=fullscreen-shell.so --rdp-tls-cert C --rdp-tls-key K`,
 * headless, with its own XDG_RUNTIME_DIR (0700). `stop()` ends it and removes its directory.
 */
export interface WestonServer {
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly running: () => boolean;
  output(): string;
  stop(): Promise<void>;
}

export async function startWeston(
  pair: { certPem: string; keyPem?: string },
  options: { keyMode?: number; argv?: (paths: { cert: string; key: string }) => string[] } = {},
): Promise<WestonServer> {
  const dir = mkdtempSync(join(tmpdir(), "rdpcert-weston-"));
  chmodSync(dir, 0o755);
  const runtime = join(dir, "runtime");
  mkdirSync(runtime, { mode: 0o700 });
  const certPath = join(dir, "tls.crt");
  const keyPath = join(dir, "tls.key");
  writeOwned(certPath, pair.certPem, 0o644, null);
  if (pair.keyPem !== undefined) writeOwned(keyPath, pair.keyPem, options.keyMode ?? 0o600, null);
  const port = await freePort();
  const args = options.argv ? options.argv({ cert: certPath, key: keyPath }) : [`--rdp-tls-cert=${certPath}`, "--rdp-tls-key", keyPath];
  const started = startProcess(
    "weston",
    ["--backend=rdp-backend.so", "--shell=fullscreen-shell.so", "--no-config", ...args, "--address=127.0.0.1", `--port=${port}`],
    {
      env: { PATH: process.env.PATH, XDG_RUNTIME_DIR: runtime, HOME: dir },
    },
  );
  const stop = async (): Promise<void> => {
    await stopProcess(started.child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, started, "weston", 20_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    pid: started.child.pid!,
    dir,
    certPath,
    keyPath,
    running: () => started.child.exitCode === null && started.child.signalCode === null,
    output: started.output,
    stop,
  };
}
