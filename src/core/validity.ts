import { DAY_MS } from "./certificate";

/** The monitoring-plugin scale: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
export type Health = "ok" | "warn" | "critical" | "unknown";

const healthRank: Readonly<Record<Health, number>> = { ok: 0, warn: 1, critical: 2, unknown: 3 };

export function worstHealth(values: Iterable<Health>): Health {
  let worst: Health = "ok";
  for (const value of values) if (healthRank[value] > healthRank[worst]) worst = value;
  return worst;
}

/** Whole days from `now` to `notAfter`, rounded down; negative once expired. */
export function daysLeft(notAfter: Date, now: Date): number {
  return Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
}

export type ValidityState =
  | { readonly state: "not-yet-valid"; readonly validInDays: number }
  | { readonly state: "expired"; readonly daysAgo: number }
  | { readonly state: "expiring"; readonly daysLeft: number }
  | { readonly state: "valid"; readonly daysLeft: number };

/**
 * Where a certificate stands at `now`. X.509 validity is inclusive of both
 * bounds (RFC 5280 4.1.2.5): expired strictly after notAfter.
 */
export function validityAt(validity: { readonly notBefore: Date; readonly notAfter: Date }, now: Date, warnDays: number): ValidityState {
  const t = now.getTime();
  if (t < validity.notBefore.getTime()) return { state: "not-yet-valid", validInDays: Math.ceil((validity.notBefore.getTime() - t) / DAY_MS) };
  if (t > validity.notAfter.getTime()) return { state: "expired", daysAgo: Math.floor((t - validity.notAfter.getTime()) / DAY_MS) };
  const left = daysLeft(validity.notAfter, now);
  if (validity.notAfter.getTime() - t <= warnDays * DAY_MS) return { state: "expiring", daysLeft: left };
  return { state: "valid", daysLeft: left };
}

export function describeValidity(v: ValidityState): string {
  switch (v.state) {
    case "not-yet-valid":
      return `certificate is not valid yet (valid in ${v.validInDays} day${v.validInDays === 1 ? "" : "s"}; check the clock)`;
    case "expired":
      return v.daysAgo === 0 ? "certificate expired today" : `certificate expired ${v.daysAgo} day${v.daysAgo === 1 ? "" : "s"} ago`;
    case "expiring":
      return `certificate expires in ${v.daysLeft} day${v.daysLeft === 1 ? "" : "s"}`;
    case "valid":
      return `certificate valid for ${v.daysLeft} more days`;
  }
}

export function validityHealth(v: ValidityState): Health {
  return v.state === "valid" ? "ok" : v.state === "expiring" ? "warn" : "critical";
}
