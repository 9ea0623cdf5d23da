import { existsSync } from "node:fs";
import type { CommandRunner } from "./command-runner";
import type { BackendKind, HostBackend } from "./host-backend";
import { DEFAULT_XRDP_INI, createXrdpBackend } from "./xrdp/xrdp-backend";

export type BackendChoice = BackendKind | "auto";

export interface BackendSelection {
  readonly backend: BackendChoice;
  readonly xrdpIni?: string;
  /** gnome-remote-desktop: grd.conf (system mode) and the serving user (user mode). */
  readonly grdConf?: string;
  readonly grdUser?: string | null;
  /** The port to look at (gnome-remote-desktop user mode has no setting for it); null: the configured one. */
  readonly port?: number | null;
  readonly warnDays?: number;
  readonly platform?: NodeJS.Platform;
  readonly runner?: CommandRunner;
  /** Windows: rotate even from inside an RDP session (--in-session). */
  readonly inSession?: boolean;
  /** Windows: the WinStations listener (default RDP-Tcp). */
  readonly listener?: string;
}

/** Which backend `auto` picks, or why none fits: `win32` is windows; elsewhere an xrdp.ini means xrdp. */
export type Selected = { readonly ok: true; readonly backend: HostBackend } | { readonly ok: false; readonly reason: string; readonly fix: string };

export async function selectBackend(selection: BackendSelection): Promise<Selected> {
  const platform = selection.platform ?? process.platform;
  const iniPath = selection.xrdpIni ?? DEFAULT_XRDP_INI;
  let kind: BackendKind;
  if (selection.backend !== "auto") kind = selection.backend;
  else if (platform === "win32") kind = "windows";
  else if (existsSync(iniPath)) kind = "xrdp";
  else {
    return {
      ok: false,
      reason: `no RDP server found on this host: ${iniPath} does not exist and this is not Windows`,
      fix: "pass --xrdp-ini PATH if xrdp's configuration is elsewhere, or check a remote listener with `rdpcert probe HOST`",
    };
  }
  if (kind === "gnome-remote-desktop") {
    const { createGrdBackend } = await import("./gnome-remote-desktop/grd-backend");
    const grd = createGrdBackend({
      runner: selection.runner,
      platform,
      user: selection.grdUser ?? null,
      ...(selection.grdConf ? { confPath: selection.grdConf } : {}),
      port: selection.port ?? null,
      ...(selection.warnDays !== undefined ? { warnDays: selection.warnDays } : {}),
    });
    const capability = await grd.capability();
    if (!capability.available) return { ok: false, reason: `the gnome-remote-desktop backend cannot run here: ${capability.reason}`, fix: "check the listener with rdpcert probe HOST from anywhere" };
    return { ok: true, backend: grd };
  }
  const backend =
    kind === "xrdp"
      ? createXrdpBackend({ iniPath, runner: selection.runner, platform })
      : // The Windows backend and its PowerShell scripts load only when used.
        (await import("./windows/windows-backend")).createWindowsBackend({ runner: selection.runner, platform, inSession: selection.inSession, ...(selection.listener ? { listener: selection.listener } : {}) });
  const capability = await backend.capability();
  if (!capability.available) {
    return { ok: false, reason: `the ${kind} backend cannot run here: ${capability.reason}`, fix: kind === "xrdp" ? "pass --xrdp-ini PATH, or --backend windows on Windows" : "run rdpcert on the Windows host itself, or use --backend xrdp" };
  }
  return { ok: true, backend };
}
