import { type KeyObject, X509Certificate, createHash } from "node:crypto";
import { DerError, type Tlv, children, decodeOid, readTlv } from "./der";
import { OID_KEY_USAGE, extendedKeyUsageNames, keyUsageBitNames, signatureAlgorithmNames } from "./oids";

export const DAY_MS = 86_400_000;

export interface PublicKeyInfo {
  /** "rsa", "rsa-pss", "ec", "ed25519", ... as Node names it. */
  readonly type: string;
  /** Modulus length for RSA, curve size for EC; null where it does not apply. */
  readonly bits: number | null;
  readonly curve: string | null;
}

/** The facts rdpcert reports and decides on, for one certificate. */
export interface CertificateInfo {
  readonly subject: string;
  readonly issuer: string;
  /** DNS names and IP addresses from subjectAltName, e.g. "DNS:host", "IP:127.0.0.1". */
  readonly subjectAltNames: readonly string[];
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-1 of the DER certificate, 40 upper-case hex: the Windows thumbprint. */
  readonly thumbprint: string;
  /** SHA-256 of the DER certificate, 64 upper-case hex. */
  readonly sha256: string;
  /** Issuer equals subject and the signature verifies with the certificate's own key. */
  readonly selfSigned: boolean;
  readonly publicKey: PublicKeyInfo;
  readonly signatureAlgorithm: string;
  /** Names where known, dotted OIDs otherwise; empty when the extension is absent. */
  readonly extendedKeyUsage: readonly string[];
  /** KeyUsage bit names; empty when the extension is absent. */
  readonly keyUsage: readonly string[];
}

export function thumbprintOf(der: Uint8Array): string {
  return createHash("sha1").update(der).digest("hex").toUpperCase();
}

/** Accepts "AB:CD...", "ab cd ...", or plain hex; returns the Windows form. */
export function normalizeThumbprint(text: string): string {
  return text.replace(/[\s:]/g, "").toUpperCase();
}

/** Throws (a bug or a corrupt certificate) when DER does not parse; callers turn it into an outcome. */
export function describeCertificate(der: Uint8Array, parsed?: X509Certificate): CertificateInfo {
  // The prober passes the certificate TLS already parsed: parsing it twice cost a fleet scan 0.2 ms per listener.
  const x509 = parsed ?? new X509Certificate(der);
  const notBefore = validityTime(x509.validFrom, "notBefore");
  const notAfter = validityTime(x509.validTo, "notAfter");
  const { signatureAlgorithm, keyUsage, publicKey: fromDer } = readTbsFacts(der);
  const subject = x509.subject;
  const issuer = x509.issuer;
  // Each read of x509.publicKey builds a new KeyObject, and its asymmetricKeyDetails
  // cost a fleet scan 0.05 ms per listener: read only when the DER did not say, or to verify.
  let keyObject: KeyObject | undefined;
  const key = (): KeyObject => (keyObject ??= x509.publicKey);
  return {
    subject: oneLineName(subject),
    issuer: oneLineName(issuer),
    subjectAltNames: splitSubjectAltName(x509.subjectAltName),
    serialNumber: x509.serialNumber.toUpperCase(),
    notBefore,
    notAfter,
    thumbprint: thumbprintOf(der),
    sha256: createHash("sha256").update(der).digest("hex").toUpperCase(),
    selfSigned: subject === issuer && verifiesWithOwnKey(x509, key),
    publicKey: fromDer ?? publicKeyInfo(key()),
    signatureAlgorithm,
    // Node 20's X509Certificate.keyUsage holds the *extended* key usage OIDs.
    extendedKeyUsage: (x509.keyUsage ?? []).map((oid) => extendedKeyUsageNames[oid] ?? oid),
    keyUsage,
  };
}

/** The key as Node describes it: the reference the DER reading below must agree with. */
export function publicKeyInfo(publicKey: KeyObject): PublicKeyInfo {
  const details = publicKey.asymmetricKeyDetails ?? {};
  return {
    type: publicKey.asymmetricKeyType ?? "unknown",
    bits: details.modulusLength ?? curveBits(details.namedCurve) ?? null,
    curve: details.namedCurve ?? null,
  };
}

/** A certificate whose DER parses but whose facts rdpcert cannot trust (e.g. a validity date Node rejects with "Bad time value"). */
export class CertificateParseError extends Error {
  override name = "CertificateParseError";
}

/**
 * OpenSSL prints "Bad time value" for a validity it cannot read (a month 13, a
 * GeneralizedTime without "Z"); an Invalid Date would compare false both ways
 * and read as "valid". Such a certificate is unparseable, never OK.
 */
function validityTime(text: string, field: "notBefore" | "notAfter"): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new CertificateParseError(`its ${field} is not a valid time`);
  return date;
}

function verifiesWithOwnKey(x509: X509Certificate, publicKey: () => KeyObject): boolean {
  try {
    return x509.verify(publicKey());
  } catch {
    return false;
  }
}

/** Node writes names one attribute per line ("CN=a\nO=b"); reports want "CN=a, O=b". */
function oneLineName(name: string): string {
  return name.split("\n").filter(Boolean).join(", ");
}

function splitSubjectAltName(san: string | undefined): string[] {
  if (!san) return [];
  return san
    .split(/,\s*/)
    .map((entry) => entry.replace(/^IP Address:/, "IP:"))
    .filter(Boolean);
}

function curveBits(curve: string | undefined): number | undefined {
  if (!curve) return undefined;
  const match = /(\d{3})/.exec(curve);
  return match ? Number(match[1]) : undefined;
}

interface TbsFacts {
  readonly signatureAlgorithm: string;
  readonly keyUsage: string[];
  /** Null when the key is not one read here (RSA, EC on a named curve, Ed25519, Ed448): Node describes it then. */
  readonly publicKey: PublicKeyInfo | null;
}

function readTbsFacts(raw: Uint8Array): TbsFacts {
  try {
    const cert = readTlv(raw, 0);
    const [tbs, sigAlg] = children(raw, cert);
    if (!tbs || !sigAlg) throw new DerError("certificate is not a SEQUENCE of tbs, algorithm, signature");
    const algOid = children(raw, sigAlg)[0];
    if (!algOid) throw new DerError("empty signature AlgorithmIdentifier");
    const oid = decodeOid(raw, algOid);
    const fields = children(raw, tbs);
    return { signatureAlgorithm: signatureAlgorithmNames[oid] ?? oid, keyUsage: readKeyUsage(raw, fields) ?? [], publicKey: readPublicKey(raw, fields) };
  } catch (error) {
    if (error instanceof DerError) return { signatureAlgorithm: "unknown", keyUsage: [], publicKey: null };
    throw error;
  }
}

/** Node's names for the named curves a listener key is on (OpenSSL short names). */
const CURVE_NAMES: Readonly<Record<string, string>> = {
  "1.2.840.10045.3.1.7": "prime256v1",
  "1.3.132.0.34": "secp384r1",
  "1.3.132.0.35": "secp521r1",
  "1.3.132.0.10": "secp256k1",
};

/**
 * SubjectPublicKeyInfo (RFC 5280 4.1.2.7) read as Node's KeyObject describes it:
 * RSA (RFC 8017 A.1.1: the modulus' bit length), EC on a named curve (RFC 5480),
 * Ed25519 and Ed448 (RFC 8410). Anything else, or anything odd, is null.
 */
function readPublicKey(raw: Uint8Array, tbsFields: readonly Tlv[]): PublicKeyInfo | null {
  try {
    const spki = tbsFields[tbsFields[0]?.tag === 0xa0 ? 6 : 5];
    if (spki?.tag !== 0x30) return null;
    const [algorithm, bits] = children(raw, spki);
    if (algorithm?.tag !== 0x30 || bits?.tag !== 0x03) return null;
    const [algOid, parameters] = children(raw, algorithm);
    if (!algOid) return null;
    const oid = decodeOid(raw, algOid);
    if (oid === "1.3.101.112") return { type: "ed25519", bits: null, curve: null };
    if (oid === "1.3.101.113") return { type: "ed448", bits: null, curve: null };
    if (oid === "1.2.840.10045.2.1") {
      const curve = parameters?.tag === 0x06 ? CURVE_NAMES[decodeOid(raw, parameters)] : undefined;
      return curve ? { type: "ec", bits: curveBits(curve) ?? null, curve } : null;
    }
    if (oid !== "1.2.840.113549.1.1.1" || raw[bits.start] !== 0) return null;
    const rsaKey = readTlv(raw, bits.start + 1, bits.end);
    const modulus = rsaKey.tag === 0x30 ? children(raw, rsaKey)[0] : undefined;
    if (modulus?.tag !== 0x02) return null;
    let first = modulus.start;
    while (first < modulus.end && raw[first] === 0) first++;
    if (first === modulus.end) return null;
    return { type: "rsa", bits: (modulus.end - first - 1) * 8 + (32 - Math.clz32(raw[first]!)), curve: null };
  } catch (error) {
    if (error instanceof DerError) return null;
    throw error;
  }
}

/**
 * The KeyUsage extension's bits by name (RFC 5280 4.2.1.3), read in this one place: `describeCertificate`
 * (reports, probe) and deploy's checks (core/deploy-input.ts) both use it. Null when the certificate has no
 * KeyUsage extension (every usage allowed); [] when it has one with no bit set or one that does not parse.
 */
export function keyUsageOf(der: Uint8Array): string[] | null {
  try {
    const cert = readTlv(der, 0);
    const [tbs] = children(der, cert);
    if (!tbs) return null;
    return readKeyUsage(der, children(der, tbs));
  } catch (error) {
    if (error instanceof DerError) return null;
    throw error;
  }
}

function readKeyUsage(raw: Uint8Array, tbsFields: readonly Tlv[]): string[] | null {
  const extensionsWrapper = tbsFields.find((tlv) => tlv.tag === 0xa3);
  if (!extensionsWrapper) return null;
  const [extensions] = children(raw, extensionsWrapper);
  if (!extensions) return null;
  for (const extension of children(raw, extensions)) {
    const parts = children(raw, extension);
    const [oidTlv] = parts;
    const value = parts[parts.length - 1];
    if (!oidTlv || !value || decodeOid(raw, oidTlv) !== OID_KEY_USAGE) continue;
    let bitString: Tlv;
    try {
      bitString = readTlv(raw, value.start, value.end);
    } catch (error) {
      if (error instanceof DerError) return [];
      throw error;
    }
    if (bitString.tag !== 0x03 || bitString.end - bitString.start < 1) return [];
    const names: string[] = [];
    for (let i = 0; i < keyUsageBitNames.length; i++) {
      const at = bitString.start + 1 + (i >> 3);
      const byte = at < bitString.end ? raw[at] : undefined;
      if (byte !== undefined && (byte & (0x80 >> (i & 7))) !== 0) names.push(keyUsageBitNames[i]!);
    }
    return names;
  }
  return null;
}
