import { closeSync, openSync, readFileSync, readSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { Identity } from "./file-access";

/**
 * Who really serves a TCP port, for
 * every kind of RDP server: the process that holds the listening socket,
 * found through /proc/net/tcp{,6} (socket inode) and /proc/PID/fd (which
 * process holds it). Its uid and groups, read from /proc/PID/status, are the
 * identity that opens the key for every connection; its executable and
 * command line say which server it is and where its configuration is
 * (src/hosts/detect-server.ts). Linux only; a missing /proc is "not visible",
 * never a guess.
 */
export interface ListenerProcess {
  readonly pid: number;
  /** /proc/PID/comm, e.g. "xrdp" (15 characters at most: "freerdp-shadow-"). */
  readonly command: string;
  readonly identity: Identity;
  /** /proc/PID/exe's target; null when it cannot be read (another user's process, without root). */
  readonly exe: string | null;
  /** /proc/PID/cmdline, split at NUL. */
  readonly argv: readonly string[];
  /** The /proc root it was found under (for environ and the like). */
  readonly proc: string;
}

export type ListenerProcessLookup =
  | { readonly kind: "found"; readonly process: ListenerProcess }
  /** No socket listens on the port. */
  | { readonly kind: "none" }
  /**
   * A socket listens (owned by `socketUid`), but its process cannot be seen:
   * another user's /proc/PID/fd needs root.
   */
  | { readonly kind: "hidden"; readonly socketUid: number | null; readonly reason: string };

export interface ProcRoot {
  /** "/proc" in production; tests of the parsers pass fixture text instead. */
  readonly path: string;
}

const LISTEN = "0A";

export interface ListeningSocket {
  readonly inode: string;
  readonly uid: number;
  readonly address: string;
}

/** `0100007F:0D3D` (IPv4, little-endian words) or 32 hex digits (IPv6) -> address text; port from the hex after ':'. */
function decodeAddress(hex: string): { address: string; port: number } | null {
  const [addr, portHex] = hex.split(":");
  if (!addr || !portHex) return null;
  const port = parseInt(portHex, 16);
  if (addr.length === 8) {
    const bytes = Buffer.from(addr, "hex").reverse();
    return { address: [...bytes].join("."), port };
  }
  if (addr.length === 32) {
    const words: string[] = [];
    for (let i = 0; i < 32; i += 8)
      words.push(
        Buffer.from(addr.slice(i, i + 8), "hex")
          .reverse()
          .toString("hex"),
      );
    const groups = words
      .join("")
      .match(/.{4}/g)!
      .map((g) => g.replace(/^0+(?=.)/, ""));
    return { address: groups.join(":"), port };
  }
  return null;
}

/** Listening sockets on `port` from the text of /proc/net/tcp or tcp6. */
export function listeningSockets(procNetText: string, port: number): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const line of procNetText.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== LISTEN) continue;
    const local = decodeAddress(f[1]!);
    if (!local || local.port !== port) continue;
    out.push({ inode: f[9]!, uid: Number(f[7]), address: local.address });
  }
  return out;
}

/** uid and groups as the kernel checks file access: the filesystem uid and gid, and the supplementary groups. */
export function identityFromStatus(statusText: string, name: (uid: number) => string): Identity | null {
  const field = (key: string): number[] | null => {
    const m = new RegExp(`^${key}:\\s*(.*)$`, "m").exec(statusText);
    return m ? m[1]!.trim().split(/\s+/).filter(Boolean).map(Number) : null;
  };
  const uids = field("Uid");
  const gidsLine = field("Gid");
  if (!uids || uids.length < 4 || !gidsLine || gidsLine.length < 4) return null;
  const fsUid = uids[3]!;
  const fsGid = gidsLine[3]!;
  const groups = field("Groups") ?? [];
  return { name: name(fsUid), uid: fsUid, gids: [fsGid, ...groups.filter((g) => g !== fsGid)] };
}

/**
 * The listening part of /proc/net/tcp{,6}. The kernel lists the listening
 * hash before established and TIME_WAIT sockets (net/ipv4/tcp_ipv4.c,
 * tcp_get_idx), and builds the file as it is read: stopping at the first
 * socket that is not listening keeps this fast on a host with thousands of
 * connections. Null when the file cannot be read.
 */
function readListeningSection(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    const chunk = Buffer.alloc(65_536);
    const kept: string[] = [];
    let partial = "";
    let header = true;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) return [...kept, partial].join("\n");
      const lines = (partial + chunk.subarray(0, n).toString("latin1")).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        // Past the header, the first socket that is not listening ends the listening section.
        if (!header && line.trim().split(/\s+/, 5)[3] !== LISTEN) return kept.join("\n");
        header = false;
        kept.push(line);
      }
    }
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

const COMM_BUFFER = Buffer.alloc(64);

/**
 * /proc/PID/comm (at most 16 bytes): one open and one read into a shared
 * buffer. The walk reads it for every process up to the server's, and
 * readFileSync's stat, growing buffer and decoding cost a quick command's
 * start-up on a host with many processes. "" when it cannot be read.
 */
function readComm(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return "";
  }
  try {
    return COMM_BUFFER.toString("utf8", 0, readSync(fd, COMM_BUFFER, 0, COMM_BUFFER.length, 0)).trim();
  } catch {
    return "";
  } finally {
    closeSync(fd);
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** User names from /etc/passwd for messages; NSS users (LDAP) show as "uid N". */
function userNames(): (uid: number) => string {
  const names = new Map<number, string>();
  for (const line of (readText("/etc/passwd") ?? "").split("\n")) {
    const f = line.split(":");
    if (f.length > 2 && !names.has(Number(f[2]))) names.set(Number(f[2]), f[0]!);
  }
  return (uid) => names.get(uid) ?? `uid ${uid}`;
}

function pids(proc: string): number[] {
  try {
    return readdirSync(proc)
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
}

function holds(proc: string, pid: number, sockets: ReadonlySet<string>): boolean | null {
  let fds: string[];
  try {
    fds = readdirSync(join(proc, String(pid), "fd"));
  } catch {
    return null; // another user's process: not visible without root
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(join(proc, String(pid), "fd", fd)));
      if (m && sockets.has(m[1]!)) return true;
    } catch {
      // The fd closed while we looked.
    }
  }
  return false;
}

/**
 * The process listening on TCP `port` (and `address`, when the listener binds
 * one). Processes whose comm is in `prefer` are looked at first, in pid
 * order, then every process. When forked children hold the socket too, the
 * first (lowest pid, the parent) is reported; they share its identity.
 */
export function findListenerProcess(
  port: number,
  address: string | null,
  options: { readonly root?: ProcRoot; readonly prefer?: readonly string[] } = {},
): ListenerProcessLookup {
  const proc = (options.root ?? { path: "/proc" }).path;
  const prefer = new Set(options.prefer ?? []);
  const tables = [readListeningSection(join(proc, "net", "tcp")), readListeningSection(join(proc, "net", "tcp6"))];
  if (tables.every((t) => t === null)) return { kind: "hidden", socketUid: null, reason: `${proc}/net/tcp cannot be read` };
  let sockets = tables.flatMap((t) => (t ? listeningSockets(t, port) : []));
  if (address !== null && sockets.some((s) => s.address === address)) sockets = sockets.filter((s) => s.address === address);
  if (sockets.length === 0) return { kind: "none" };
  const inodes = new Set(sockets.map((s) => s.inode));
  const all = pids(proc).sort((a, b) => a - b);
  // comm is read as the walk goes: a preferred process that holds the socket ends
  // the walk there, before the comm of every later pid is read (the same answer as
  // ordering all preferred pids first, with fewer /proc reads).
  const comms = new Map<number, string>();
  const comm = (pid: number): string => {
    let c = comms.get(pid);
    if (c === undefined) comms.set(pid, (c = readComm(join(proc, String(pid), "comm"))));
    return c;
  };
  let hidden = 0;
  let pid: number | null = null;
  const others: number[] = [];
  for (const candidate of all) {
    if (!prefer.has(comm(candidate))) {
      others.push(candidate);
      continue;
    }
    const held = holds(proc, candidate, inodes);
    if (held === null) hidden++;
    else if (held) {
      pid = candidate;
      break;
    }
  }
  if (pid === null) {
    for (const candidate of others) {
      const held = holds(proc, candidate, inodes);
      if (held === null) hidden++;
      else if (held) {
        pid = candidate;
        break;
      }
    }
  }
  if (pid === null) {
    return {
      kind: "hidden",
      socketUid: sockets[0]!.uid,
      reason:
        hidden > 0
          ? `the process listening on port ${port} is not visible to this user (run as root)`
          : `no process holds the socket listening on port ${port}`,
    };
  }
  const status = readText(join(proc, String(pid), "status"));
  const identity = status ? identityFromStatus(status, userNames()) : null;
  if (!identity) return { kind: "hidden", socketUid: sockets[0]!.uid, reason: `cannot read ${proc}/${pid}/status` };
  const argv = (readText(join(proc, String(pid), "cmdline")) ?? "").split("\0").filter((a) => a !== "");
  let exe: string | null;
  try {
    exe = readlinkSync(join(proc, String(pid), "exe")).replace(/ \(deleted\)$/, "");
  } catch {
    exe = null;
  }
  return { kind: "found", process: { pid, command: comm(pid) || (argv[0] ?? "?"), identity, exe, argv, proc } };
}

/**
 * A process's environment (/proc/PID/environ): readable by root and by the
 * process's own user. Null when it cannot be read. Values are used as paths
 * only, never run or printed.
 */
export function processEnvironment(p: Pick<ListenerProcess, "pid" | "proc">): ReadonlyMap<string, string> | null {
  const text = readText(join(p.proc, String(p.pid), "environ"));
  if (text === null) return null;
  const env = new Map<string, string>();
  for (const entry of text.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0 && !env.has(entry.slice(0, eq))) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

/** A user's home directory from /etc/passwd; null when it does not name the uid (NSS users). */
export function homeOf(uid: number, passwdText: string | null = readText("/etc/passwd")): string | null {
  for (const line of (passwdText ?? "").split("\n")) {
    const f = line.split(":");
    if (f.length > 5 && Number(f[2]) === uid && f[5]) return f[5];
  }
  return null;
}

/** A group's name for a fix line (`chgrp NAME`); the number when /etc/group does not name it. */
export function groupName(gid: number): string {
  for (const line of (readText("/etc/group") ?? "").split("\n")) {
    const f = line.split(":");
    if (f.length > 2 && Number(f[2]) === gid && f[0]) return f[0];
  }
  return String(gid);
}
