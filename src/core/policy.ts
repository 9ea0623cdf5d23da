import { DAY_MS } from "./certificate";
/** When rdpcert wants a certificate renewed; pure, so it is tested with plain values. */
export interface Policy {
  /** WARN when the certificate expires within this many days. */
  readonly warnDays: number;
  /** Renew a self-signed certificate once this fraction of its lifetime has passed (2/3, like step, cert-manager and Caddy). */
  readonly renewalFraction: number;
  /** When set, renew when this many days are left instead of at the fraction. */
  readonly rotateDays?: number | null;
}

export const DEFAULT_RENEWAL_FRACTION = 2 / 3;
export const DEFAULT_POLICY: Policy = { warnDays: 30, renewalFraction: DEFAULT_RENEWAL_FRACTION };

export function renewalTime(validity: { readonly notBefore: Date; readonly notAfter: Date }, fraction: number): Date {
  const start = validity.notBefore.getTime();
  return new Date(start + (validity.notAfter.getTime() - start) * fraction);
}

/** The renewal point under a policy: `rotateDays` before notAfter when set, else the lifetime fraction. */
export function renewalTimeFor(validity: { readonly notBefore: Date; readonly notAfter: Date }, policy: Policy): Date {
  if (policy.rotateDays) return new Date(validity.notAfter.getTime() - policy.rotateDays * DAY_MS);
  return renewalTime(validity, policy.renewalFraction);
}
