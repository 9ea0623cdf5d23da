import type { Identity } from "./file-access";
import { type ProcRoot, findListenerProcess } from "../local/listening-process";
export { type ProcRoot, groupName, identityFromStatus, listeningSockets } from "../local/listening-process";

/**
 * xrdp's view of the listening process (src/hosts/local/listening-process.ts
 * finds it for every server kind): xrdp processes are looked at first, and
 * the ini it was started with is read from its command line.
 */
export interface ListeningProcess {
  readonly pid: number;
  /** /proc/PID/comm, e.g. "xrdp". */
  readonly command: string;
  readonly identity: Identity;
  /** The ini it was started with (`-c FILE` / `--config FILE`); null: xrdp's default. */
  readonly configPath: string | null;
}

export type ListenerLookup =
  | { readonly kind: "found"; readonly process: ListeningProcess }
  | { readonly kind: "none" }
  | { readonly kind: "hidden"; readonly socketUid: number | null; readonly reason: string };

/** `xrdp -n -c /etc/xrdp/xrdp.ini` -> "/etc/xrdp/xrdp.ini"; also `--config FILE`, `-cFILE`, `--config=FILE`. */
export function configFromCmdline(argv: readonly string[]): string | null {
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if ((arg === "-c" || arg === "--config") && argv[i + 1] !== undefined) return argv[i + 1]!;
    if (arg.startsWith("--config=")) return arg.slice("--config=".length);
    if (arg.startsWith("-c") && arg.length > 2 && !arg.startsWith("--")) return arg.slice(2);
  }
  return null;
}

/** The process listening on TCP `port` (xrdp processes first), with the ini from its command line. */
export function findListeningProcess(port: number, address: string | null, root: ProcRoot = { path: "/proc" }): ListenerLookup {
  const lookup = findListenerProcess(port, address, { root, prefer: ["xrdp"] });
  if (lookup.kind !== "found") return lookup;
  const p = lookup.process;
  return { kind: "found", process: { pid: p.pid, command: p.command, identity: p.identity, configPath: configFromCmdline(p.argv) } };
}
