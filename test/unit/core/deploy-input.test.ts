import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { rootCertificates } from "node:tls";
import { type CheckOptions, checkMaterial, pemCertificates, pemPrivateKey, readPfx } from "../../../src/core/deploy-input";
import { type TestCa, makeTestCa } from "../../helpers/test-ca";

/** deploy's checks on real certificates made by openssl (test/helpers/test-ca.ts). */
const options = (extra: Partial<CheckOptions> = {}): CheckOptions => ({
  now: new Date(),
  hostNames: ["rdp.example.test", "rdp"],
  requireCompleteChain: true,
  roots: [],
  ...extra,
});

describe("deploy's input checks", () => {
  let ca: TestCa;
  beforeAll(() => {
    ca = makeTestCa(join(mkdtempSync(join(tmpdir(), "rdpcert-ca-unit-")), "ca"));
  });
  // The CA (its keys too) lives in a temp dir of its own: removed with it.
  afterAll(() => rmSync(dirname(ca.dir), { recursive: true, force: true }));

  const material = (leaf: { fullchainPath: string; keyPem: string }, extra: Buffer[] = []) => ({
    origin: "--cert test",
    certificates: [...pemCertificates(readFileSync(leaf.fullchainPath, "utf8")), ...extra],
    keyPem: leaf.keyPem,
  });

  it("accepts a server certificate with its chain, leaf first, and normalises the key to PKCS#8", () => {
    const leaf = ca.issue("rdp.example.test");
    const outcome = checkMaterial(material(leaf), options());
    expect(outcome).toMatchObject({ ok: true, warnings: [] });
    if (!outcome.ok) return;
    expect(outcome.certificate.chain).toHaveLength(2);
    expect(outcome.certificate.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(outcome.certificate.names).toEqual(["DNS:rdp.example.test"]);
  });

  it("orders a chain given backwards, and leaves out certificates that are not on it (a warning)", () => {
    const leaf = ca.issue("rdp.example.test");
    const [cert, intermediate] = pemCertificates(readFileSync(leaf.fullchainPath, "utf8"));
    const stranger = pemCertificates(readFileSync(ca.issue("other.example.test").certPath, "utf8"))[0]!;
    const outcome = checkMaterial({ origin: "x", certificates: [intermediate!, stranger, cert!], keyPem: leaf.keyPem }, options());
    expect(outcome.ok && outcome.certificate.chain.map((c) => (c.equals(cert!) ? "leaf" : c.equals(intermediate!) ? "intermediate" : "other"))).toEqual([
      "leaf",
      "intermediate",
    ]);
    expect(outcome.ok && outcome.warnings).toEqual([expect.stringContaining("1 certificate is not on the leaf's chain")]);
  });

  it("allows Remote Desktop Authentication, anyExtendedKeyUsage and no EKU at all; refuses client-only", () => {
    for (const eku of ["1.3.6.1.4.1.311.54.1.2", "anyExtendedKeyUsage", null]) {
      expect(checkMaterial(material(ca.issue("rdp.example.test", { eku })), options()).ok).toBe(true);
    }
    expect(checkMaterial(material(ca.issue("rdp.example.test", { eku: "clientAuth,emailProtection" })), options())).toMatchObject({
      ok: false,
      reason: expect.stringContaining("its extended key usage is 1.3.6.1.5.5.7.3.2, 1.3.6.1.5.5.7.3.4"),
    });
  });

  it("allows a key usage with digitalSignature or keyEncipherment, or none at all; refuses one with neither (read by core/certificate.ts)", () => {
    for (const keyUsage of ["digitalSignature", "keyEncipherment", "digitalSignature,keyEncipherment,decipherOnly,keyAgreement", null]) {
      expect([keyUsage, checkMaterial(material(ca.issue("rdp.example.test", { keyUsage })), options()).ok]).toEqual([keyUsage, true]);
    }
    expect(checkMaterial(material(ca.issue("rdp.example.test", { keyUsage: "nonRepudiation,dataEncipherment" })), options())).toMatchObject({
      ok: false,
      reason: expect.stringContaining("has a key usage that allows neither digitalSignature nor keyEncipherment"),
    });
  });

  it("a wildcard or IP name matches the host; another name is a warning, never a refusal", () => {
    expect(checkMaterial(material(ca.issue("*.example.test", { names: ["DNS:*.example.test"] })), options()).ok && "matched").toBe("matched");
    const wildcard = checkMaterial(material(ca.issue("*.example.test", { names: ["DNS:*.example.test"] })), options());
    expect(wildcard.ok && wildcard.warnings).toEqual([]);
    const ip = checkMaterial(material(ca.issue("10.0.0.5", { names: ["IP:10.0.0.5"] })), options({ hostNames: ["10.0.0.5"] }));
    expect(ip.ok && ip.warnings).toEqual([]);
    const deep = checkMaterial(material(ca.issue("a.b.example.test", { names: ["DNS:*.example.test"] })), options({ hostNames: ["a.b.example.test"] }));
    expect(deep.ok && deep.warnings).toEqual([expect.stringContaining("this host is a.b.example.test")]);
  });

  it("a leaf straight from a root that clients hold is complete; from an unknown root it is not", () => {
    const leaf = ca.issue("rdp.example.test", { byRoot: true });
    const only = { origin: "x", certificates: pemCertificates(leaf.certPem), keyPem: leaf.keyPem };
    expect(checkMaterial(only, options())).toMatchObject({ ok: false, reason: expect.stringContaining("the chain is incomplete") });
    expect(checkMaterial(only, options({ roots: [...rootCertificates.slice(0, 3), ca.rootPem] })).ok).toBe(true);
    // Windows builds the chain from its own stores: no refusal there.
    expect(checkMaterial(only, options({ requireCompleteChain: false })).ok).toBe(true);
  });

  it("refuses an encrypted key, a CA certificate as the leaf, and a certificate not yet valid, without quoting the files", () => {
    const leaf = ca.issue("rdp.example.test");
    const encrypted = execFileSync("openssl", ["pkey", "-in", leaf.keyPath, "-aes256", "-passout", "pass:x"], { encoding: "utf8" });
    const refusal = checkMaterial({ ...material(leaf), keyPem: encrypted }, options());
    expect(refusal).toMatchObject({ ok: false, reason: expect.stringContaining("is encrypted") });
    expect(JSON.stringify(refusal)).not.toMatch(/BEGIN|ENCRYPTED PRIVATE/);
    const caKey = readFileSync(join(ca.dir, "int.key"), "utf8");
    expect(checkMaterial({ origin: "x", certificates: pemCertificates(ca.intermediatePem), keyPem: caKey }, options())).toMatchObject({
      ok: false,
      reason: expect.stringContaining("is a CA certificate"),
    });
    expect(checkMaterial(material(leaf), options({ now: new Date(Date.now() - 86_400_000 * 3) }))).toMatchObject({
      ok: false,
      reason: expect.stringContaining("is not valid until"),
    });
  });

  it("reads a PFX with node-forge: RSA and EC keys, a wrong password told apart from a file that is not PKCS#12", () => {
    for (const key of ["rsa2048", "ec256"] as const) {
      const leaf = ca.issue("rdp.example.test", { key });
      const pfx = execFileSync("openssl", ["pkcs12", "-export", "-in", leaf.fullchainPath, "-inkey", leaf.keyPath, "-passout", "pass:pw"]);
      const read = readPfx(pfx, "pw", "--pfx test");
      expect(read.certificates).toHaveLength(2);
      expect(checkMaterial(read, options())).toMatchObject({ ok: true });
      expect(() => readPfx(pfx, "wrong", "--pfx test")).toThrow("the PFX password is wrong");
    }
    expect(() => readPfx(Buffer.from("not a pfx"), "pw", "--pfx test")).toThrow("is not a PKCS#12 (PFX) file");
  });

  it("finds PEM blocks in one pass: a BEGIN counts only with the END of its own label; an encrypted PKCS#1 key keeps its headers", () => {
    const leaf = ca.issue("pem.example.test");
    const body = leaf.certPem.replace(/-----[^-]+-----/g, "").trim();
    expect(pemCertificates(`junk\n-----BEGIN CERTIFICATE-----\n${body}\n-----END X509 CERTIFICATE-----\n${leaf.certPem}`)).toHaveLength(1);
    expect(pemCertificates(`-----BEGIN TRUSTED CERTIFICATE-----\n${body}\n-----END TRUSTED CERTIFICATE-----\n`)).toHaveLength(1);
    const encrypted = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: DES-EDE3-CBC,0123456789ABCDEF\n\nAAAA\n-----END RSA PRIVATE KEY-----";
    expect(pemPrivateKey(`text before\n${encrypted}\nafter`)).toBe(encrypted);
    expect(pemPrivateKey("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n")).toBeNull();
    expect(pemPrivateKey(`-----BEGIN ${"A".repeat(100_000)}-----END PRIVATE KEY-----`)).toBeNull();
    // A megabyte of BEGIN lines without an END: nothing, in linear time (the jest timeout bounds it).
    expect(pemPrivateKey("-----BEGIN PRIVATE KEY-----".repeat(40_000))).toBeNull();
    expect(pemCertificates("-----BEGIN CERTIFICATE-----\n".repeat(40_000))).toEqual([]);
  });

  it("refuses more than ten certificates with one line, before parsing any", () => {
    const leaf = ca.issue("many.example.test");
    const der = pemCertificates(readFileSync(leaf.fullchainPath, "utf8"));
    const eleven = [...der, ...Array.from({ length: 9 }, () => der[1]!)];
    expect(checkMaterial({ origin: "--cert x", certificates: eleven, keyPem: leaf.keyPem }, options())).toEqual({
      ok: false,
      reason: "--cert x holds 11 certificates; a certificate chain has at most 10 (the leaf, its intermediates, perhaps a root)",
      fix: "give the leaf and its intermediate certificates only (certbot: fullchain.pem), not a bundle of CA certificates",
    });
    expect(checkMaterial({ origin: "--cert x", certificates: eleven.slice(0, 10), keyPem: leaf.keyPem }, options())).toMatchObject({ ok: true });
  });
});
