import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeCertificate, keyUsageOf, normalizeThumbprint, publicKeyInfo } from "../../../src/core/certificate";
import { certValid } from "../../helpers/certs";

const der = (pem: string): Buffer => new X509Certificate(pem).raw;

describe("describeCertificate", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "rdpcert-cert-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reports the thumbprint in Windows form, equal to openssl's SHA-1 fingerprint", () => {
    const { certPem } = certValid(-1, 179, "host1");
    const path = join(dir, "c.pem");
    writeFileSync(path, certPem);
    const openssl = execFileSync("openssl", ["x509", "-in", path, "-noout", "-fingerprint", "-sha1"], { encoding: "utf8" });
    const info = describeCertificate(der(certPem));
    expect(info.thumbprint).toMatch(/^[0-9A-F]{40}$/);
    expect(info.thumbprint).toBe(normalizeThumbprint(openssl.split("=")[1]!));
  });

  it("reads subject, SANs, key, signature algorithm, EKU and key usage of a generated certificate", () => {
    const info = describeCertificate(der(certValid(-1, 179, "host1").certPem));
    expect(info).toMatchObject({
      subject: "CN=host1",
      issuer: "CN=host1",
      selfSigned: true,
      subjectAltNames: ["DNS:host1", "DNS:localhost", "IP:127.0.0.1"],
      publicKey: { type: "rsa", bits: 2048, curve: null },
      signatureAlgorithm: "sha256WithRSAEncryption",
      extendedKeyUsage: ["serverAuth"],
      keyUsage: ["digitalSignature", "keyEncipherment"],
    });
    expect(info.sha256).toMatch(/^[0-9A-F]{64}$/);
  });

  it("tells a CA-issued certificate from a self-signed one, and reads EC keys and ECDSA signatures", () => {
    const run = (args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
    run([
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "30",
      "-subj",
      "/CN=Test CA",
    ]);
    run([
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-384",
      "-nodes",
      "-keyout",
      "leaf.key",
      "-out",
      "leaf.csr",
      "-subj",
      "/CN=rdp01.example.com/O=Example",
    ]);
    writeFileSync(join(dir, "ext.cnf"), "extendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n");
    run([
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "leaf.pem",
      "-days",
      "10",
      "-sha384",
      "-extfile",
      "ext.cnf",
    ]);
    const leaf = describeCertificate(new X509Certificate(execFileSync("cat", [join(dir, "leaf.pem")])).raw);
    expect(leaf).toMatchObject({
      subject: "CN=rdp01.example.com, O=Example",
      issuer: "CN=Test CA",
      selfSigned: false,
      publicKey: { type: "ec", bits: 384, curve: "secp384r1" },
      signatureAlgorithm: "ecdsaWithSHA384",
      extendedKeyUsage: ["serverAuth", "clientAuth"],
      keyUsage: ["digitalSignature"],
    });
  });

  it("keyUsageOf tells an absent KeyUsage (null) from one with bits, up to decipherOnly in the second byte", () => {
    const make = (name: string, ext: string | null): Buffer => {
      const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.pem`];
      execFileSync("openssl", [...args, "-subj", `/CN=${name}`, "-days", "2", ...(ext ? ["-addext", ext] : [])], { cwd: dir, stdio: "ignore" });
      return der(readFileSync(join(dir, `${name}.pem`), "utf8"));
    };
    expect(keyUsageOf(make("ku-two", "keyUsage=critical,keyAgreement,decipherOnly"))).toEqual(["keyAgreement", "decipherOnly"]);
    expect(keyUsageOf(make("ku-one", "keyUsage=digitalSignature"))).toEqual(["digitalSignature"]);
    // openssl req adds no KeyUsage unless asked: absent, and describeCertificate reports no usage.
    const none = make("ku-none", null);
    expect(keyUsageOf(none)).toBeNull();
    expect(describeCertificate(none).keyUsage).toEqual([]);
  });

  // The key is read from the DER (a fleet scan paid 0.05 ms a listener for Node's
  // asymmetricKeyDetails); it must say exactly what Node says, or defer to Node.
  it.each([
    ["RSA 1500 (a modulus that is not whole bytes)", ["-newkey", "rsa:1500"]],
    ["RSA 2048", ["-newkey", "rsa:2048"]],
    ["EC P-256", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]],
    ["EC P-384", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"]],
    ["EC P-521", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521"]],
    ["EC secp256k1", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp256k1"]],
    ["EC brainpoolP256r1 (left to Node)", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1"]],
    ["Ed25519", ["-newkey", "ed25519"]],
    ["Ed448", ["-newkey", "ed448"]],
    ["RSA-PSS (left to Node)", ["-newkey", "rsa-pss", "-pkeyopt", "rsa_keygen_bits:1024"]],
  ])("describes a %s key as Node's KeyObject does", (_name, keyArgs) => {
    execFileSync("openssl", ["req", "-x509", ...keyArgs, "-nodes", "-keyout", "k.key", "-out", "k.pem", "-days", "5", "-subj", "/CN=key"], {
      cwd: dir,
      stdio: "ignore",
    });
    const x509 = new X509Certificate(execFileSync("cat", [join(dir, "k.pem")]));
    const info = describeCertificate(x509.raw);
    expect(info.publicKey).toEqual(publicKeyInfo(x509.publicKey));
    expect(info.selfSigned).toBe(true);
  });

  it("throws on bytes that are not a certificate (callers turn it into an outcome)", () => {
    expect(() => describeCertificate(Buffer.from("not a certificate"))).toThrow();
  });
});

describe("normalizeThumbprint", () => {
  it("accepts colon and space separated, lower-case forms", () => {
    expect(normalizeThumbprint("ab:cd ef")).toBe("ABCDEF");
  });
});
