import { createHash } from "node:crypto";
import { describeCertificate } from "./certificate";
import { DerError, type Tlv, children, decodeOid, readTlv } from "./der";

/**
 * What clients need to pin one listener's certificate (issue 25), in the forms
 * each client stores or takes. Pure: the same certificate, listener and time
 * give the same bundle, byte for byte.
 *
 * Sources of the formats (read at FreeRDP tags 2.11.7, the version Debian 12
 * ships, and 3.19.1):
 * - FreeRDP 2 `known_hosts2`: libfreerdp/crypto/certificate.c
 *   certificate_data_print() writes `"%s %u %s %s %s\n"` of hostname (lower-cased
 *   by certificate_data_new()), port, fingerprint, subject, issuer, the last two
 *   base64 (crypto_base64_encode, no line breaks) of the names as
 *   crypto.c crypto_print_name() renders them: X509_NAME_print_ex(...,
 *   XN_FLAG_ONELINE). The fingerprint is crypto_cert_fingerprint(): SHA-256,
 *   lower-case hex pairs joined by ":" (crypto_cert_fingerprint_by_hash(),
 *   "%02x:"). certificate_data_match_raw() compares host, port and the
 *   fingerprint with strcmp, so only those three decide; the names are shown
 *   to the user. crypto_get_certificate_data() passes issuer and subject to
 *   certificate_data_new(hostname, port, subject, issuer, fp) in swapped order,
 *   so the lines FreeRDP 2 writes carry the issuer in the subject column: the
 *   line here is the one FreeRDP 2 itself writes (identical for self-signed
 *   certificates, where the two names are equal).
 * - FreeRDP 3: libfreerdp/crypto/certificate_store.c saves
 *   `<ConfigPath>/server/<hash>` with the certificate's PEM (no chain);
 *   certificate_data.c freerdp_certificate_data_hash_() names it
 *   `"%s_%u.pem"` of host and port, ':' -> '.', '/' and '\' -> '_', lower-cased.
 *   freerdp_certificate_data_equal() compares host, port and the SHA-256
 *   fingerprint.
 * - `/cert:fingerprint:sha256:...`: FreeRDP 2 tls.c is_accepted_fingerprint()
 *   compares the colon form case-insensitively (_stricmp).
 * - mstsc: `HKCU\Software\Microsoft\Terminal Server Client\Servers\<host>`,
 *   value `CertHash`, REG_BINARY, the 20 bytes of the certificate's SHA-1.
 *   Microsoft does not document the value (docs/client-trust.md says what is
 *   unverified); the .reg syntax is Microsoft's (KB 310516: "Windows Registry
 *   Editor Version 5.00", `"name"=hex:..`).
 */
export interface PinBundle {
  readonly schema: 1;
  readonly listener: { readonly host: string; readonly port: number };
  readonly createdAt: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly sha1: { readonly hex: string; readonly colon: string; readonly thumbprint: string };
  readonly sha256: { readonly hex: string; readonly colon: string; readonly freerdp: string };
  /** One line, no line break: `HOST PORT sha256-colon base64(name) base64(name)`. */
  readonly freerdp2KnownHosts2: string;
  /** `path` is relative to FreeRDP's config dir (`$XDG_CONFIG_HOME/freerdp`). */
  readonly freerdp3ServerPem: { readonly path: string; readonly content: string };
  /** The registry key mstsc keeps the pin under. */
  readonly mstscServerKey: string;
  /** A .reg file's text (CRLF line ends); written as UTF-16LE with a BOM, as regedit exports. */
  readonly mstscReg: string;
  readonly certificatePem: string;
}

export const RDP_DEFAULT_PORT = 3389;

/** The bundle written after a verified change (rotate, deploy, run), or why none was. */
export type PinsPublished =
  { readonly written: true; readonly path: string; readonly bundle: PinBundle } | { readonly written: false; readonly reason: string };

export const MSTSC_SERVERS_KEY = "HKEY_CURRENT_USER\\Software\\Microsoft\\Terminal Server Client\\Servers";

/** Throws CertificateParseError / Error for PEM that holds no certificate: callers turn it into an outcome. */
export function makePinBundle(certPem: string, host: string, port: number, now: Date): PinBundle {
  const der = firstCertificateDer(certPem);
  const info = describeCertificate(der);
  const sha1 = info.thumbprint;
  const sha256 = info.sha256;
  const sha256Colon = colonHex(sha256);
  const names = certificateNames(der);
  const knownHost = host.toLowerCase();
  const mstscServerKey = mstscServerName(host, port);
  return {
    schema: 1,
    listener: { host, port },
    createdAt: now.toISOString(),
    notBefore: info.notBefore.toISOString(),
    notAfter: info.notAfter.toISOString(),
    sha1: { hex: sha1.toLowerCase(), colon: colonHex(sha1), thumbprint: sha1 },
    sha256: { hex: sha256.toLowerCase(), colon: sha256Colon, freerdp: `/cert:fingerprint:sha256:${sha256Colon}` },
    // Column order as FreeRDP 2 writes it (see above): issuer's rendering, then the subject's.
    freerdp2KnownHosts2: `${knownHost} ${port} ${sha256Colon} ${base64Text(names.issuer)} ${base64Text(names.subject)}`,
    freerdp3ServerPem: { path: `server/${freerdp3FileName(host, port)}`, content: pemOf(der) },
    mstscServerKey,
    mstscReg: mstscRegText(mstscServerKey, sha1),
    certificatePem: pemOf(der),
  };
}

/** FreeRDP 3's file name for a listener (certificate_data.c freerdp_certificate_data_hash_()). */
export function freerdp3FileName(host: string, port: number): string {
  return `${host}_${port}.pem`.replace(/:/g, ".").replace(/[/\\]/g, "_").toLowerCase();
}

/**
 * The name under `Servers\` mstsc keys a pin by: the host as typed, with
 * `:port` when not 3389 (how mstsc shows a non-default port in its history;
 * unverified on a real client, docs/client-trust.md).
 */
export function mstscServerName(host: string, port: number): string {
  return port === RDP_DEFAULT_PORT ? host : `${host}:${port}`;
}

/** `Windows Registry Editor Version 5.00` text: one key, `CertHash` as REG_BINARY (hex:), CRLF line ends. */
export function mstscRegText(serverKey: string, sha1Hex: string): string {
  const bytes = sha1Hex.toLowerCase().match(/../g) ?? [];
  // regedit wraps hex: values at 80 columns with a trailing "\"; 20 bytes fit on one line after `"CertHash"=hex:` (74 chars).
  return ["Windows Registry Editor Version 5.00", "", `[${MSTSC_SERVERS_KEY}\\${serverKey}]`, `"CertHash"=hex:${bytes.join(",")}`, ""].join("\r\n") + "\r\n";
}

/** "ABCD..." -> "ab:cd:...": FreeRDP's rendering (lower case, "%02x:"). */
export function colonHex(hex: string): string {
  return (hex.toLowerCase().match(/../g) ?? []).join(":");
}

/** Accepts "AB:CD...", "ab cd", "abcd..." (and FreeRDP's "sha256:" prefix); 64 lower-case hex, or null when it is not a SHA-256. */
export function normalizeSha256(text: string): string | null {
  const plain = text
    .trim()
    .replace(/^sha256:/i, "")
    .replace(/[\s:]/g, "")
    .toLowerCase();
  return /^[0-9a-f]{64}$/.test(plain) ? plain : null;
}

export function sha256OfDer(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}

/** The PEM as OpenSSL's PEM_write_bio_X509 writes it: 64-character lines, LF. */
export function pemOf(der: Uint8Array): string {
  const body =
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${body.join("\n")}\n-----END CERTIFICATE-----\n`;
}

export function firstCertificateDer(pem: string): Buffer {
  const match = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (!match) throw new Error("no certificate in the PEM text");
  return Buffer.from(match[1]!.replace(/\s+/g, ""), "base64");
}

function base64Text(text: string): string {
  return Buffer.from(text, "latin1").toString("base64");
}

/** Subject and issuer as OpenSSL's X509_NAME_print_ex(XN_FLAG_ONELINE) renders them; "" where that fails (FreeRDP then encodes ""). */
export function certificateNames(der: Uint8Array): { subject: string; issuer: string } {
  try {
    const cert = readTlv(der, 0);
    const [tbs] = children(der, cert);
    if (!tbs) throw new DerError("no tbsCertificate");
    const fields = children(der, tbs);
    const at = fields[0]?.tag === 0xa0 ? 1 : 0;
    const issuer = fields[at + 2];
    const subject = fields[at + 4];
    return { subject: subject ? onelineName(der, subject) : "", issuer: issuer ? onelineName(der, issuer) : "" };
  } catch (error) {
    if (error instanceof DerError || error instanceof NameRenderError) return { subject: "", issuer: "" };
    throw error;
  }
}

class NameRenderError extends Error {}

/** OpenSSL's short names (crypto/objects/objects.txt) for the attributes seen in listener certificates. */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  "2.5.4.3": "CN",
  "2.5.4.4": "SN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "street",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.12": "title",
  "2.5.4.13": "description",
  "2.5.4.15": "businessCategory",
  "2.5.4.17": "postalCode",
  "2.5.4.41": "name",
  "2.5.4.42": "GN",
  "2.5.4.43": "initials",
  "2.5.4.44": "generationQualifier",
  "2.5.4.46": "dnQualifier",
  "2.5.4.65": "pseudonym",
  "2.5.4.97": "organizationIdentifier",
  "1.2.840.113549.1.9.1": "emailAddress",
  "0.9.2342.19200300.100.1.1": "UID",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionL",
  "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionST",
  "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC",
};

/**
 * X509_NAME_print_ex with XN_FLAG_ONELINE (OpenSSL crypto/x509/x_name.c,
 * crypto/asn1/a_strex.c): RDNs in DER order joined by ", ", multi-valued RDN
 * parts by " + ", "SN = value"; values converted to UTF-8 (ASN1_STRFLGS_UTF8_CONVERT)
 * and escaped per do_esc_char(): bytes >= 0x80 and control characters as
 * "\XX"; `"` and `\` with a backslash; `, + ; < >`, a leading `#` or space and a
 * trailing space make the value quoted instead (ASN1_STRFLGS_ESC_QUOTE); a value
 * that is not a string type dumped as "#" and the DER in hex.
 */
function onelineName(der: Uint8Array, name: Tlv): string {
  if (name.tag !== 0x30) throw new NameRenderError("Name is not a SEQUENCE");
  const rdns: string[] = [];
  for (const rdn of children(der, name)) {
    if (rdn.tag !== 0x31) throw new NameRenderError("RDN is not a SET");
    const parts: string[] = [];
    for (const attribute of children(der, rdn)) {
      const [oidTlv, value] = children(der, attribute);
      if (!oidTlv || !value) throw new NameRenderError("attribute without type or value");
      const oid = decodeOid(der, oidTlv);
      parts.push(`${SHORT_NAMES[oid] ?? oid} = ${renderValue(der, value)}`);
    }
    rdns.push(parts.join(" + "));
  }
  return rdns.join(", ");
}

/** a_strex.c tag2nbyte: bytes per character of the string types; absent = not a string (dumped). */
const CHAR_WIDTH: Readonly<Record<number, number>> = {
  0x0c: 0, // UTF8String: UTF-8
  0x12: 1, // NumericString
  0x13: 1, // PrintableString
  0x14: 1, // T61String
  0x15: 1, // VideotexString
  0x16: 1, // IA5String
  0x17: 1, // UTCTime
  0x18: 1, // GeneralizedTime
  0x19: 1, // GraphicString
  0x1a: 1, // VisibleString
  0x1b: 1, // GeneralString
  0x1c: 4, // UniversalString
  0x1e: 2, // BMPString
};

function renderValue(der: Uint8Array, value: Tlv): string {
  const width = CHAR_WIDTH[value.tag];
  const content = der.subarray(value.start, value.end);
  if (width === undefined) {
    // ASN1_STRFLGS_DUMP_UNKNOWN | DUMP_DER: "#" and the whole TLV in upper-case hex.
    const headerStart = findHeaderStart(der, value);
    return `#${Buffer.from(der.subarray(headerStart, value.end)).toString("hex").toUpperCase()}`;
  }
  const codePoints = decodeCodePoints(content, width);
  const utf8 = Buffer.from(String.fromCodePoint(...codePoints), "utf8");
  let quote = false;
  let out = "";
  for (let i = 0; i < utf8.length; i++) {
    const byte = utf8[i]!;
    const first = i === 0;
    const last = i === utf8.length - 1;
    if (byte >= 0x80 || byte < 0x20 || byte === 0x7f) {
      out += `\\${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    } else if (byte === 0x22 || byte === 0x5c) {
      out += `\\${String.fromCharCode(byte)}`;
    } else if (",+;<>".includes(String.fromCharCode(byte)) || (first && (byte === 0x20 || byte === 0x23)) || (last && byte === 0x20)) {
      quote = true;
      out += String.fromCharCode(byte);
    } else {
      out += String.fromCharCode(byte);
    }
  }
  return quote ? `"${out}"` : out;
}

function decodeCodePoints(content: Uint8Array, width: number): number[] {
  if (width === 1) return Array.from(content);
  if (width === 0) {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    try {
      return Array.from(text.decode(content), (ch) => ch.codePointAt(0)!);
    } catch {
      throw new NameRenderError("invalid UTF-8");
    }
  }
  if (content.length % width !== 0) throw new NameRenderError("string length is not a multiple of its character width");
  const points: number[] = [];
  for (let i = 0; i < content.length; i += width) {
    let point = 0;
    for (let j = 0; j < width; j++) point = point * 256 + content[i + j]!;
    if (point > 0x10ffff) throw new NameRenderError("character out of range");
    points.push(point);
  }
  return points;
}

/** The offset of a TLV's tag byte, from its content start (the header is 2 to 6 bytes). */
function findHeaderStart(der: Uint8Array, value: Tlv): number {
  for (let start = value.start - 2; start >= Math.max(0, value.start - 6); start--) {
    try {
      const tlv = readTlv(der, start, value.end);
      if (tlv.start === value.start && tlv.end === value.end && tlv.tag === value.tag) return start;
    } catch {
      // Not a header at this offset.
    }
  }
  return value.start;
}
