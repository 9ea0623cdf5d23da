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
