import { type KeyObject, generateKeyPairSync, randomBytes } from "node:crypto";
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
  const rsaPem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(rsaPem) as Forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.rsa.setPublicKey(forgeKey.n, forgeKey.e);
  cert.serialNumber = request.serialHex ?? randomSerialHex();
  cert.validity.notBefore = request.notBefore;
  cert.validity.notAfter = request.notAfter;
  const name = [{ name: "commonName", value: request.commonName }];
  cert.setSubject(name);
  cert.setIssuer(name);
  const altNames = [
    ...(request.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(request.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  const eku = request.extendedKeyUsage ?? ["serverAuth"];
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", critical: true, digitalSignature: true, keyEncipherment: true },
    ...(eku.length ? [{ name: "extKeyUsage", serverAuth: eku.includes("serverAuth"), clientAuth: eku.includes("clientAuth") }] : []),
    ...(altNames.length ? [{ name: "subjectAltName", altNames }] : []),
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(forgeKey, forge.md.sha256.create());
  return { keyPem, certPem: forge.pki.certificateToPem(cert) };
}
