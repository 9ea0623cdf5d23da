import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { certificateNames, colonHex, freerdp3FileName, makePinBundle, mstscServerName, normalizeSha256 } from "../../../src/core/pin-bundle";
import { regFileBytes } from "../../../src/app/pin-bundle";

const FIXTURES = join(__dirname, "pin-bundle-fixtures");
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));
const NOW = new Date("2026-12-05T15:30:00.000Z");

const openssl = (args: string[], cwd: string): string => execFileSync("openssl", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });

describe("makePinBundle", () => {
  const pem = fixture("listener.pem").toString("utf8");
  const bundle = makePinBundle(pem, "RDP01.example.test", 3390, NOW);

  it("gives SHA-1 and SHA-256 in the forms clients use, equal to openssl's fingerprints", () => {
    const dir = mkdtempSync(join(tmpdir(), "rdpcert-pins-"));
    try {
      const sha1 = openssl(["x509", "-in", join(FIXTURES, "listener.pem"), "-noout", "-fingerprint", "-sha1"], dir)
        .split("=")[1]!
        .trim();
      const sha256 = openssl(["x509", "-in", join(FIXTURES, "listener.pem"), "-noout", "-fingerprint", "-sha256"], dir)
        .split("=")[1]!
        .trim();
      expect(bundle.sha1).toEqual({ hex: sha1.replace(/:/g, "").toLowerCase(), colon: sha1.toLowerCase(), thumbprint: sha1.replace(/:/g, "") });
      expect(bundle.sha256).toEqual({
        hex: sha256.replace(/:/g, "").toLowerCase(),
        colon: sha256.toLowerCase(),
        freerdp: `/cert:fingerprint:sha256:${sha256.toLowerCase()}`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("carries the listener, the validity and the time it was made", () => {
    const x509 = new X509Certificate(pem);
    expect(bundle).toMatchObject({ schema: 1, listener: { host: "RDP01.example.test", port: 3390 }, createdAt: NOW.toISOString() });
    expect(bundle.notBefore).toBe(new Date(x509.validFrom).toISOString());
    expect(bundle.notAfter).toBe(new Date(x509.validTo).toISOString());
  });

  it("writes the FreeRDP 3 file as OpenSSL's PEM_write_bio_X509 does, under server/<host>_<port>.pem in lower case (golden file)", () => {
    expect(bundle.freerdp3ServerPem.path).toBe("server/rdp01.example.test_3390.pem");
    expect(bundle.freerdp3ServerPem.content).toBe(fixture("freerdp3-rdp01.example.test_3390.pem").toString("utf8"));
    expect(bundle.certificatePem).toBe(bundle.freerdp3ServerPem.content);
  });

  it("writes the mstsc .reg as regedit does: UTF-16LE with a BOM, CRLF, CertHash as hex: bytes of the SHA-1 (golden file)", () => {
    const at3389 = makePinBundle(pem, "rdp01.example.test", 3389, NOW);
    expect(regFileBytes(at3389.mstscReg).equals(fixture("mstsc-rdp01.example.test.reg"))).toBe(true);
    expect(at3389.mstscServerKey).toBe("rdp01.example.test");
  });

  it("writes the FreeRDP 2 known_hosts2 line: lower-case host, port, colon SHA-256, base64 of the OpenSSL one-line names", () => {
    const [host, port, fingerprint, first, second, ...rest] = bundle.freerdp2KnownHosts2.split(" ");
    expect(rest).toEqual([]);
    expect([host, port, fingerprint]).toEqual(["rdp01.example.test", "3390", bundle.sha256.colon]);
    expect(Buffer.from(first!, "base64").toString("latin1")).toBe("CN = rdp01.example.test, O = Example");
    expect(Buffer.from(second!, "base64").toString("latin1")).toBe("CN = rdp01.example.test, O = Example");
  });

  it("takes the first certificate of a chain, and refuses text without one", () => {
    const chain = `${pem}${makeOtherPem()}`;
    expect(makePinBundle(chain, "h", 3389, NOW).sha256).toEqual(bundle.sha256);
    expect(() => makePinBundle("no certificate here", "h", 3389, NOW)).toThrow("no certificate");
  });
});

describe("certificateNames: OpenSSL's XN_FLAG_ONELINE rendering, as FreeRDP 2 stores it", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "rdpcert-names-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Each subject exercises one of do_esc_char()'s rules: quoting, backslashes, UTF-8 as \XX, multi-valued RDNs, known short names.
  const subjects = [
    "/CN=host1",
    "/CN= lead/O=trail /OU=#hash",
    '/CN=q"uo\\\\te/O=semi;lt<gt>',
    "/CN=Zoë Ünï/O=日本",
    "/CN=a=b/O=multi\\, v",
    "/CN=multi+O=rdn/DC=example/emailAddress=a@b.c",
    "/C=DE/ST=Berlin/L=Mitte/O=Org/OU=Unit/CN=x.example/serialNumber=42",
  ];
  it.each(subjects)("renders %s exactly as openssl -nameopt oneline", (subject) => {
    openssl(
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "k.pem",
        "-out",
        "c.pem",
        "-days",
        "1",
        "-utf8",
        "-subj",
        subject,
      ],
      dir,
    );
    const expected = openssl(["x509", "-in", "c.pem", "-noout", "-subject", "-nameopt", "oneline"], dir)
      .replace(/^subject=/, "")
      .replace(/\n$/, "");
    const der = new X509Certificate(readFileSync(join(dir, "c.pem"))).raw;
    expect(certificateNames(der).subject).toBe(expected);
    expect(certificateNames(der).issuer).toBe(expected);
  });

  it("renders a CA-issued certificate's issuer apart from its subject", () => {
    openssl(
      [
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
        "2",
        "-subj",
        "/CN=Test CA/O=Issuer Org",
      ],
      dir,
    );
    openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "l.key", "-out", "l.csr", "-subj", "/CN=leaf.example"], dir);
    openssl(["x509", "-req", "-in", "l.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "l.pem", "-days", "1"], dir);
    const names = certificateNames(new X509Certificate(readFileSync(join(dir, "l.pem"))).raw);
    expect(names).toEqual({ subject: "CN = leaf.example", issuer: "CN = Test CA, O = Issuer Org" });
  });
});

describe("client-side names and forms", () => {
  it("names FreeRDP 3's file as certificate_data.c does: ':' to '.', slashes to '_', lower case", () => {
    expect(freerdp3FileName("RDP01.Example.Test", 3389)).toBe("rdp01.example.test_3389.pem");
    expect(freerdp3FileName("fe80::1", 3390)).toBe("fe80..1_3390.pem");
    expect(freerdp3FileName("a/b\\c", 1)).toBe("a_b_c_1.pem");
  });

  it("keys mstsc's pin by the host, with :port only when it is not 3389", () => {
    expect(mstscServerName("rdp01", 3389)).toBe("rdp01");
    expect(mstscServerName("rdp01", 3390)).toBe("rdp01:3390");
  });

  it("normalizes a SHA-256 given in any usual form, and refuses anything else", () => {
    const hex = "ab".repeat(32);
    expect(normalizeSha256(hex.toUpperCase())).toBe(hex);
    expect(normalizeSha256(colonHex(hex))).toBe(hex);
    expect(normalizeSha256(`sha256:${colonHex(hex).toUpperCase()}`)).toBe(hex);
    expect(normalizeSha256("ab".repeat(20))).toBeNull();
    expect(normalizeSha256(`${hex}zz`)).toBeNull();
  });
});

function makeOtherPem(): string {
  const dir = mkdtempSync(join(tmpdir(), "rdpcert-other-"));
  try {
    openssl(
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "k.pem",
        "-out",
        "c.pem",
        "-days",
        "1",
        "-subj",
        "/CN=other",
      ],
      dir,
    );
    return readFileSync(join(dir, "c.pem"), "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
