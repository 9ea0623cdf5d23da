import { X509Certificate } from "node:crypto";
import type { CertificateInfo } from "../../src/core/certificate";
import { probe } from "../../src/probe/prober";

/** The SHA-1 thumbprint of a PEM certificate as rdpcert reports it: upper-case hex, no colons. */
export const sha1 = (pem: string | Buffer): string => new X509Certificate(pem).fingerprint.replace(/:/g, "");

/** What the listener on 127.0.0.1:`port` presents, by rdpcert's own prober (5 s). */
export const presented = async (port: number): Promise<CertificateInfo | null> =>
  (await probe({ input: `127.0.0.1:${port}`, host: "127.0.0.1", port }, { timeoutMs: 5000 })).certificate;

/** The SHA-1 thumbprint of what the listener on 127.0.0.1:`port` presents; null when it presents none. */
export const presentedThumbprint = async (port: number): Promise<string | null> => (await presented(port))?.thumbprint ?? null;
