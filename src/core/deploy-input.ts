import { X509Certificate, createPrivateKey, createPublicKey, pbkdf2Sync } from "node:crypto";
import { isIP } from "node:net";
import type * as Forge from "node-forge";
import type * as Pkijs from "pkijs";
import { keyUsageOf, thumbprintOf } from "./certificate";

/**
 * `rdpcert deploy`'s checks, before anything changes: the key
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
/** Remote Desktop Authentication, the EKU RDS prefers (Server Authentication is accepted too). */
export const OID_REMOTE_DESKTOP_AUTH = "1.3.6.1.4.1.311.54.1.2";
const OID_ANY_EKU = "2.5.29.37.0";
const OID_EKU = "2.5.29.37";
const OID_BASIC_CONSTRAINTS = "2.5.29.19";
const STRONG_CURVES = new Set(["prime256v1", "secp384r1", "secp521r1"]);

/**
 * The most certificates deploy accepts (leaf included). A real chain is two to
 * four (leaf, one or two intermediates, perhaps a root or a cross-sign); more
 * is a CA bundle given by mistake, which xrdp would send whole in every
 * handshake, or a hostile file. The bound also bounds the work of ordering.
 */
export const MAX_CERTIFICATES = 10;

export class DeployInputError extends Error {
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

/** One `-----BEGIN LABEL-----` ... `-----END LABEL-----` block: where it starts and ends, its label and body. */
interface PemBlock {
  readonly label: string;
  readonly start: number;
  readonly end: number;
  readonly body: string;
}

/** A PEM label is short (RFC 7468: "ENCRYPTED PRIVATE KEY" is among the longest); anything longer is not one. */
const MAX_PEM_LABEL = 64;

/**
 * Every PEM block of a text, in one linear pass (no backtracking regular
 * expression: a megabyte of BEGIN lines without an END must not take
 * quadratic time). A BEGIN counts when the next marker is the END of the same
 * label; anything else between is skipped.
 */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let open: { label: string; start: number; bodyStart: number } | null = null;
  let pos = 0;
  for (;;) {
    const at = text.indexOf("-----", pos);
    if (at === -1) break;
    const kind = text.startsWith("BEGIN ", at + 5) ? "BEGIN" : text.startsWith("END ", at + 5) ? "END" : null;
    if (kind === null) {
      pos = at + 1;
      continue;
    }
    const labelStart = at + 5 + kind.length + 1;
    const close = text.indexOf("-----", labelStart);
    if (close === -1 || close - labelStart > MAX_PEM_LABEL) {
      pos = labelStart;
      continue;
    }
    const label = text.slice(labelStart, close);
    const after = close + 5;
    if (kind === "BEGIN") {
      open = { label, start: at, bodyStart: after };
    } else if (open && open.label === label) {
      blocks.push({ label, start: open.start, end: after, body: text.slice(open.bodyStart, at) });
      open = null;
    } else {
      open = null;
    }
    pos = after;
  }
  return blocks;
}

const CERTIFICATE_LABELS = new Set(["CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"]);
const PRIVATE_KEY_LABELS = new Set(["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"]);
const BASE64_BODY = /^[A-Za-z0-9+/=\s]*$/;
/** Base64, and the Proc-Type / DEK-Info headers of an encrypted PKCS#1 key. */
const KEY_BODY = /^[A-Za-z0-9+/=\s:,-]*$/;

/** Every CERTIFICATE block of a PEM text, as DER. */
export function pemCertificates(text: string): Buffer[] {
  return pemBlocks(text)
    .filter((block) => CERTIFICATE_LABELS.has(block.label) && BASE64_BODY.test(block.body))
    .map((block) => Buffer.from(block.body.replace(/\s+/g, ""), "base64"));
}

/** The first private key block of a PEM text, or null. */
export function pemPrivateKey(text: string): string | null {
  const block = pemBlocks(text).find((b) => PRIVATE_KEY_LABELS.has(b.label) && KEY_BODY.test(b.body));
  return block ? text.slice(block.start, block.end) : null;
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
  // Before any key is derived: the MAC's and every visible encryption's iteration count.
  const counts = pfxIterationCounts(forge, asn1);
  const worst = Math.max(counts.mac, ...counts.encryption);
  if (!(worst <= MAX_PFX_ITERATIONS)) throw tooManyIterations(origin, worst, counts.mac === worst ? "its integrity MAC" : "its encryption");
  const visible = counts.mac + counts.encryption.reduce((a, b) => a + b, 0);
  if (visible > MAX_PFX_TOTAL_ITERATIONS) throw tooMuchWork(origin, visible);
  let p12: Forge.pkcs12.Pkcs12Pfx;
  try {
    // Bags encrypted inside an encrypted bag show their counts only once the outer one is decrypted: the derivations refuse them too.
    p12 = withIterationLimit(forge, () => forge.pkcs12.pkcs12FromAsn1(asn1, false, password));
  } catch (error) {
    if (error instanceof IterationLimit) throw error.total ? tooMuchWork(origin, error.count) : tooManyIterations(origin, error.count, "an encrypted bag");
    const text = (error as Error).message ?? "";
    if (/password|MAC/i.test(text))
      throw new DeployInputError(`${origin}: the PFX password is wrong`, "give the password in --pfx-password-file FILE, or on standard input");
    throw new DeployInputError(
      `${origin} cannot be read as PKCS#12 (${text.split("\n")[0]})`,
      "export it again with AES-256 or 3DES (openssl pkcs12 -export, or Export-PfxCertificate)",
    );
  }
  const certificates: Buffer[] = [];
  for (const bag of p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? []) {
    if (bag.cert) certificates.push(Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(bag.cert)).getBytes(), "binary"));
    else if (bag.asn1) certificates.push(Buffer.from(forge.asn1.toDer(bag.asn1).getBytes(), "binary"));
  }
  const keyBags = [
    ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ?? []),
    ...(p12.getBags({ bagType: forge.pki.oids.keyBag! })[forge.pki.oids.keyBag!] ?? []),
  ];
  let keyPem: string | null = null;
  for (const bag of keyBags) {
    if (bag.key) {
      keyPem = forge.pki.privateKeyInfoToPem(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key)));
      break;
    }
    if (bag.asn1) {
      // forge parses RSA keys only: an EC key stays as its PrivateKeyInfo, which Node reads.
      keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(forge.asn1.toDer(bag.asn1).getBytes(), "binary")
        .toString("base64")
        .replace(/.{1,64}/g, "$&\n")}-----END PRIVATE KEY-----\n`;
      break;
    }
  }
  if (keyPem === null) throw new DeployInputError(`${origin} holds no private key`, "export the certificate with its private key");
  return { origin, certificates, keyPem };
}

/**
 * The most key-derivation iterations a PFX may ask for (its MAC, and each
 * password-based encryption in it). Exporters use far fewer: Windows 2000
 * (3DES) or 10000, OpenSSL 2048, Java 10000; 1,000,000 also admits OWASP's
 * 600,000 for PBKDF2-SHA256, and node-forge derives that many in seconds. A
 * count of 2^31 would run for hours before the password is even checked.
 */
export const MAX_PFX_ITERATIONS = 1_000_000;

/** All the derivations of one PFX together: three at the highest count (its MAC, its certificates, its key). */
export const MAX_PFX_TOTAL_ITERATIONS = 3 * MAX_PFX_ITERATIONS;

class IterationLimit extends Error {
  constructor(
    readonly count: number,
    readonly total = false,
  ) {
    super(`iteration count ${count} over the limit`);
  }
}

const FIX_ITERATIONS = "export it again with a usual iteration count (Export-PfxCertificate, or openssl pkcs12 -export -iter 2048)";

function tooManyIterations(origin: string, count: number, where: string): DeployInputError {
  const shown = Number.isFinite(count) ? count.toLocaleString("en-US") : "an invalid or absurd number of";
  return new DeployInputError(
    `${origin}: the PFX asks for ${shown} key-derivation iterations for ${where}; rdpcert refuses more than ${MAX_PFX_ITERATIONS.toLocaleString("en-US")} (usual: 2,000 to 10,000)`,
    FIX_ITERATIONS,
  );
}

function tooMuchWork(origin: string, total: number): DeployInputError {
  return new DeployInputError(
    `${origin}: the PFX asks for ${total.toLocaleString("en-US")} key-derivation iterations in all; rdpcert refuses more than ${MAX_PFX_TOTAL_ITERATIONS.toLocaleString("en-US")}`,
    FIX_ITERATIONS,
  );
}

/** OIDs whose parameters are SEQUENCE { salt, iterationCount, ... }: PKCS#12 PBE (RFC 7292 B), PBES1 and PBKDF2 (RFC 8018). */
const ITERATED_OIDS = new Set([
  ...[1, 2, 3, 4, 5, 6].map((n) => `1.2.840.113549.1.12.1.${n}`),
  ...[1, 3, 4, 6, 10, 11].map((n) => `1.2.840.113549.1.5.${n}`),
  "1.2.840.113549.1.5.12",
]);

/** A DER INTEGER's value as a number: Infinity when negative or too large to matter. */
function iterationValue(bytes: string): number {
  if (bytes.length === 0 || bytes.charCodeAt(0) >= 0x80) return Number.POSITIVE_INFINITY;
  let value = 0;
  for (let i = 0; i < bytes.length; i++) {
    value = value * 256 + bytes.charCodeAt(i);
    if (value > Number.MAX_SAFE_INTEGER / 256) return Number.POSITIVE_INFINITY;
  }
  return value;
}

/**
 * The iteration counts a PFX asks for, read from its ASN.1 before anything is
 * derived: the MAC's (RFC 7292: MacData.iterations, default 1) and every
 * iterated AlgorithmIdentifier found in the structure and in the DER its
 * OCTET STRINGs carry (the AuthenticatedSafe, SafeContents, shrouded key
 * bags). Bounded: at most 100,000 nodes, 16 nested OCTET STRINGs.
 */
function pfxIterationCounts(forge: typeof Forge, pfx: Forge.asn1.Asn1): { mac: number; encryption: number[] } {
  const { Type, Class } = forge.asn1;
  const encryption: number[] = [];
  let budget = 100_000;
  const children = (node: Forge.asn1.Asn1): Forge.asn1.Asn1[] => (Array.isArray(node.value) ? node.value : []);
  const walk = (node: Forge.asn1.Asn1, depth: number): void => {
    if (--budget < 0 || depth > 200) return;
    const kids = children(node);
    if (
      node.tagClass === Class.UNIVERSAL &&
      node.type === Type.SEQUENCE &&
      kids.length >= 2 &&
      kids[0]!.type === Type.OID &&
      typeof kids[0]!.value === "string"
    ) {
      const oid = forge.asn1.derToOid(kids[0]!.value);
      const params = children(kids[1]!);
      if (ITERATED_OIDS.has(oid) && params[1]?.type === Type.INTEGER && typeof params[1].value === "string") encryption.push(iterationValue(params[1].value));
    }
    for (const kid of kids) walk(kid, depth + 1);
    // An OCTET STRING that holds DER (the PFX's AuthenticatedSafe, a SafeContents, a certificate): look inside.
    if (
      node.tagClass === Class.UNIVERSAL &&
      node.type === Type.OCTETSTRING &&
      typeof node.value === "string" &&
      node.value.charCodeAt(0) === 0x30 &&
      depth < 64
    ) {
      let inner: Forge.asn1.Asn1 | null = null;
      try {
        inner = forge.asn1.fromDer(forge.util.createBuffer(node.value), true);
      } catch {
        inner = null;
      }
      if (inner) walk(inner, depth + 8);
    }
  };
  walk(pfx, 0);
  // PFX ::= SEQUENCE { version, authSafe, macData MacData OPTIONAL }; MacData ::= SEQUENCE { mac, macSalt, iterations INTEGER DEFAULT 1 }
  const macData = children(pfx)[2];
  const macIterations = macData ? children(macData)[2] : undefined;
  const mac = macIterations && macIterations.type === Type.INTEGER && typeof macIterations.value === "string" ? iterationValue(macIterations.value) : 1;
  return { mac, encryption };
}

const FORGE_DIGESTS: Record<string, string> = { sha1: "sha1", sha256: "sha256", sha384: "sha384", sha512: "sha512", md5: "md5" };

/**
 * Runs `work` (node-forge reading a PFX) with its key derivations bounded:
 * each asks for at most MAX_PFX_ITERATIONS, all together at most
 * MAX_PFX_TOTAL_ITERATIONS (IterationLimit otherwise), so a file of many
 * encrypted bags is bounded too. PBKDF2 runs in Node's native crypto, which
 * derives the same bytes as forge's JavaScript 80 times faster; the PKCS#12
 * derivation (MAC, 3DES/RC2 bags) stays forge's.
 */
function withIterationLimit<T>(forge: typeof Forge, work: () => T): T {
  type Fn = (...args: unknown[]) => unknown;
  const pkcs12 = forge.pkcs12 as unknown as { generateKey: Fn };
  const pbe = (forge.pki as unknown as { pbe: { generatePkcs12Key: Fn } }).pbe;
  const pkcs5 = forge.pkcs5 as unknown as { pbkdf2: Fn };
  const [generateKey, generatePkcs12Key, pbkdf2] = [pkcs12.generateKey, pbe.generatePkcs12Key, pkcs5.pbkdf2];
  let total = 0;
  const charge = (count: unknown): void => {
    const n = Number(count);
    if (!(n <= MAX_PFX_ITERATIONS)) throw new IterationLimit(n);
    total += n;
    if (total > MAX_PFX_TOTAL_ITERATIONS) throw new IterationLimit(total, true);
  };
  // generateKey(password, salt, id, iterations, n, md); pbkdf2(password, salt, iterations, dkLen, md, callback)
  pkcs12.generateKey = (...args: unknown[]) => (charge(args[3]), generateKey.apply(forge.pkcs12, args));
  pbe.generatePkcs12Key = (...args: unknown[]) => (charge(args[3]), generatePkcs12Key.apply(pbe, args));
  pkcs5.pbkdf2 = (...args: unknown[]) => {
    charge(args[2]);
    const [password, salt, iterations, dkLen, md, callback] = args;
    const name = typeof md === "string" ? md : md && typeof md === "object" && "algorithm" in md ? String(md.algorithm) : "sha1";
    const digest = FORGE_DIGESTS[name];
    // forge treats a string as one byte per character: the native path takes only strings where that is exact.
    const bytes = (v: unknown): v is string => typeof v === "string" && ![...v].some((c) => c.charCodeAt(0) > 0xff);
    if (callback !== undefined || !digest || !bytes(password) || !bytes(salt) || typeof iterations !== "number" || typeof dkLen !== "number")
      return pbkdf2.apply(forge.pkcs5, args);
    return pbkdf2Sync(Buffer.from(password, "latin1"), Buffer.from(salt, "latin1"), iterations, dkLen, digest).toString("latin1");
  };
  try {
    return work();
  } finally {
    pkcs12.generateKey = generateKey;
    pbe.generatePkcs12Key = generatePkcs12Key;
    pkcs5.pbkdf2 = pbkdf2;
  }
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

/** KeyUsage (RFC 5280 4.2.1.3), read where every certificate's is (core/certificate.ts): whether a TLS handshake can use the key. Null when absent. */
function keyUsageBits(cert: Parsed): { digitalSignature: boolean; keyEncipherment: boolean } | null {
  const names = keyUsageOf(cert.der);
  if (names === null) return null;
  return { digitalSignature: names.includes("digitalSignature"), keyEncipherment: names.includes("keyEncipherment") };
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

/**
 * Leaf first, each certificate followed by its issuer; certificates that are
 * not on the path are left out (a warning). Candidates are found by subject
 * (an index of the issuer names), so a signature is checked only against a
 * certificate whose subject is the issuer's name, and each certificate joins
 * the chain at most once.
 */
function orderChain(leaf: Parsed, others: readonly Parsed[]): { chain: Parsed[]; unused: Parsed[] } {
  const bySubject = new Map<string, Parsed[]>();
  for (const cert of others) bySubject.set(cert.x509.subject, [...(bySubject.get(cert.x509.subject) ?? []), cert]);
  const chain = [leaf];
  const used = new Set<Parsed>([leaf]);
  for (;;) {
    const last = chain[chain.length - 1]!;
    if (last.x509.subject === last.x509.issuer && selfSigned(last)) break;
    const fits = (candidate: Parsed): boolean => !used.has(candidate) && issues(last, candidate);
    // OpenSSL compares names canonically (case, spacing): when no subject is the same text, every certificate is tried (at most MAX_CERTIFICATES).
    const next = (bySubject.get(last.x509.issuer) ?? []).find(fits) ?? others.find(fits);
    if (!next) break;
    chain.push(next);
    used.add(next);
  }
  return { chain, unused: others.filter((c) => !used.has(c)) };
}

/** The public key (SPKI DER) of a private key, or null when Node cannot derive it. */
function publicKeyOf(keyPem: string): Buffer | null {
  try {
    return createPublicKey(createPrivateKey(keyPem)).export({ type: "spki", format: "der" });
  } catch {
    return null;
  }
}

function keyMatches(spki: Buffer | null, cert: Parsed): boolean {
  try {
    return spki !== null && spki.equals(cert.x509.publicKey.export({ type: "spki", format: "der" }));
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
      throw new DeployInputError(
        `the private key in ${origin} is encrypted`,
        "give the key unencrypted in a file only root can read (openssl pkey -in KEY -out KEY.plain), or a PFX with its password",
      );
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
  if (material.certificates.length === 0)
    throw new DeployInputError(`${origin} holds no certificate`, "give the certificate as PEM (-----BEGIN CERTIFICATE-----)");
  if (material.certificates.length > MAX_CERTIFICATES) {
    throw new DeployInputError(
      `${origin} holds ${material.certificates.length} certificates; a certificate chain has at most ${MAX_CERTIFICATES} (the leaf, its intermediates, perhaps a root)`,
      "give the leaf and its intermediate certificates only (certbot: fullchain.pem), not a bundle of CA certificates",
    );
  }
  const parsed = material.certificates.map((der, i) => parse(der, i, origin));
  const keyPem = material.keyPem === null ? null : normalizeKey(material.keyPem, origin);
  // The leaf is the certificate the key belongs to; without a key (a store certificate) it is the first one.
  let leaf = parsed[0]!;
  if (keyPem !== null) {
    const spki = publicKeyOf(keyPem);
    const owner = parsed.find((cert) => keyMatches(spki, cert));
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
  if (t > notAfter.getTime())
    throw new DeployInputError(`the certificate ${label(leaf)} expired on ${notAfter.toISOString()}`, "renew it with its CA and deploy the new one");
  if (t < notBefore.getTime())
    throw new DeployInputError(
      `the certificate ${label(leaf)} is not valid until ${notBefore.toISOString()}`,
      "check this host's clock, or deploy it once it is valid",
    );
  if (leaf.x509.ca || isCa(leaf))
    throw new DeployInputError(
      `the certificate ${label(leaf)} is a CA certificate, not a server certificate`,
      "deploy the server certificate that the CA issued, with its key",
    );
  const eku = extendedKeyUsage(leaf);
  if (eku !== null && !eku.some((p) => p === OID_SERVER_AUTH || p === OID_REMOTE_DESKTOP_AUTH || p === OID_ANY_EKU)) {
    throw new DeployInputError(
      `the certificate ${label(leaf)} is not for server authentication (its extended key usage is ${eku.join(", ") || "empty"})`,
      `request one with the EKU Server Authentication (${OID_SERVER_AUTH}) or Remote Desktop Authentication (${OID_REMOTE_DESKTOP_AUTH})`,
    );
  }
  const usage = keyUsageBits(leaf);
  if (usage && !usage.digitalSignature && !usage.keyEncipherment) {
    throw new DeployInputError(
      `the certificate ${label(leaf)} has a key usage that allows neither digitalSignature nor keyEncipherment: no TLS handshake can use it`,
      "request a TLS server certificate",
    );
  }
  const key = leaf.x509.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === "rsa") {
    if ((details.modulusLength ?? 0) < 2048)
      throw new DeployInputError(
        `the certificate's RSA key has ${details.modulusLength ?? "?"} bits; RDP clients need 2048 or more`,
        "request a certificate with an RSA 2048+ or EC P-256+ key",
      );
  } else if (key.asymmetricKeyType === "ec") {
    if (!STRONG_CURVES.has(details.namedCurve ?? ""))
      throw new DeployInputError(
        `the certificate's EC key is on ${details.namedCurve ?? "an unknown curve"}; use P-256, P-384 or P-521`,
        "request a certificate with an RSA 2048+ or EC P-256+ key",
      );
  } else {
    throw new DeployInputError(
      `the certificate's ${key.asymmetricKeyType ?? "unknown"} key is not one that RDP clients accept`,
      "request a certificate with an RSA 2048+ or EC P-256+ key",
    );
  }
  const names = namesOf(leaf);
  const host = options.hostNames.filter((n) => n !== "localhost");
  if (host.length && !host.some((h) => names.some((n) => (isIP(h) ? n === `IP:${h}` : n.startsWith("DNS:") && nameMatches(n.slice(4), h))))) {
    warnings.push(
      `the certificate names ${names.join(", ") || "nothing"}, and this host is ${host.join(", ")}: clients that connect by the host's name will warn`,
    );
  }
  const { chain, unused } = orderChain(
    leaf,
    parsed.filter((c) => c !== leaf),
  );
  if (unused.length)
    warnings.push(
      `${unused.length} certificate${unused.length === 1 ? " is" : "s are"} not on the leaf's chain and ${unused.length === 1 ? "is" : "are"} left out: ${unused.map(label).join("; ")}`,
    );
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
