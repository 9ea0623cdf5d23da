import { X509Certificate } from "node:crypto";

/**
 * inspect.ps1's answer as Windows PowerShell 5.1 prints it. Not captured from
 * a real host (none here): written to the rules of 5.1's ConvertTo-Json
 * -Compress (JavaScriptSerializer): dates as "\/Date(ms)\/", ' < > & as
 * \u0027 \u003c \u003e \u0026, and, by the script itself, everything outside
 * ASCII as \uXXXX; the host ends the line with CRLF.
 */
export function ps51Json(value: unknown): string {
  const DATE = "\u0000date:";
  const text = JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const original = this[key];
    return original instanceof Date ? `${DATE}${original.getTime()}` : v;
  });
  return `${text
    .replace(/"\\u0000date:(-?\d+)"/g, '"\\/Date($1)\\/"')
    .replace(/'/g, "\\u0027")
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}\r\n`;
}

export const thumbprintOfPem = (pem: string): string => new X509Certificate(pem).fingerprint.replace(/:/g, "");
export const base64OfPem = (pem: string): string => Buffer.from(new X509Certificate(pem).raw).toString("base64");

export interface InspectDocOptions {
  /** The certificate found for the configured thumbprint; null: in neither store. */
  readonly pem: string | null;
  readonly store?: "Remote Desktop" | "My";
  /** SSLCertificateSHA1Hash; defaults to the certificate's thumbprint. */
  readonly hash?: string;
  readonly hasPrivateKey?: boolean;
  readonly privateKeyOpens?: boolean | null;
  readonly privateKeyError?: string | null;
  readonly keyPath?: string | null;
  readonly securityLayer?: number | null;
  readonly services?: unknown;
  readonly events?: unknown;
  readonly errors?: unknown;
  readonly portNumber?: number | null;
}

const RUNNING = (name: string) => ({ name, status: "Running", startType: "Manual" });

/** The document for a host, with every field inspect.ps1 writes (schema 2). */
export function inspectDoc(o: InspectDocOptions): Record<string, unknown> {
  const hash = o.hash ?? (o.pem ? thumbprintOfPem(o.pem) : "AB".repeat(20));
  return {
    schema: 2,
    terminalName: "RDP-tcp",
    eventDays: 30,
    tsSetting: {
      terminalName: "RDP-Tcp",
      sslCertificateSha1Hash: hash,
      securityLayer: o.securityLayer === undefined ? 2 : o.securityLayer,
      userAuthenticationRequired: 1,
    },
    tsSettingError: null,
    tsSettingErrorCategory: null,
    portNumber: o.portNumber === undefined ? 3389 : o.portNumber,
    certificate: o.pem
      ? {
          store: o.store ?? "Remote Desktop",
          thumbprint: thumbprintOfPem(o.pem),
          rawData: base64OfPem(o.pem),
          hasPrivateKey: o.hasPrivateKey ?? true,
          privateKeyOpens: o.privateKeyOpens === undefined ? true : o.privateKeyOpens,
          privateKeyError: o.privateKeyError ?? null,
          keyProvider: o.keyPath ? "CAPI" : null,
          keyPath: o.keyPath ?? null,
        }
      : null,
    services: o.services ?? [RUNNING("TermService"), RUNNING("SessionEnv"), RUNNING("UmRdpService")],
    events: o.events ?? [],
    firewall: { rules: 3, enabled: 3 },
    errors: o.errors ?? [],
  };
}

/** Every property name in a JSON value, at any depth. */
export function propertyNames(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) propertyNames(item, into);
  else if (value && typeof value === "object" && !(value instanceof Date)) {
    for (const [key, item] of Object.entries(value)) {
      into.add(key);
      propertyNames(item, into);
    }
  }
  return into;
}
