export { ExitCode, exitCodeFor } from "../core/exit-code";

/** Bad flags, a bad file, a bad value: one line, exit 3, nothing done. */
export class UsageError extends Error {
  override name = "UsageError";
}

export const STATUS_EXIT_CODES_HELP = `
Exit codes:
  0  OK        the listener presents the configured certificate, valid beyond --warn-days
  1  WARNING   WARN: expires within --warn-days, or a self-signed certificate is past
               its renewal time (2/3 of its lifetime)
  2  CRITICAL  EXPIRED, NOT-YET-VALID, CORRUPT (certificate or key unusable), MISMATCH
               (presents another certificate), DOWNGRADED (no TLS), DOWN (unreachable)
  3  UNKNOWN   bad usage, or the configuration could not be inspected`;

export const EXIT_CODES_HELP = `
Exit codes:
  0  OK        every listener healthy
  1  WARNING   a certificate expires within --warn-days
  2  CRITICAL  expired or not yet valid, TLS not offered, negotiation failure,
               handshake failed, or unreachable
  3  UNKNOWN   bad usage, or rdpcert could not run the check`;

/** The JSON report of a command that failed before it could report (`--json`): docs/exit-codes.md. */
export const ERROR_SCHEMA = "rdpcert.error/v1";

export interface Failure {
  /** "usage", an errno code ("EACCES", "EROFS", ...), or "internal". */
  readonly code: string;
  readonly message: string;
  readonly fix: string | null;
}

const SYSCALL_VERBS: Readonly<Record<string, string>> = {
  mkdir: "create the directory",
  open: "open",
  write: "write",
  read: "read",
  rename: "rename",
  unlink: "remove",
  rmdir: "remove",
  chmod: "set the mode of",
  fchmod: "set the mode of",
  chown: "set the owner of",
  fsync: "flush",
  copyfile: "copy",
  lstat: "inspect",
  stat: "inspect",
  scandir: "list",
  symlink: "create a link at",
};

const ERRNO: Readonly<Record<string, { meaning: string; fix: string }>> = {
  EACCES: { meaning: "permission denied", fix: "run as root (sudo rdpcert ...), or pass a --state-dir / --log-dir this user may write" },
  EPERM: { meaning: "operation not permitted", fix: "run as root (sudo rdpcert ...)" },
  EROFS: { meaning: "the file system is read-only", fix: "remount it read-write, or pass --state-dir DIR on a writable disk" },
  ENOSPC: { meaning: "the disk is full", fix: "free space on that disk (df -h), then run again" },
  EDQUOT: { meaning: "the disk quota is exhausted", fix: "free space within the quota, then run again" },
  ENOTDIR: { meaning: "a component of the path is a file, not a directory", fix: "pass a directory path (--state-dir DIR, --log-dir DIR)" },
  EEXIST: { meaning: "a file is in the way of the directory", fix: "pass a directory path (--state-dir DIR, --log-dir DIR)" },
  EISDIR: { meaning: "it is a directory", fix: "pass the path of a file" },
  ENOENT: { meaning: "it does not exist", fix: "check the path" },
  EMFILE: { meaning: "too many open files", fix: "raise the open-file limit (ulimit -n) or lower --concurrency" },
  ELOOP: { meaning: "too many levels of symbolic links", fix: "check the links on the path" },
};

/** Any error thrown out of a command, as one line naming what failed and what to do; never file contents. */
export function describeFailure(error: unknown): Failure {
  if (error instanceof UsageError || (error instanceof Error && error.name === "ConfigError")) return { code: "usage", message: error.message, fix: null };
  // A refusal with its own fix (the state dir's trust rules: hosts/local/trust.ts).
  if (error instanceof Error && error.name === "UntrustedPathError")
    return { code: "untrusted", message: error.message, fix: (error as Error & { fix?: string }).fix ?? null };
  const e = error as NodeJS.ErrnoException & { dest?: string };
  if (e instanceof Error && typeof e.code === "string" && /^E[A-Z0-9]+$/.test(e.code) && typeof e.syscall === "string") {
    const known = ERRNO[e.code];
    const verb = SYSCALL_VERBS[e.syscall] ?? e.syscall;
    const what = e.path ? `${verb} ${e.path}${e.dest ? ` to ${e.dest}` : ""}` : verb;
    return { code: e.code, message: `cannot ${what}: ${known?.meaning ?? e.code} (${e.code})`, fix: known?.fix ?? null };
  }
  const first = (e instanceof Error ? e.message : String(error)).split("\n")[0] ?? "";
  return { code: "internal", message: `internal error: ${first}`, fix: "run again with --debug for the stack trace, and report it" };
}
