import { type CommandRunner, runCommand } from "../command-runner";
import type { HostBackend } from "../host-backend";
import { ELEVATE_FIX, inspectionFromScript } from "./inspection";
import { POWERSHELL, type PowerShellLauncher, type ScriptResult, runScript, windowsPowerShell } from "./powershell";
import { createWindowsRotation } from "./windows-rotation";
import { type Platform, currentPlatform, isWindows } from "../../core/platform";

export interface WindowsBackendOptions {
  readonly runner?: CommandRunner;
  /** Which PowerShell runs the scripts (default: Windows PowerShell 5.1 by absolute path); tests pass pwsh with the Windows model. */
  readonly launcher?: PowerShellLauncher;
  readonly platform?: Platform;
  /** For each PowerShell script; the event log query is the slow part of inspect.ps1. */
  readonly timeoutMs?: number;
  /** The clock for event ages in findings. */
  readonly now?: () => Date;
  /** SESSIONNAME of this process: a rotation from inside an RDP session hands itself to a SYSTEM task. */
  readonly sessionName?: string | null;
  readonly inSession?: boolean;
  /**
   * The listener (a key under WinStations, with its own PortNumber and binding): RDP-Tcp unless
   * `--listener NAME` names another. Checked here as data; the scripts validate it again.
   */
  readonly listener?: string;
  /** restart.ps1's bounds (tests shorten them). */
  readonly restartWaits?: { readonly serviceSeconds: number; readonly certificateSeconds: number };
}

/** What inspect.ps1 is asked for: the listener Windows creates by default, and a month of events. */
export const INSPECT_PARAMS = { terminalName: "RDP-tcp", eventDays: 30 } as const;

/**
 * The Windows backend: certificate store, WMI, registry, services and event
 * log through PowerShell scripts (src/hosts/windows/scripts). It has not run on
 * a real Windows host yet: it is proven by exact-command tests and a
 * PowerShell parser check of every script (docs/verification.md).
 */
export function createWindowsBackend(options: WindowsBackendOptions = {}): HostBackend {
  const runner = options.runner ?? runCommand;
  const platform = options.platform ?? currentPlatform();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const now = options.now ?? (() => new Date());
  const launcher = options.launcher ?? windowsPowerShell();
  const listener = options.listener ?? null;
  if (listener !== null && !/^[A-Za-z0-9#-]{1,32}$/.test(listener))
    throw new Error(`listener ${JSON.stringify(listener)} is not a WinStations name (1 to 32 letters, digits, # or -)`);
  return {
    kind: "windows",
    capability: async () =>
      isWindows(platform)
        ? { available: true }
        : { available: false, reason: `the Windows backend needs Windows PowerShell (${POWERSHELL}); this host runs ${platform}` },
    inspect: async () => {
      const result = await runScript({ runner, launcher }, "inspect.ps1", { ...INSPECT_PARAMS, ...(listener ? { terminalName: listener } : {}) }, timeoutMs);
      return result.ok ? inspectionFromScript(result.json, now()) : { ok: false, reason: result.reason, fix: fixFor(result) };
    },
    rotation: createWindowsRotation({
      runner,
      launcher,
      timeoutMs,
      sessionName: options.sessionName ?? process.env.SESSIONNAME ?? null,
      inSession: options.inSession ?? false,
      ...(listener ? { listener } : {}),
      ...(options.restartWaits ? { restartWaits: options.restartWaits } : {}),
    }),
  };
}

function fixFor(result: Extract<ScriptResult, { ok: false }>): string | null {
  switch (result.failure) {
    case "spawn":
      return `check that Windows PowerShell 5.1 is installed: rdpcert starts ${POWERSHELL} by absolute path (%SystemRoot%\\System32\\WindowsPowerShell\\v1.0)`;
    case "timeout":
      return "check that WMI answers (Get-CimInstance Win32_OperatingSystem) and the System event log is not huge, then try again";
    case "exit":
      return result.category === "PermissionDenied" || /denied/i.test(result.reason) ? ELEVATE_FIX : null;
    case "empty":
    case "not-json":
      return null;
  }
}
