import type { Health } from "./validity";

/** Monitoring-plugin convention (Nagios, Icinga, Zabbix, Task Scheduler, systemd). */
export const ExitCode = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** "0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN": the scale in one line, for help texts and metric descriptions. */
export const EXIT_CODE_SCALE = Object.entries(ExitCode)
  .map(([name, code]) => `${code} ${name}`)
  .join(", ");

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
