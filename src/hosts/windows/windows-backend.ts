import { type CommandRunner, runCommand } from "../command-runner";
import type { HostBackend } from "../host-backend";
import { inspectionFromScript } from "./inspection";
import { runScript } from "./powershell";
import { createWindowsRotation } from "./windows-rotation";

export interface WindowsBackendOptions {
  readonly runner?: CommandRunner;
  readonly platform?: NodeJS.Platform;
  readonly timeoutMs?: number;
  /** SESSIONNAME of this process: a rotation from inside an RDP session hands itself to a SYSTEM task. */
  readonly sessionName?: string | null;
  readonly inSession?: boolean;
}

/**
 * The Windows backend: certificate store, WMI, registry, services and event
 * log through PowerShell scripts (src/hosts/windows/scripts). It has not run on
 * a real Windows host yet: it is proven by exact-command tests and a
 * PowerShell parser check of every script (README, support matrix).
 */
export function createWindowsBackend(options: WindowsBackendOptions = {}): HostBackend {
  const runner = options.runner ?? runCommand;
  const platform = options.platform ?? process.platform;
  const timeoutMs = options.timeoutMs ?? 60_000;
  return {
    kind: "windows",
    capability: async () =>
      platform === "win32" ? { available: true } : { available: false, reason: `the Windows backend needs Windows PowerShell (powershell.exe); this host runs ${platform}` },
    inspect: async () => {
      const result = await runScript(runner, "inspect.ps1", { terminalName: "RDP-tcp", eventDays: 30 }, timeoutMs);
      if (!result.ok) {
        const denied = /denied/i.test(result.reason);
        return { ok: false, reason: result.reason, fix: denied ? "run from an elevated prompt (Run as Administrator)" : null };
      }
      return inspectionFromScript(result.json);
    },
    rotation: createWindowsRotation({ runner, timeoutMs, sessionName: options.sessionName ?? process.env.SESSIONNAME ?? null, inSession: options.inSession ?? false }),
  };
}
