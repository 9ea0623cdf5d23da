/**
 * OS schedulers take calendar times, not cron: rdpcert's task supports the
 * cron forms that map exactly, "M H * * *" (daily) and "M H * * D[,D...]"
 * (weekly on days 0-7, 0 and 7 Sunday). Anything else is for `rdpcert schedule`.
 */
export interface CalendarTime {
  readonly hour: number;
  readonly minute: number;
  /** null = every day; else days of the week, 0 = Sunday. */
  readonly weekdays: readonly number[] | null;
}

export type CalendarResult = { readonly ok: true; readonly time: CalendarTime } | { readonly ok: false; readonly reason: string };

const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;

export function calendarFromCron(expression: string): CalendarResult {
  const fields = expression.trim().split(/\s+/);
  const unsupported = {
    ok: false as const,
    reason: `the OS task supports daily "M H * * *" or weekly "M H * * D" schedules; ${JSON.stringify(expression)} is not one (use rdpcert schedule for other cron expressions)`,
  };
  if (fields.length !== 5) return unsupported;
  const [m, h, dom, mon, dow] = fields as [string, string, string, string, string];
  if (!/^\d{1,2}$/.test(m) || !/^\d{1,2}$/.test(h) || dom !== "*" || mon !== "*") return unsupported;
  const minute = Number(m);
  const hour = Number(h);
  if (minute > 59 || hour > 23) return unsupported;
  if (dow === "*") return { ok: true, time: { hour, minute, weekdays: null } };
  if (!/^[0-7](,[0-7])*$/.test(dow)) return unsupported;
  const weekdays = [...new Set(dow.split(",").map((d) => Number(d) % 7))].sort();
  return { ok: true, time: { hour, minute, weekdays } };
}

export const pad = (n: number): string => String(n).padStart(2, "0");

export function onCalendar(time: CalendarTime): string {
  const days = time.weekdays ? `${time.weekdays.map((d) => DAY_NAMES[d]).join(",")} ` : "";
  return `${days}*-*-* ${pad(time.hour)}:${pad(time.minute)}:00`;
}

export function weekdayNames(time: CalendarTime): string[] {
  const long = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  return (time.weekdays ?? []).map((d) => long[d]!);
}
