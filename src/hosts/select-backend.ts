import { existsSync } from "node:fs";
import type { CommandRunner } from "./command-runner";
import { type BackendContext, detectServer, detectorFor, programName } from "./detect-server";
import type { BackendKind, HostBackend } from "./host-backend";
import { DEFAULT_XRDP_INI, DEFAULT_XRDP_PORT } from "./xrdp/xrdp-backend";
import { type Platform, currentPlatform, isLinux, isWindows } from "../core/platform";

export type BackendChoice = BackendKind | "auto";

export interface BackendSelection {
  readonly backend: BackendChoice;
  readonly xrdpIni?: string;
  /** gnome-remote-desktop: grd.conf (system mode) and the serving user (user mode). */
  readonly grdConf?: string;
  readonly grdUser?: string | null;
  readonly warnDays?: number;
  readonly platform?: Platform;
  readonly runner?: CommandRunner;
  /** Windows: rotate even from inside an RDP session (--in-session). */
  readonly inSession?: boolean;
  /** Windows: the WinStations listener (default RDP-Tcp). */
  readonly listener?: string;
  /** The listener's port (--port, the config's port); null: 3389. Linux servers other than xrdp are found by it (gnome-remote-desktop 43 has no setting for it). */
  readonly port?: number | null;
  /** pem-pair: the files it serves, and the command that makes it load a new pair. */
  readonly certFile?: string | null;
  readonly keyFile?: string | null;
  readonly reloadCommand?: readonly string[] | null;
}

/**
 * Which backend `auto` picks, or why none fits: `win32` is windows; elsewhere the server
 * listening on the port (src/hosts/detect-server.ts), else xrdp where its ini exists.
 */
export type Selected = { readonly ok: true; readonly backend: HostBackend } | { readonly ok: false; readonly reason: string; readonly fix: string };

export async function selectBackend(selection: BackendSelection): Promise<Selected> {
  const platform = selection.platform ?? currentPlatform();
  const iniPath = selection.xrdpIni ?? DEFAULT_XRDP_INI;
  const port = selection.port ?? DEFAULT_XRDP_PORT;
  const base: BackendContext = {
    port,
    runner: selection.runner,
    platform,
    xrdpIni: iniPath,
    certFile: selection.certFile ?? null,
    keyFile: selection.keyFile ?? null,
    reloadCommand: selection.reloadCommand ?? null,
    grdConf: selection.grdConf,
    grdUser: selection.grdUser ?? null,
    explicitPort: selection.port ?? null,
    ...(selection.warnDays !== undefined ? { warnDays: selection.warnDays } : {}),
  };
  let kind: BackendKind;
  let ctx = base;
  let unknown: string | null = null;
  if (selection.backend !== "auto") kind = selection.backend;
  else if (isWindows(platform)) kind = "windows";
  else {
    const detected = isLinux(platform) ? detectServer(port) : null;
    if (detected?.kind === "found") {
      kind = detected.detector.kind;
      ctx = { ...base, listener: detected.lookup };
    } else if (existsSync(iniPath)) kind = "xrdp";
    else {
      if (detected?.kind === "unknown-server")
        unknown = `${programName(detected.process)} (pid ${detected.process.pid}) listens on port ${port}, a server rdpcert does not recognise`;
      return {
        ok: false,
        reason: `no RDP server found on this host: ${unknown ?? `no known RDP server listens on port ${port}`}, ${iniPath} does not exist and this is not Windows`,
        fix: unknown
          ? "if it serves a PEM certificate and key, use --backend pem-pair with certFile and keyFile configured (docs/servers/pem-pair.md)"
          : "pass --port N for the port the server listens on, --xrdp-ini PATH if xrdp's configuration is elsewhere, or check a remote listener with `rdpcert probe HOST`",
      };
    }
  }
  const backend =
    kind === "windows"
      ? // The Windows backend and its PowerShell scripts load only when used.
        (await import("./windows/windows-backend")).createWindowsBackend({
          runner: selection.runner,
          platform,
          inSession: selection.inSession,
          ...(selection.listener ? { listener: selection.listener } : {}),
        })
      : await detectorFor(kind)!.create(ctx);
  const capability = await backend.capability();
  if (!capability.available) {
    return {
      ok: false,
      reason: `the ${kind} backend cannot run here: ${capability.reason}`,
      fix:
        kind === "xrdp"
          ? "pass --xrdp-ini PATH, or --backend windows on Windows"
          : kind === "windows"
            ? "run rdpcert on the Windows host itself, or use --backend xrdp"
            : "run rdpcert on the Linux host the server runs on",
    };
  }
  return { ok: true, backend };
}
