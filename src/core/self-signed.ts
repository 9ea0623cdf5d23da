import { type KeyObject, constants, createPublicKey, generateKeyPairSync, privateEncrypt, randomBytes } from "node:crypto";
import type * as Forge from "node-forge";

export type KeySpec = { readonly type: "rsa"; readonly bits: 2048 | 3072 | 4096 } | { readonly type: "ec"; readonly curve: "P-256" | "P-384" };

export const DEFAULT_KEY_SPEC: KeySpec = { type: "rsa", bits: 2048 };

export interface SelfSignedRequest {
  readonly commonName: string;
  /** DNS names and IP addresses for subjectAltName. */
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Positive serial as hex; random 16 bytes when absent. */
  readonly serialHex?: string;
  /** Defaults to [serverAuth]; an empty list omits the extension. */
  readonly extendedKeyUsage?: readonly ("serverAuth" | "clientAuth")[];
}

export interface KeyAndCertificate {
  readonly keyPem: string;
  readonly certPem: string;
}

/** Subject CN and subjectAltName entries of a certificate rdpcert makes. */
export interface CertificateNames {
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  /** Where they came from, for the plan: "requested", "kept from the old certificate", "the host's names". */
  readonly source: "requested" | "old-certificate" | "host";
}

/** Backdating of generated certificates, so that a client whose clock is a little slow accepts them at once. */
export const BACKDATE_MS = 60 * 60_000;

/**
 * The names a replacement carries: those requested
 * (`--name`/`--ip`); else the old certificate's subject CN and SANs, so that
 * clients that reach the server by any of them keep matching; else the host's
 * names. Pure.
 */
export function replacementNames(
  old: { readonly subject: string; readonly subjectAltNames: readonly string[] } | null,
  hostNames: readonly string[],
  requested: { readonly dnsNames: readonly string[]; readonly ipAddresses: readonly string[] } | null | undefined,
): CertificateNames {
  if (requested && (requested.dnsNames.length || requested.ipAddresses.length)) {
    return {
      commonName: requested.dnsNames[0] ?? requested.ipAddresses[0]!,
      dnsNames: requested.dnsNames,
      ipAddresses: requested.ipAddresses,
      source: "requested",
    };
  }
  if (old) {
    const dnsNames = old.subjectAltNames.filter((n) => n.startsWith("DNS:")).map((n) => n.slice(4));
    const ipAddresses = old.subjectAltNames.filter((n) => /^IP( Address)?:/.test(n)).map((n) => n.replace(/^IP( Address)?:/, ""));
    const cn = /(?:^|,\s*)CN=([^,]+)/.exec(old.subject)?.[1]?.trim();
    const commonName = cn ?? dnsNames[0] ?? ipAddresses[0];
    if (commonName) return { commonName, dnsNames, ipAddresses, source: "old-certificate" };
  }
  const fallback = hostNames.length ? hostNames : ["localhost"];
  return { commonName: fallback[0]!, dnsNames: fallback, ipAddresses: [], source: "host" };
}

/** "CN=a; DNS:a, b; IP:127.0.0.1" for plans and logs. */
export function describeNames(names: CertificateNames): string {
  const sans = [...names.dnsNames.map((n) => `DNS:${n}`), ...names.ipAddresses.map((n) => `IP:${n}`)];
  return `CN=${names.commonName}${sans.length ? `, subjectAltName ${sans.join(", ")}` : ""}`;
}

/** EMSA-PKCS1-v1_5's DigestInfo before a SHA-256 hash (RFC 8017, section 9.2, note 1). */
const SHA256_DIGEST_INFO = Buffer.from("3031300d060960864801650304020105000420", "hex");

/** Native key generation (fast); node-forge is loaded only here, to build and sign the certificate. */
export function generateKey(spec: KeySpec = DEFAULT_KEY_SPEC): KeyObject {
  return spec.type === "rsa"
    ? generateKeyPairSync("rsa", { modulusLength: spec.bits }).privateKey
    : generateKeyPairSync("ec", { namedCurve: spec.curve }).privateKey;
}

export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive INTEGER
  if (bytes[0] === 0) bytes[0] = 0x01; // no leading zero octet
  return bytes.toString("hex");
}

/**
 * Builds a self-signed server certificate: EKU serverAuth, key usage
 * digitalSignature + keyEncipherment, basicConstraints CA:false, SHA-256.
 * RSA keys only: node-forge cannot sign with EC keys.
 */
export function buildSelfSigned(privateKey: KeyObject, request: SelfSignedRequest): KeyAndCertificate {
  if (privateKey.asymmetricKeyType !== "rsa") throw new RangeError("self-signed certificates are built with RSA keys only");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const forge = require("node-forge") as typeof Forge;
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(createPublicKey(privateKey).export({ type: "spki", format: "pem" }).toString());
  cert.serialNumber = request.serialHex ?? randomSerialHex();
  cert.validity.notBefore = request.notBefore;
  cert.validity.notAfter = request.notAfter;
  const name = [{ name: "commonName", value: request.commonName }];
  cert.setSubject(name);
  cert.setIssuer(name);
  const altNames = [...(request.dnsNames ?? []).map((value) => ({ type: 2, value })), ...(request.ipAddresses ?? []).map((ip) => ({ type: 7, ip }))];
  const eku = request.extendedKeyUsage ?? ["serverAuth"];
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", critical: true, digitalSignature: true, keyEncipherment: true },
    ...(eku.length ? [{ name: "extKeyUsage", serverAuth: eku.includes("serverAuth"), clientAuth: eku.includes("clientAuth") }] : []),
    ...(altNames.length ? [{ name: "subjectAltName", altNames }] : []),
    { name: "subjectKeyIdentifier" },
  ]);
  // forge builds the TBSCertificate and hands its SHA-256 to key.sign(); OpenSSL makes the
  // signature: the same PKCS#1 v1.5 bytes as forge's JavaScript RSA, without its cost
  // (4096-bit: 1 s with V8's optimizing compiler, 10 s without, which `schedule` runs without).
  const signer = {
    sign: (md: Forge.md.MessageDigest): string =>
      privateEncrypt(
        { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
        Buffer.concat([SHA256_DIGEST_INFO, Buffer.from(md.digest().getBytes(), "binary")]),
      ).toString("binary"),
  };
  cert.sign(signer as unknown as Forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { keyPem, certPem: forge.pki.certificateToPem(cert) };
}
