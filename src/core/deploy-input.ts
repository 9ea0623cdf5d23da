import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { isIP } from "node:net";
import type * as Forge from "node-forge";
import type * as Pkijs from "pkijs";
import { thumbprintOf } from "./certificate";

/**
 * `rdpcert deploy`'s checks, before anything changes (issue 13): the key
 * belongs to the certificate, the certificate is valid now, its EKU allows
 * server authentication (or Remote Desktop Authentication), its key is RSA
 * 2048+ or EC P-256+, the host's names are among its names (a warning), and
 * for xrdp the chain is complete. Pure: the caller reads the files. Messages
 * name certificates by subject and thumbprint and never quote file contents.
 */

/** What was read from the files or the PFX, before any check. */
export interface DeployMaterial {
  /** For plans and logs: "--cert /path", "certbot lineage /etc/letsencrypt/live/x". */
  readonly origin: string;
  /** DER, in the order given (certificate file first, then --chain). */
  readonly certificates: readonly Buffer[];
  /** The key as given (PEM of any kind); null when the host holds it (Windows --thumbprint). */
  readonly keyPem: string | null;
}

export interface CheckOptions {
  readonly now: Date;
  /** The host's names (FQDN first): a certificate without them is a warning, not a refusal. */
  readonly hostNames: readonly string[];
  /** xrdp serves exactly the chain it is given: it must reach a CA that clients hold. */
  readonly requireCompleteChain: boolean;
  /** PEM roots that clients are assumed to hold (Node's tls.rootCertificates by default in the app layer). */
  readonly roots: readonly string[];
}

/**
 * A CA-issued certificate to deploy, checked by checkMaterial (or listed by a
 * Windows host from LocalMachine\\My): the shape the host contract takes
 * (hosts/host-backend re-exports it). The private key never appears in a plan,
 * a log or an error: only the thumbprint, names and origin do.
 */
export interface SuppliedCertificate {
  /** Where it came from, for plans and logs: "--pfx /path", "certbot lineage /etc/letsencrypt/live/x", "LocalMachine\\My\\<thumbprint>". */
  readonly origin: string;
  /** DER, leaf first, then the intermediates in order (a root, if given, last). For a Windows store certificate: [leaf]. */
  readonly chain: readonly Buffer[];
  /** The private key as PKCS#8 PEM; null when the host already holds it (Windows --thumbprint). */
  readonly keyPem: string | null;
  /** The leaf's SHA-1, 40 upper-case hex (the Windows thumbprint). */
  readonly thumbprint: string;
  /** The leaf's DNS names and IP addresses ("DNS:host", "IP:10.0.0.1"). */
  readonly names: readonly string[];
  readonly notAfter: Date;
}

export type CheckOutcome =
  | { readonly ok: true; readonly certificate: SuppliedCertificate; readonly subject: string; readonly issuer: string; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly reason: string; readonly fix: string };

export const OID_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
/** Remote Desktop Authentication, which RDS prefers (DOMAIN.md, "Deploying CA-issued certificates"). */
export const OID_REMOTE_DESKTOP_AUTH = "1.3.6.1.4.1.311.54.1.2";
const OID_ANY_EKU = "2.5.29.37.0";
const OID_EKU = "2.5.29.37";
const OID_BASIC_CONSTRAINTS = "2.5.29.19";
const OID_KEY_USAGE = "2.5.29.15";
const STRONG_CURVES = new Set(["prime256v1", "secp384r1", "secp521r1"]);

export class DeployInputError extends Error {
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

/** Every CERTIFICATE block of a PEM text, as DER. */
export function pemCertificates(text: string): Buffer[] {
  const out: Buffer[] = [];
  for (const match of text.matchAll(/-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END (?:X509 |TRUSTED )?CERTIFICATE-----/g)) {
    out.push(Buffer.from(match[1]!.replace(/\s+/g, ""), "base64"));
  }
  return out;
}

/** The first private key block of a PEM text, or null. */
export function pemPrivateKey(text: string): string | null {
  const match = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[A-Za-z0-9+/=\s:,-]*?-----END \1-----/.exec(text);
  return match ? match[0] : null;
}

/**
 * A PKCS#12 file (`--pfx`) as certificates and a PKCS#8 key, with node-forge.
 * A wrong password and a file that is not PKCS#12 are told apart; neither message quotes the file.
 */
export function readPfx(data: Buffer, password: string, origin: string): DeployMaterial {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const forge = require("node-forge") as typeof Forge;
  let asn1: Forge.asn1.Asn1;
  try {
    asn1 = forge.asn1.fromDer(forge.util.createBuffer(data.toString("binary")));
  } catch {
    throw new DeployInputError(`${origin} is not a PKCS#12 (PFX) file`, "export the certificate with its private key as a .pfx/.p12 file");
  }
  let p12: Forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, password);
  } catch (error) {
    const text = (error as Error).message ?? "";
    if (/password|MAC/i.test(text)) throw new DeployInputError(`${origin}: the PFX password is wrong`, "give the password in --pfx-password-file FILE, or on standard input");
    throw new DeployInputError(`${origin} cannot be read as PKCS#12 (${text.split("\n")[0]})`, "export it again with AES-256 or 3DES (openssl pkcs12 -export, or Export-PfxCertificate)");
  }
  const certificates: Buffer[] = [];
  for (const bag of p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? []) {
    if (bag.cert) certificates.push(Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(bag.cert)).getBytes(), "binary"));
    else if (bag.asn1) certificates.push(Buffer.from(forge.asn1.toDer(bag.asn1).getBytes(), "binary"));
  }
  const keyBags = [...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ?? []), ...(p12.getBags({ bagType: forge.pki.oids.keyBag! })[forge.pki.oids.keyBag!] ?? [])];
  let keyPem: string | null = null;
  for (const bag of keyBags) {
    if (bag.key) {
      keyPem = forge.pki.privateKeyInfoToPem(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key)));
      break;
    }
    if (bag.asn1) {
      // forge parses RSA keys only: an EC key stays as its PrivateKeyInfo, which Node reads.
      keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(forge.asn1.toDer(bag.asn1).getBytes(), "binary").toString("base64").replace(/.{1,64}/g, "$&\n")}-----END PRIVATE KEY-----\n`;
      break;
    }
  }
  if (keyPem === null) throw new DeployInputError(`${origin} holds no private key`, "export the certificate with its private key");
  return { origin, certificates, keyPem };
}

interface Parsed {
  readonly der: Buffer;
  readonly x509: X509Certificate;
  readonly pkijs: Pkijs.Certificate;
}

function parse(der: Buffer, index: number, origin: string): Parsed {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkijs = require("pkijs") as typeof Pkijs;
  try {
    return { der, x509: new X509Certificate(der), pkijs: pkijs.Certificate.fromBER(der) };
  } catch {
    throw new DeployInputError(`certificate ${index + 1} in ${origin} does not parse (SHA-1 ${thumbprintOf(der)})`, "give the certificate as PEM or DER X.509");
  }
}

function extension(cert: Parsed, oid: string): Pkijs.Extension | undefined {
  return cert.pkijs.extensions?.find((e) => e.extnID === oid);
}

/** The EKU's purposes, or null when the certificate has no EKU (then every purpose is allowed: RFC 5280 4.2.1.12). */
function extendedKeyUsage(cert: Parsed): readonly string[] | null {
  const ext = extension(cert, OID_EKU);
  if (!ext) return null;
  const parsed = ext.parsedValue as Pkijs.ExtKeyUsage | undefined;
  return parsed?.keyPurposes ?? [];
}

function isCa(cert: Parsed): boolean {
  const parsed = extension(cert, OID_BASIC_CONSTRAINTS)?.parsedValue as Pkijs.BasicConstraints | undefined;
  return parsed?.cA === true;
}

/** KeyUsage bits (RFC 5280 4.2.1.3): 0 digitalSignature, 2 keyEncipherment. Null when absent. */
function keyUsageBits(cert: Parsed): { digitalSignature: boolean; keyEncipherment: boolean } | null {
  const ext = extension(cert, OID_KEY_USAGE);
  if (!ext) return null;
  const bits = (ext.parsedValue as { valueBlock?: { valueHexView?: Uint8Array } } | undefined)?.valueBlock?.valueHexView;
  const first = bits?.[0] ?? 0;
  return { digitalSignature: (first & 0x80) !== 0, keyEncipherment: (first & 0x20) !== 0 };
}

const label = (cert: Parsed): string => `${cert.x509.subject.replace(/\n/g, ", ") || "(no subject)"} (SHA-1 ${thumbprintOf(cert.der)})`;

function issues(child: Parsed, parent: Parsed): boolean {
  try {
    return child.x509.checkIssued(parent.x509) && child.x509.verify(parent.x509.publicKey);
  } catch {
    return false;
  }
}

function selfSigned(cert: Parsed): boolean {
  return issues(cert, cert);
}

/** The leaf's DNS names and IPs ("DNS:x", "IP:y"); its CN when it has no subjectAltName. */
function namesOf(cert: Parsed): string[] {
  const san = cert.x509.subjectAltName;
  if (san) {
    return san
      .split(/,\s*/)
      .filter((n) => n.startsWith("DNS:") || n.startsWith("IP Address:"))
      .map((n) => (n.startsWith("IP Address:") ? `IP:${n.slice("IP Address:".length)}` : n));
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.x509.subject)?.[1];
  return cn ? [isIP(cn) ? `IP:${cn}` : `DNS:${cn}`] : [];
}

function nameMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, "");
  const h = host.toLowerCase().replace(/\.$/, "");
  if (p === h) return true;
  // RFC 6125 6.4.3: a wildcard matches one leftmost label only.
  return p.startsWith("*.") && h.includes(".") && h.slice(h.indexOf(".") + 1) === p.slice(2) && !h.startsWith(".");
}

/** Leaf first, each certificate followed by its issuer; certificates that are not on the path are left out (a warning). */
function orderChain(leaf: Parsed, others: readonly Parsed[]): { chain: Parsed[]; unused: Parsed[] } {
  const chain = [leaf];
  const rest = [...others];
  for (;;) {
    const last = chain[chain.length - 1]!;
    if (selfSigned(last)) break;
    const at = rest.findIndex((candidate) => issues(last, candidate));
    if (at < 0) break;
    chain.push(rest.splice(at, 1)[0]!);
  }
  return { chain, unused: rest };
}

function keyMatches(keyPem: string, cert: Parsed): boolean {
  try {
    const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: "spki", format: "der" });
    return fromKey.equals(cert.x509.publicKey.export({ type: "spki", format: "der" }));
  } catch {
    // A key type Node cannot export: not this certificate's key as far as deploy can tell.
    return false;
  }
}

/** The key as PKCS#8 PEM, or a refusal that never quotes it. */
function normalizeKey(keyPem: string, origin: string): string {
  try {
    return createPrivateKey(keyPem).export({ type: "pkcs8", format: "pem" }).toString();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_MISSING_PASSPHRASE" || /ENCRYPTED/.test(keyPem.slice(0, 64))) {
      throw new DeployInputError(`the private key in ${origin} is encrypted`, "give the key unencrypted in a file only root can read (openssl pkey -in KEY -out KEY.plain), or a PFX with its password");
    }
    throw new DeployInputError(`the private key in ${origin} cannot be read`, "give a PEM private key (PKCS#8, PKCS#1 or SEC1)");
  }
}

/** All of deploy's checks on the leaf, the key and the chain; the first failure is the refusal. */
export function checkMaterial(material: DeployMaterial, options: CheckOptions): CheckOutcome {
  try {
    return check(material, options);
  } catch (error) {
    if (error instanceof DeployInputError) return { ok: false, reason: error.message, fix: error.fix };
    throw error;
  }
}

function check(material: DeployMaterial, options: CheckOptions): CheckOutcome {
  const { origin } = material;
  if (material.certificates.length === 0) throw new DeployInputError(`${origin} holds no certificate`, "give the certificate as PEM (-----BEGIN CERTIFICATE-----)");
  const parsed = material.certificates.map((der, i) => parse(der, i, origin));
  const keyPem = material.keyPem === null ? null : normalizeKey(material.keyPem, origin);
  // The leaf is the certificate the key belongs to; without a key (a store certificate) it is the first one.
  let leaf = parsed[0]!;
  if (keyPem !== null) {
    const owner = parsed.find((cert) => keyMatches(keyPem, cert));
    if (!owner) {
      throw new DeployInputError(
        `the private key does not belong to the certificate ${label(parsed[0]!)}${parsed.length > 1 ? ` (nor to any of the ${parsed.length} certificates given)` : ""}`,
        "give the key that was generated with this certificate's request (certbot: privkey.pem of the same lineage)",
      );
    }
    leaf = owner;
  }
  const warnings: string[] = [];
  const t = options.now.getTime();
  const notBefore = new Date(leaf.x509.validFrom);
  const notAfter = new Date(leaf.x509.validTo);
  if (t > notAfter.getTime()) throw new DeployInputError(`the certificate ${label(leaf)} expired on ${notAfter.toISOString()}`, "renew it with its CA and deploy the new one");
  if (t < notBefore.getTime()) throw new DeployInputError(`the certificate ${label(leaf)} is not valid until ${notBefore.toISOString()}`, "check this host's clock, or deploy it once it is valid");
  if (leaf.x509.ca || isCa(leaf)) throw new DeployInputError(`the certificate ${label(leaf)} is a CA certificate, not a server certificate`, "deploy the server certificate that the CA issued, with its key");
  const eku = extendedKeyUsage(leaf);
  if (eku !== null && !eku.some((p) => p === OID_SERVER_AUTH || p === OID_REMOTE_DESKTOP_AUTH || p === OID_ANY_EKU)) {
    throw new DeployInputError(
      `the certificate ${label(leaf)} is not for server authentication (its extended key usage is ${eku.join(", ") || "empty"})`,
      `request one with the EKU Server Authentication (${OID_SERVER_AUTH}) or Remote Desktop Authentication (${OID_REMOTE_DESKTOP_AUTH})`,
    );
  }
  const usage = keyUsageBits(leaf);
  if (usage && !usage.digitalSignature && !usage.keyEncipherment) {
    throw new DeployInputError(`the certificate ${label(leaf)} has a key usage that allows neither digitalSignature nor keyEncipherment: no TLS handshake can use it`, "request a TLS server certificate");
  }
  const key = leaf.x509.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === "rsa") {
    if ((details.modulusLength ?? 0) < 2048) throw new DeployInputError(`the certificate's RSA key has ${details.modulusLength ?? "?"} bits; RDP clients need 2048 or more`, "request a certificate with an RSA 2048+ or EC P-256+ key");
  } else if (key.asymmetricKeyType === "ec") {
    if (!STRONG_CURVES.has(details.namedCurve ?? "")) throw new DeployInputError(`the certificate's EC key is on ${details.namedCurve ?? "an unknown curve"}; use P-256, P-384 or P-521`, "request a certificate with an RSA 2048+ or EC P-256+ key");
  } else {
    throw new DeployInputError(`the certificate's ${key.asymmetricKeyType ?? "unknown"} key is not one that RDP clients accept`, "request a certificate with an RSA 2048+ or EC P-256+ key");
  }
  const names = namesOf(leaf);
  const host = options.hostNames.filter((n) => n !== "localhost");
  if (host.length && !host.some((h) => names.some((n) => (isIP(h) ? n === `IP:${h}` : n.startsWith("DNS:") && nameMatches(n.slice(4), h))))) {
    warnings.push(`the certificate names ${names.join(", ") || "nothing"}, and this host is ${host.join(", ")}: clients that connect by the host's name will warn`);
  }
  const { chain, unused } = orderChain(leaf, parsed.filter((c) => c !== leaf));
  if (unused.length) warnings.push(`${unused.length} certificate${unused.length === 1 ? " is" : "s are"} not on the leaf's chain and ${unused.length === 1 ? "is" : "are"} left out: ${unused.map(label).join("; ")}`);
  if (options.requireCompleteChain) {
    const last = chain[chain.length - 1]!;
    const anchored = selfSigned(last) || (last !== leaf && isCa(last)) || options.roots.some((pem) => rootIssues(last, pem));
    if (!anchored) {
      throw new DeployInputError(
        `the chain is incomplete: the issuer of ${label(last)} (${last.x509.issuer.replace(/\n/g, ", ")}) is not given, and xrdp sends clients only what it is given`,
        "give the full chain: certbot's fullchain.pem, --chain FILE with the intermediate certificates, or a PFX that includes them",
      );
    }
  }
  return {
    ok: true,
    certificate: { origin, chain: chain.map((c) => c.der), keyPem, thumbprint: thumbprintOf(leaf.der), names, notAfter },
    subject: leaf.x509.subject.replace(/\n/g, ", "),
    issuer: leaf.x509.issuer.replace(/\n/g, ", "),
    warnings,
  };
}

function rootIssues(cert: Parsed, rootPem: string): boolean {
  try {
    const root = new X509Certificate(rootPem);
    return cert.x509.checkIssued(root) && cert.x509.verify(root.publicKey);
  } catch {
    return false;
  }
}
