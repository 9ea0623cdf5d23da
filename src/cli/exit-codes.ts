import type { Health } from "../core/validity";

/** Monitoring-plugin convention (Nagios, Icinga, Zabbix, Task Scheduler, systemd). */
export const ExitCode = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeFor(health: Health): ExitCode {
  switch (health) {
    case "ok":
      return ExitCode.OK;
    case "warn":
      return ExitCode.WARNING;
    case "critical":
      return ExitCode.CRITICAL;
    case "unknown":
      return ExitCode.UNKNOWN;
  }
}

/** Bad flags, a bad file, a bad value: one line, exit 3, nothing done. */
export class UsageError extends Error {
  override name = "UsageError";
}

export const EXIT_CODES_HELP = `
Exit codes:
  0  OK        every listener healthy
  1  WARNING   a certificate expires within --warn-days
  2  CRITICAL  expired or not yet valid, TLS not offered, negotiation failure,
               handshake failed, or unreachable
  3  UNKNOWN   bad usage, or rdpcert could not run the check`;
