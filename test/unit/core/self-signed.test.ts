import { X509Certificate, createPublicKey } from "node:crypto";
import * as forge from "node-forge";
import { buildSelfSigned, generateKey } from "../../../src/core/self-signed";

const DAY = 86_400_000;

describe("buildSelfSigned", () => {
  const key = generateKey({ type: "rsa", bits: 2048 });
  const now = Date.now();
  const built = buildSelfSigned(key, {
    commonName: "rdp01.example.test",
    dnsNames: ["rdp01.example.test", "rdp01"],
    ipAddresses: ["192.0.2.7"],
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 179 * DAY),
  });

  it("is signed by its own key with sha256WithRSAEncryption (OpenSSL verifies it)", () => {
    const x509 = new X509Certificate(built.certPem);
    expect(x509.verify(createPublicKey(key))).toBe(true);
    expect(x509.verify(createPublicKey(generateKey({ type: "rsa", bits: 2048 })))).toBe(false);
    expect(x509.publicKey.export({ type: "spki", format: "der" })).toEqual(createPublicKey(key).export({ type: "spki", format: "der" }));
    expect(forge.pki.certificateFromPem(built.certPem).signatureOid).toBe(forge.pki.oids.sha256WithRSAEncryption);
  });

  it("carries the same signature bytes forge's own RSA makes over the same certificate (PKCS#1 v1.5 is deterministic)", () => {
    const cert = forge.pki.certificateFromPem(built.certPem);
    const ours = cert.signature as string;
    const forgeKey = forge.pki.privateKeyFromPem(key.export({ type: "pkcs1", format: "pem" }).toString());
    cert.sign(forgeKey, forge.md.sha256.create());
    expect(Buffer.from(cert.signature as string, "binary").toString("hex")).toBe(Buffer.from(ours, "binary").toString("hex"));
    // and the certificate forge re-encodes is byte for byte the one built
    expect(forge.pki.certificateToPem(cert).replace(/\r/g, "")).toBe(built.certPem.replace(/\r/g, ""));
  });

  it("names, key usage and validity are what was asked", () => {
    const x509 = new X509Certificate(built.certPem);
    expect(x509.subject).toBe("CN=rdp01.example.test");
    expect(x509.issuer).toBe("CN=rdp01.example.test");
    expect(x509.subjectAltName).toBe("DNS:rdp01.example.test, DNS:rdp01, IP Address:192.0.2.7");
    expect(x509.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(Math.abs(new Date(x509.validTo).getTime() - (now + 179 * DAY))).toBeLessThan(2000);
  });
});
