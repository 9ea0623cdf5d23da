import { basename } from "node:path";

/**
 * `--backend auto`'s detector for gnome-remote-desktop (issue 24): from the process that
 * listens on the port (its executable, command line and user, as /proc shows them), whether
 * it is g-r-d and in which mode. /proc/PID/comm is cut at 15 characters ("gnome-remote-de").
 * - `--system`: 46+'s system daemon (user gnome-remote-desktop, grd.conf);
 * - `--headless`: a headless user session (GSettings of that user);
 * - otherwise a user's screen sharing (GSettings of that user).
 */
export interface ProcessFacts {
  readonly command: string;
  readonly executable?: string | null;
  readonly argv?: readonly string[];
  /** The user the process runs as. */
  readonly user?: string | null;
}

export interface GrdDetection {
  readonly kind: "gnome-remote-desktop";
  readonly mode: "system" | "headless" | "user";
  /** The user whose GSettings hold the pair (user and headless modes); null in system mode. */
  readonly user: string | null;
}

export function detectGnomeRemoteDesktop(proc: ProcessFacts): GrdDetection | null {
  const exe = proc.executable ? basename(proc.executable) : null;
  const arg0 = proc.argv?.[0] ? basename(proc.argv[0]) : null;
  const isGrd =
    exe === "gnome-remote-desktop-daemon" ||
    arg0 === "gnome-remote-desktop-daemon" ||
    proc.command === "gnome-remote-de" ||
    proc.command === "gnome-remote-desktop-daemon";
  if (!isGrd) return null;
  const args = proc.argv ?? [];
  if (args.includes("--system")) return { kind: "gnome-remote-desktop", mode: "system", user: null };
  return { kind: "gnome-remote-desktop", mode: args.includes("--headless") ? "headless" : "user", user: proc.user ?? null };
}
