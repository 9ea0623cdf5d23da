import { isIP } from "node:net";
import type { NlaPolicy, ProbeErrorKind } from "./probe-result";
import type { Assessment } from "./assess";
import type { CertificateInfo } from "./certificate";
import { daysLeft } from "./validity";

/**
 * `rdpcert doctor`: measurements in, a checklist and the most likely cause of
 * "0x904 / extended 0x7" out, in the order a diagnosis should test the
 * causes: listener down or blocked, TLS refused, certificate expired, key
 * corrupt or unreadable, a configured thumbprint naming a missing certificate
 * (the silent fallback), and last a slow or lossy link.
 * Pure: the command gathers, this judges.
 */

export type CheckStatus = "pass" | "fail" | "warn" | "skip";

export interface Check {
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  readonly detail: string;
}

export interface Cause {
  readonly id: string;
  readonly summary: string;
  readonly fix: readonly string[];
  /**
   * Does it explain a failed connection? "critical": yes (exit 2); "warn":
   * clients connect but warn or some refuse (exit 1); "note": worth knowing,
   * nothing fails (exit 0). Absent: critical.
   */
  readonly severity?: "critical" | "warn" | "note";
}

/** doctor's exit code answers "will a client connect?": the most severe cause decides. */
export function doctorExitCode(causes: readonly Cause[]): 0 | 1 | 2 {
  if (causes.some((c) => (c.severity ?? "critical") === "critical")) return 2;
  return causes.some((c) => c.severity === "warn") ? 1 : 0;
}

/** One negotiation attempt, as nmap's rdp-enum-encryption makes them. */
export interface NegotiationAttempt {
  readonly offered: "TLS" | "CredSSP" | "RDP";
  readonly requestedProtocols: number;
  readonly selected: string | null;
  readonly failure: string | null;
  readonly error: ProbeErrorKind | null;
}

export interface LinkSample {
  readonly ok: boolean;
  readonly totalMs: number;
  readonly error: ProbeErrorKind | null;
}

export interface LinkStats {
  readonly samples: number;
  readonly succeeded: number;
  readonly successRate: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  /** Mean absolute difference between consecutive successful handshakes. */
  readonly jitterMs: number | null;
}

export interface DoctorFacts {
  readonly target: { readonly input: string; readonly host: string; readonly port: number; readonly local: boolean };
  readonly resolved: { readonly addresses: readonly string[]; readonly error: string | null };
  readonly reachability: readonly { readonly address: string; readonly result: "open" | "refused" | "timeout" | "error"; readonly detail: string }[];
  readonly negotiation: readonly NegotiationAttempt[];
  /** The main probe (TLS | CredSSP offered). */
  readonly handshake: {
    readonly error: { readonly kind: ProbeErrorKind; readonly message: string } | null;
    readonly certificate: CertificateInfo | null;
    readonly tls: { readonly version: string; readonly cipher: string } | null;
    /** The listener's NLA policy (issue 24); absent or null: not learned. */
    readonly nlaPolicy?: NlaPolicy | null;
  } | null;
  /** Addresses each DNS name of the certificate resolves to (only names that resolve). */
  readonly certificateNameAddresses: Readonly<Record<string, readonly string[]>>;
  readonly link: LinkStats | null;
  /** On the host itself: the status verdict and the backend's findings. */
  readonly host: {
    readonly assessment: Assessment;
    readonly findings: readonly { readonly severity: string; readonly code: string; readonly message: string; readonly fix: string | null }[];
  } | null;
  readonly warnDays: number;
  readonly now: Date;
}

export interface Diagnosis {
  readonly checks: readonly Check[];
  /** Most likely first; empty when nothing is wrong. */
  readonly causes: readonly Cause[];
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

export function linkStats(samples: readonly LinkSample[]): LinkStats {
  const times = samples.filter((s) => s.ok).map((s) => s.totalMs);
  const sorted = [...times].sort((a, b) => a - b);
  let jitter: number | null = null;
  if (times.length >= 2) {
    let sum = 0;
    for (let i = 1; i < times.length; i++) sum += Math.abs(times[i]! - times[i - 1]!);
    jitter = Math.round((sum / (times.length - 1)) * 10) / 10;
  }
  return {
    samples: samples.length,
    succeeded: times.length,
    successRate: samples.length ? times.length / samples.length : 0,
    p50Ms: sorted.length ? percentile(sorted, 50) : null,
    p95Ms: sorted.length ? percentile(sorted, 95) : null,
    jitterMs: jitter,
  };
}

/** RFC 6125-style: exact DNS name, or a left-most `*.` wildcard covering one label; IPs against IP SANs. */
export function nameMatches(name: string, cert: CertificateInfo): boolean {
  const host = name.toLowerCase().replace(/\.$/, "");
  const sans = cert.subjectAltNames;
  if (isIP(host)) return sans.some((s) => s.toLowerCase() === `ip:${host}` || s.toLowerCase() === `ip address:${host}`);
  const dnsNames = sans.filter((s) => s.startsWith("DNS:")).map((s) => s.slice(4).toLowerCase());
  // A certificate without DNS SANs is matched on its CN, as mstsc does.
  const cn = /(?:^|,\s*)CN=([^,]+)/.exec(cert.subject)?.[1]?.toLowerCase();
  const names = dnsNames.length ? dnsNames : cn ? [cn] : [];
  return names.some((pattern) => {
    if (pattern === host) return true;
    if (!pattern.startsWith("*.")) return false;
    const rest = pattern.slice(2);
    const dot = host.indexOf(".");
    return dot > 0 && host.slice(dot + 1) === rest;
  });
}

/** `--name a --ip b` for the certificate's own names, so that adding one keeps the others. */
function existingNameFlags(cert: CertificateInfo): string {
  return cert.subjectAltNames.map((n) => (n.startsWith("DNS:") ? ` --name ${n.slice(4)}` : n.startsWith("IP:") ? ` --ip ${n.slice(3)}` : "")).join("");
}

/** Thresholds for "dodgy connection": any loss, or slow handshakes. */
export const SLOW_P95_MS = 1000;

export function diagnose(facts: DoctorFacts): Diagnosis {
  const checks: Check[] = [];
  const causes: Cause[] = [];
  const where = `${facts.target.host}:${facts.target.port}`;
  const rotateFix = facts.target.local
    ? ["sudo rdpcert rotate --yes"]
    : [`on the server: sudo rdpcert rotate --yes (or rdpcert doctor there for the host's view)`];

  // 1. Name resolution.
  if (facts.resolved.error) {
    checks.push({ id: "resolve", title: "name resolution", status: "fail", detail: `${facts.target.host} does not resolve: ${facts.resolved.error}` });
    causes.push({
      id: "name-does-not-resolve",
      summary: `${facts.target.host} does not resolve`,
      fix: ["check the name, DNS, or the hosts file", "try the server's IP address"],
    });
    return { checks, causes };
  }
  checks.push({ id: "resolve", title: "name resolution", status: "pass", detail: `${facts.target.host} -> ${facts.resolved.addresses.join(", ")}` });

  // 2. TCP reachability per address.
  const open = facts.reachability.filter((r) => r.result === "open");
  for (const r of facts.reachability) {
    checks.push({ id: `tcp-${r.address}`, title: `TCP ${r.address}:${facts.target.port}`, status: r.result === "open" ? "pass" : "fail", detail: r.detail });
  }
  if (open.length === 0) {
    const refused = facts.reachability.some((r) => r.result === "refused");
    causes.push(
      refused
        ? {
            id: "listener-down",
            summary: `nothing listens on ${where}: the RDP service is down or on another port`,
            fix: facts.target.local
              ? ["systemctl start xrdp (Windows: Start-Service TermService)", "check the listener port in the configuration"]
              : ["start the RDP service on the server", "check the port (default 3389)"],
          }
        : {
            id: "port-filtered",
            summary: `connections to ${where} time out: a firewall drops them, or the host is down`,
            fix: ["open the port in the host and network firewalls (Windows: enable the Remote Desktop firewall rules)", "check that the host is up"],
          },
    );
    return { checks, causes };
  }

  // 3. Negotiation matrix.
  for (const n of facts.negotiation) {
    // HYBRID_REQUIRED_BY_SERVER to a TLS-only offer is the server's NLA policy (gnome-remote-desktop, Windows with NLA), not a fault.
    const nlaRequired = n.offered === "TLS" && n.failure?.startsWith("HYBRID_REQUIRED_BY_SERVER") === true;
    const outcome = n.selected
      ? `selects ${n.selected}`
      : n.failure
        ? `RDP_NEG_FAILURE ${n.failure}${nlaRequired ? ": NLA required by the server (its policy, not a fault)" : ""}`
        : `error: ${n.error}`;
    const healthy = n.offered === "RDP" || nlaRequired ? true : n.selected === "SSL" || n.selected === "HYBRID";
    const label = n.offered === "TLS" ? "TLS only" : n.offered === "CredSSP" ? "CredSSP (with TLS)" : "standard RDP security only";
    checks.push({
      id: `negotiate-${n.offered.toLowerCase()}`,
      title: `offered ${label}`,
      status: healthy ? "pass" : n.offered === "CredSSP" ? "warn" : "fail",
      detail: outcome,
    });
  }
  const handshake = facts.handshake;
  const hostProblems = facts.host?.assessment.problems ?? [];
  const keyProblem = hostProblems.find((p) => p.code.startsWith("key-") || p.code.startsWith("certificate-"));
  if (!handshake || handshake.error) {
    const kind = handshake?.error?.kind ?? "protocol-error";
    const message = handshake?.error?.message ?? "no handshake";
    checks.push({ id: "tls", title: "TLS handshake", status: "fail", detail: message });
    if (kind === "rdp-security-only" || kind === "negotiation-failure") {
      const layerRdp = facts.host?.findings.some((f) => f.code === "security-layer-rdp");
      // A fix is offered only where it fixes the cause: a rotation only for what a new pair repairs.
      const keyFix = keyProblem ? [...(keyProblem.fix ? [keyProblem.fix] : []), ...(keyProblem.fixedByReplacement ? rotateFix : [])] : [];
      causes.push(
        keyProblem
          ? { id: "certificate-unusable", summary: `the listener cannot use its certificate or key, so it refuses TLS: ${keyProblem.reason}`, fix: keyFix }
          : layerRdp
            ? {
                id: "security-layer-rdp",
                summary: "the listener is configured for standard RDP security only",
                fix: ["set security_layer=negotiate in xrdp.ini (Windows: SecurityLayer 1 or 2)"],
              }
            : {
                id: "tls-refused",
                summary: `the listener refuses TLS (${message}): usually an unusable certificate or key on the server`,
                fix: facts.target.local
                  ? ["sudo rdpcert status: it says what the server cannot use"]
                  : ["on the server: sudo rdpcert doctor (it sees the configuration and the key)"],
              },
      );
    } else if (kind === "tls-handshake-failed") {
      const versions = hostProblems.find((p) => p.code === "tls-versions");
      if (versions) {
        causes.push({ id: "tls-versions", summary: versions.reason, fix: versions.fix ? [versions.fix] : [] });
      } else if (keyProblem) {
        causes.push({
          id: "certificate-corrupt",
          summary: `the TLS handshake fails (${message}): ${keyProblem.reason}`,
          fix: [...(keyProblem.fix ? [keyProblem.fix] : []), ...(keyProblem.fixedByReplacement ? rotateFix : [])],
        });
      } else {
        causes.push({
          id: "tls-handshake-failed",
          summary: `the TLS handshake fails (${message}): no TLS version or cipher in common, or an unusable certificate or key; current clients need TLS 1.2 or 1.3`,
          fix: facts.target.local
            ? ["check xrdp's ssl_protocols and tls_ciphers (Windows: the Schannel protocols), then sudo rdpcert status"]
            : ["on the server: sudo rdpcert doctor (it sees the TLS settings and the key)"],
        });
      }
    } else if (kind === "protocol-error" && handshake?.tls) {
      // Negotiation and TLS both completed: an RDP listener, whose certificate is the fault.
      causes.push({
        id: "certificate-unparseable",
        summary: `${where} is an RDP listener (it negotiated ${handshake.tls.version}) presenting a certificate that does not parse: ${message}`,
        fix: facts.target.local
          ? [...(keyProblem?.fix ? [keyProblem.fix] : []), ...rotateFix]
          : ["on the server: sudo rdpcert status (it reads the configured certificate), then replace it: sudo rdpcert rotate --yes, or deploy a CA-issued one"],
      });
    } else if (kind === "timeout") {
      causes.push({
        id: "listener-stalls",
        summary: `the listener accepts connections but does not answer (${message}): the service is hung or overloaded, or something in the path swallows the traffic`,
        fix: ["restart the RDP service", "check for a proxy or IPS between client and server"],
      });
    } else {
      causes.push({
        id: "not-rdp",
        summary: `${where} does not answer like an RDP listener (${message})`,
        fix: ["check that the port belongs to the RDP service"],
      });
    }
    return { checks, causes };
  }

  // 4. TLS and the certificate.
  const cert = handshake.certificate!;
  checks.push({ id: "tls", title: "TLS handshake", status: "pass", detail: `${handshake.tls?.version ?? "?"} ${handshake.tls?.cipher ?? ""}`.trim() });
  if (handshake.nlaPolicy) {
    checks.push({
      id: "nla",
      title: "NLA (CredSSP)",
      status: "pass",
      detail:
        handshake.nlaPolicy === "required"
          ? "NLA required by the server: clients must offer CredSSP; the certificate was read after the server selected it"
          : "optional: the server also accepts TLS without CredSSP",
    });
  }
  const left = daysLeft(cert.notAfter, facts.now);
  const expired = facts.now > cert.notAfter;
  const notYet = facts.now < cert.notBefore;
  checks.push({
    id: "validity",
    title: "certificate validity",
    status: expired || notYet ? "fail" : left <= facts.warnDays ? "warn" : "pass",
    detail: expired
      ? `expired ${-left} days ago (${cert.notAfter.toISOString()})`
      : notYet
        ? `not valid until ${cert.notBefore.toISOString()}`
        : `${left} days left (until ${cert.notAfter.toISOString()})`,
  });
  if (expired)
    causes.push({
      id: "certificate-expired",
      summary: `the certificate expired on ${cert.notAfter.toISOString().slice(0, 10)}`,
      fix: cert.selfSigned
        ? rotateFix
        : [
            facts.target.local
              ? "renew it with the issuing CA, then sudo rdpcert deploy --cert CERT.pem --key KEY.pem --yes (Windows: rdpcert deploy --pfx FILE.pfx)"
              : "renew it with the issuing CA, then on the server: rdpcert deploy",
          ],
    });
  if (notYet)
    causes.push({
      id: "certificate-not-yet-valid",
      summary: `the certificate is not valid before ${cert.notBefore.toISOString()}: a clock is wrong`,
      fix: ["check the clocks of server and client (timedatectl / w32tm /query /status)"],
    });

  const typed = facts.target.host;
  const matches = nameMatches(typed, cert);
  checks.push({
    id: "name",
    title: "name matches the certificate",
    status: matches ? "pass" : "warn",
    detail: matches
      ? `${typed} is in ${cert.subjectAltNames.join(", ") || cert.subject}`
      : `${typed} is not in ${cert.subjectAltNames.join(", ") || cert.subject}: clients warn that the identity cannot be verified`,
  });
  const nameAddresses = Object.entries(facts.certificateNameAddresses);
  if (nameAddresses.length && !nameAddresses.some(([, addrs]) => addrs.some((a) => facts.resolved.addresses.includes(a)))) {
    checks.push({
      id: "name-addresses",
      title: "certificate names resolve to this server",
      status: "warn",
      detail: `${nameAddresses.map(([n, a]) => `${n} -> ${a.join(", ")}`).join("; ")}; ${typed} -> ${facts.resolved.addresses.join(", ")}`,
    });
  }
  checks.push({
    id: "self-signed",
    title: "issuer",
    status: "pass",
    detail: cert.selfSigned ? "self-signed (clients must trust it explicitly)" : `issued by ${cert.issuer}`,
  });
  const weakKey = cert.publicKey.type === "rsa" && (cert.publicKey.bits ?? 0) < 2048;
  checks.push({ id: "key", title: "key", status: weakKey ? "warn" : "pass", detail: `${cert.publicKey.type} ${cert.publicKey.bits ?? ""}`.trim() });
  const weakSig = /sha1|md5/i.test(cert.signatureAlgorithm);
  checks.push({ id: "signature", title: "signature algorithm", status: weakSig ? "warn" : "pass", detail: cert.signatureAlgorithm });
  const ekuOk = cert.extendedKeyUsage.length === 0 || cert.extendedKeyUsage.includes("serverAuth");
  checks.push({
    id: "eku",
    title: "extended key usage",
    status: ekuOk ? "pass" : "fail",
    detail: cert.extendedKeyUsage.length ? cert.extendedKeyUsage.join(", ") : "none (any purpose)",
  });
  if (!ekuOk)
    causes.push({
      id: "certificate-wrong-eku",
      summary: "the certificate is not for server authentication (EKU lacks serverAuth)",
      fix: cert.selfSigned ? rotateFix : ["re-issue it with the Server Authentication EKU"],
    });

  // On the host: what the configuration says.
  if (facts.host) {
    const a = facts.host.assessment;
    checks.push({
      id: "host",
      title: "host configuration (status)",
      status: a.status === "OK" ? "pass" : a.health === "warn" ? "warn" : "fail",
      detail: `${a.status}: ${a.reason}`,
    });
    const mismatch = a.problems.find((p) => p.verdict === "MISMATCH");
    if (mismatch) causes.push({ id: "mismatch", summary: mismatch.reason, fix: mismatch.fix ? [mismatch.fix] : [] });
    else if (a.health === "critical" && causes.length === 0)
      causes.push({ id: `host-${a.status.toLowerCase()}`, summary: a.reason, fix: a.fix ? [a.fix] : [] });
    for (const f of facts.host.findings.filter((x) => x.severity !== "info")) {
      checks.push({ id: `finding-${f.code}`, title: f.code, status: f.severity === "critical" ? "fail" : "warn", detail: f.message });
    }
  }

  // 5. Link quality.
  const link = facts.link;
  if (link) {
    const lossy = link.successRate < 1;
    const slow = link.p95Ms !== null && link.p95Ms > SLOW_P95_MS;
    checks.push({
      id: "link",
      title: `link quality (${link.samples} handshakes)`,
      status: lossy || slow ? "fail" : "pass",
      detail: `${link.succeeded}/${link.samples} succeeded; p50 ${link.p50Ms ?? "-"} ms, p95 ${link.p95Ms ?? "-"} ms, jitter ${link.jitterMs ?? "-"} ms`,
    });
    if ((lossy || slow) && causes.length === 0) {
      causes.push({
        id: "dodgy-connection",
        summary: `the certificate is fine but the link is not: ${lossy ? `${link.samples - link.succeeded} of ${link.samples} handshakes failed` : ""}${lossy && slow ? ", " : ""}${slow ? `p95 handshake ${link.p95Ms} ms` : ""} (a slow or lossy VPN or network)`,
        fix: ["not a certificate problem: check the VPN or network path (latency, loss, MTU)", "retry from a wired or closer network to confirm"],
      });
    }
  }
  if (!matches && causes.length === 0) {
    // A name mismatch on a self-signed certificate: it is warned about by its issuer anyway, so the name is a note;
    // and a plain rotation keeps the names, so the fix names them or the rotation that adds this one.
    const names = cert.subjectAltNames.join(", ") || cert.subject;
    const addName = isIP(typed) ? `--ip ${typed}` : `--name ${typed}`;
    causes.push(
      cert.selfSigned
        ? {
            id: "name-mismatch",
            severity: "note",
            summary: `${typed} is not a name in the self-signed certificate (${names}); clients already ask the user to trust this certificate, whatever the name`,
            fix: [
              `connect with a name in the certificate (${names})`,
              `or give the certificate this name too: ${facts.target.local ? "" : "on the server: "}sudo rdpcert rotate --yes ${addName}${existingNameFlags(cert)}`,
            ],
          }
        : {
            id: "name-mismatch",
            severity: "warn",
            summary: `${typed} is not a name in the CA-issued certificate (${names}): clients warn that the identity cannot be verified, and some policies refuse the connection`,
            fix: [`connect with a name in the certificate (${names})`, `or have the CA issue a certificate that also names ${typed}`],
          },
    );
  }
  return { checks, causes };
}
