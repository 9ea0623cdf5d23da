import { basename } from "node:path";
import type { CommandRunner } from "./command-runner";
import { detectGnomeRemoteDesktop } from "./gnome-remote-desktop/detect";
import type { BackendKind, HostBackend } from "./host-backend";
import { type ListenerProcess, type ListenerProcessLookup, findListenerProcess } from "./local/listening-process";
import type { Platform } from "../core/platform";

/**
 * Which RDP server listens on a port, from the process holding the socket
 * (its executable, else its comm and argv[0]), and how to build its backend.
 * One entry per server kind: a new kind adds its entry here and its backend
 * under src/hosts/<kind>/ (loaded only when used). Windows is not detected
 * (it is the platform), and pem-pair is never detected: it is chosen with
 * --backend pem-pair and its files configured.
 */
export interface BackendContext {
  readonly port: number;
  readonly runner?: CommandRunner;
  readonly platform: Platform;
  readonly xrdpIni: string;
  readonly certFile?: string | null;
  readonly keyFile?: string | null;
  readonly reloadCommand?: readonly string[] | null;
  /** gnome-remote-desktop: grd.conf (system mode) and the serving user (user mode). */
  readonly grdConf?: string;
  readonly grdUser?: string | null;
  /** The port as configured (--port, the config); null: none given. */
  readonly explicitPort?: number | null;
  readonly warnDays?: number;
  /** What detection found on the port, when it ran. */
  readonly listener?: ListenerProcessLookup;
}

export interface ServerDetector {
  readonly kind: BackendKind;
  /** Whether the listening process is this kind of server. */
  matches(process: ListenerProcess): boolean;
  create(ctx: BackendContext): Promise<HostBackend>;
}

/** The program's name: the executable's file name, else argv[0]'s, else comm (15 characters: "freerdp-shadow-"). */
export function programName(process: ListenerProcess): string {
  if (process.exe) return basename(process.exe);
  if (process.argv[0]) return basename(process.argv[0]);
  return process.command;
}

const pair = async (ctx: BackendContext) => {
  const { runCommand } = await import("./command-runner");
  return {
    port: ctx.port,
    runner: ctx.runner ?? runCommand,
    platform: ctx.platform,
    ...(ctx.listener ? { listener: ctx.listener } : {}),
    certFile: ctx.certFile ?? null,
    keyFile: ctx.keyFile ?? null,
  };
};

export const SERVER_DETECTORS: readonly ServerDetector[] = [
  {
    kind: "xrdp",
    matches: (p) => programName(p) === "xrdp",
    create: async (ctx) => {
      const xrdp = await import("./xrdp/xrdp-backend");
      // Found by its port and started with -c INI: that ini, unless another one was named (--xrdp-ini, xrdpIni).
      const started = ctx.listener?.kind === "found" ? (await import("./xrdp/listener-process")).configFromCmdline(ctx.listener.process.argv) : null;
      const iniPath = started?.startsWith("/") && ctx.xrdpIni === xrdp.DEFAULT_XRDP_INI ? started : ctx.xrdpIni;
      return xrdp.createXrdpBackend({ iniPath, runner: ctx.runner, platform: ctx.platform });
    },
  },
  {
    kind: "weston",
    matches: (p) => programName(p) === "weston",
    create: async (ctx) => (await import("./weston/weston-backend")).createWestonBackend(await pair(ctx)),
  },
  {
    kind: "freerdp-shadow",
    matches: (p) => /^freerdp-shadow/.test(programName(p)),
    create: async (ctx) => (await import("./freerdp-shadow/shadow-backend")).createShadowBackend(await pair(ctx)),
  },
  {
    kind: "gnome-remote-desktop",
    matches: (p) => detectGnomeRemoteDesktop({ command: p.command, executable: p.exe, argv: p.argv, user: p.identity.name }) !== null,
    create: async (ctx) => {
      const { createGrdBackend } = await import("./gnome-remote-desktop/grd-backend");
      // Found on the port: a user-mode daemon's pair is in that user's GSettings (unless --grd-user names another).
      const found =
        ctx.listener?.kind === "found"
          ? detectGnomeRemoteDesktop({
              command: ctx.listener.process.command,
              executable: ctx.listener.process.exe,
              argv: ctx.listener.process.argv,
              user: ctx.listener.process.identity.name,
            })
          : null;
      const user = ctx.grdUser ?? (found && found.mode !== "system" ? found.user : null);
      return createGrdBackend({
        runner: ctx.runner,
        platform: ctx.platform,
        user,
        ...(ctx.grdConf ? { confPath: ctx.grdConf } : {}),
        port: ctx.explicitPort ?? null,
        ...(ctx.warnDays !== undefined ? { warnDays: ctx.warnDays } : {}),
      });
    },
  },
  {
    kind: "pem-pair",
    matches: () => false,
    create: async (ctx) => (await import("./pem-pair/pem-pair-backend")).createPemPairBackend(await pair(ctx), (ctx.reloadCommand ?? null) !== null),
  },
];

export type Detection =
  | { readonly kind: "found"; readonly detector: ServerDetector; readonly lookup: ListenerProcessLookup; readonly process: ListenerProcess }
  | { readonly kind: "unknown-server"; readonly process: ListenerProcess }
  | { readonly kind: "not-found"; readonly lookup: ListenerProcessLookup };

/** The server listening on `port`, by the registry. */
export function detectServer(
  port: number,
  find: (port: number) => ListenerProcessLookup = (p) => findListenerProcess(p, null, { prefer: ["xrdp", "weston", "freerdp-shadow-"] }),
): Detection {
  const lookup = find(port);
  if (lookup.kind !== "found") return { kind: "not-found", lookup };
  const detector = SERVER_DETECTORS.find((d) => d.matches(lookup.process));
  return detector ? { kind: "found", detector, lookup, process: lookup.process } : { kind: "unknown-server", process: lookup.process };
}

export function detectorFor(kind: BackendKind): ServerDetector | null {
  return SERVER_DETECTORS.find((d) => d.kind === kind) ?? null;
}
