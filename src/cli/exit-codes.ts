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
