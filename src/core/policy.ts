/** When rdpcert wants a certificate renewed; pure, so it is tested with plain values. */
export interface Policy {
  /** WARN when the certificate expires within this many days. */
  readonly warnDays: number;
  /** Renew a self-signed certificate once this fraction of its lifetime has passed (2/3, like step, cert-manager and Caddy). */
  readonly renewalFraction: number;
}

export const DEFAULT_RENEWAL_FRACTION = 2 / 3;
export const DEFAULT_POLICY: Policy = { warnDays: 30, renewalFraction: DEFAULT_RENEWAL_FRACTION };

export function renewalTime(validity: { readonly notBefore: Date; readonly notAfter: Date }, fraction: number): Date {
  const start = validity.notBefore.getTime();
  return new Date(start + (validity.notAfter.getTime() - start) * fraction);
}
