import type { KeyObject } from "node:crypto";
import { type KeyAndCertificate, buildSelfSigned, generateKey } from "../../src/core/self-signed";

const DAY = 86_400_000;
let sharedKey: KeyObject | undefined;

/** One RSA key per test file: key generation is the slow part, and validity is what the tests vary. */
export function testKey(): KeyObject {
  sharedKey ??= generateKey();
  return sharedKey;
}

/** A self-signed pair valid from `fromDays` to `toDays` relative to now (negative = past). */
export function certValid(fromDays: number, toDays: number, commonName = "rdpcert-test", key = testKey()): KeyAndCertificate {
  const now = Date.now();
  return buildSelfSigned(key, {
    commonName,
    dnsNames: [commonName, "localhost"],
    ipAddresses: ["127.0.0.1"],
    notBefore: new Date(now + fromDays * DAY),
    notAfter: new Date(now + toDays * DAY),
  });
}

/** A server certificate issued by a throwaway CA (not self-signed): what rdpcert must never delete. */
export function caIssued(fromDays: number, toDays: number, commonName = "rdp.example.test"): KeyAndCertificate & { caPem: string } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const forge = require("node-forge") as typeof import("node-forge");
  const now = Date.now();
  const caKeys = forge.pki.rsa.generateKeyPair({ bits: 1024, e: 0x10001 });
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = "01";
  ca.validity.notBefore = new Date(now - 400 * DAY);
  ca.validity.notAfter = new Date(now + 4000 * DAY);
  ca.setSubject([{ name: "commonName", value: "rdpcert test CA" }]);
  ca.setIssuer([{ name: "commonName", value: "rdpcert test CA" }]);
  ca.setExtensions([{ name: "basicConstraints", cA: true }]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const key = testKey();
  const rsa = forge.pki.privateKeyFromPem(key.export({ type: "pkcs1", format: "pem" }).toString()) as import("node-forge").pki.rsa.PrivateKey;
  const leaf = forge.pki.createCertificate();
  leaf.publicKey = forge.pki.rsa.setPublicKey(rsa.n, rsa.e);
  leaf.serialNumber = "0a1b2c";
  leaf.validity.notBefore = new Date(now + fromDays * DAY);
  leaf.validity.notAfter = new Date(now + toDays * DAY);
  leaf.setSubject([{ name: "commonName", value: commonName }]);
  leaf.setIssuer(ca.subject.attributes);
  leaf.setExtensions([
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectAltName", altNames: [{ type: 2, value: commonName }] },
  ]);
  leaf.sign(caKeys.privateKey, forge.md.sha256.create());
  return {
    keyPem: key.export({ type: "pkcs8", format: "pem" }).toString(),
    certPem: forge.pki.certificateToPem(leaf),
    caPem: forge.pki.certificateToPem(ca),
  };
}

function forgeSelfSigned(commonName: string): {
  forge: typeof import("node-forge");
  cert: import("node-forge").pki.Certificate;
  privateKey: import("node-forge").pki.rsa.PrivateKey;
  keyPem: string;
} {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const forge = require("node-forge") as typeof import("node-forge");
  const key = testKey();
  const privateKey = forge.pki.privateKeyFromPem(key.export({ type: "pkcs1", format: "pem" }).toString()) as import("node-forge").pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.rsa.setPublicKey(privateKey.n, privateKey.e);
  cert.serialNumber = "0c";
  cert.validity.notBefore = new Date(Date.now() - DAY);
  cert.validity.notAfter = new Date(Date.now() + 179 * DAY);
  const name = [
    { name: "commonName", value: forge.util.encodeUtf8(commonName), valueTagClass: forge.asn1.Type.UTF8 as unknown as import("node-forge").asn1.Class },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.sign(privateKey, forge.md.sha256.create());
  return { forge, cert, privateKey, keyPem: key.export({ type: "pkcs8", format: "pem" }).toString() };
}

/** A self-signed pair whose subject CN is `commonName` verbatim (UTF8String), control characters and all. */
export function certWithSubject(commonName: string): KeyAndCertificate {
  const { forge, cert, keyPem } = forgeSelfSigned(commonName);
  return { keyPem, certPem: forge.pki.certificateToPem(cert) };
}

/**
 * A self-signed pair whose notAfter is the GeneralizedTime `notAfter` verbatim
 * (e.g. "20301231235959" without "Z", or month 13): OpenSSL, and so Node,
 * reads it as "Bad time value". Re-signed, so only the time is odd.
 */
export function certWithRawNotAfter(notAfter: string): KeyAndCertificate {
  const { forge, cert, privateKey, keyPem } = forgeSelfSigned("bad-time");
  const asn1 = forge.asn1;
  const whole = forge.pki.certificateToAsn1(cert) as import("node-forge").asn1.Asn1 & { value: import("node-forge").asn1.Asn1[] };
  const tbs = whole.value[0] as import("node-forge").asn1.Asn1 & { value: import("node-forge").asn1.Asn1[] };
  const validity = tbs.value[4] as import("node-forge").asn1.Asn1 & { value: import("node-forge").asn1.Asn1[] };
  validity.value[1] = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, notAfter);
  const md = forge.md.sha256.create();
  md.update(asn1.toDer(tbs).getBytes());
  whole.value[2] = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, String.fromCharCode(0) + privateKey.sign(md));
  const der = asn1.toDer(whole).getBytes();
  return { keyPem, certPem: `-----BEGIN CERTIFICATE-----\n${forge.util.encode64(der, 64)}\n-----END CERTIFICATE-----\n` };
}
