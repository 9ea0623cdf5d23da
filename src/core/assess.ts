import type { BackendKind, HostInspection, InspectOutcome, Issuance } from "./inspection";
import { isPairServer, pairDownFix, pairMismatchFix, pairReplaceFix, pairUnusableFix } from "./pair-server-fixes";
import { GRD_FIXES } from "./grd-fixes";
import type { ProbeResult } from "./probe-result";
import { type CertificateInfo, DAY_MS, describeCertificate } from "./certificate";
import { type Policy, renewalTimeFor } from "./policy";
import { type Health, describeValidity, validityAt } from "./validity";

/**
 * One word for the listener's state. CRITICAL kinds name the cause, so that
 * a monitoring system and an admin see what is wrong without reading further.
 */
export type Verdict = "OK" | "WARN" | "EXPIRED" | "NOT-YET-VALID" | "CORRUPT" | "MISMATCH" | "DOWNGRADED" | "DOWN" | "UNKNOWN";

/** TLS versions that current clients (mstsc, FreeRDP 3 with OpenSSL 3) accept. */
const CURRENT_TLS = new Set(["tlsv1.2", "tlsv1.3"]);

/** Most specific cause first: a corrupt key explains a downgraded listener, not the other way round. */
const VERDICT_ORDER: readonly Verdict[] = ["UNKNOWN", "CORRUPT", "EXPIRED", "NOT-YET-VALID", "MISMATCH", "DOWNGRADED", "DOWN", "WARN", "OK"];

export function healthOf(verdict: Verdict): Health {
  return verdict === "OK" ? "ok" : verdict === "WARN" ? "warn" : verdict === "UNKNOWN" ? "unknown" : "critical";
}

export interface Problem {
  readonly verdict: Exclude<Verdict, "OK">;
  /** Stable identifier for tools, e.g. "key-unreadable", "presented-differs". */
  readonly code: string;
  readonly reason: string;
  readonly fix: string | null;
  /**
   * Whether a new certificate and key fix it (expired, expiring, renewal due,
   * key missing or not matching, certificate unparseable). Permissions, TLS
   * settings, security_layer=rdp, another process on the port: no. `run`
   * rotates only for these, and only when nothing unfixable is critical.
   */
  readonly fixedByReplacement: boolean;
}

/** Problem codes a new self-signed pair fixes: rotate only for these, never for what a rotation does not fix. */
const REPLACEABLE = new Set([
  "certificate-missing",
  "certificate-not-pem",
  "certificate-unparseable",
  "key-missing",
  "key-mismatch",
  "key-not-a-key",
  "key-corrupt",
  "expired",
  "expiring",
  "renewal-due",
]);

type Found = Omit<Problem, "fixedByReplacement"> & { readonly fixedByReplacement?: boolean };

export interface Assessment {
  readonly status: Verdict;
  readonly health: Health;
  /** The primary problem's reason, or why all is well. */
  readonly reason: string;
  readonly fix: string | null;
  /** Every problem found, most specific first; empty when OK. */
  readonly problems: readonly Problem[];
  readonly configured: CertificateInfo | null;
  readonly presented: CertificateInfo | null;
  /** When a self-signed configured certificate is due for renewal; null for CA-issued or unknown. */
  readonly renewalTime: Date | null;
  /** What could not be checked (e.g. the key, without root): said, never guessed. */
  readonly unchecked: readonly string[];
}

/**
 * The verdict on one listener: what it is configured to use (from the host
 * backend), what it presents on the wire (from the probe; null when it was not
 * probed), the policy, and the time. Pure.
 */
export function assess(configured: InspectOutcome, presented: ProbeResult | null, policy: Policy, now: Date): Assessment {
  if (!configured.ok) {
    const problem: Found = { verdict: "UNKNOWN", code: "cannot-inspect", reason: configured.reason, fix: configured.fix };
    return finish([problem], null, presented?.certificate ?? null, null, "", []);
  }
  const inspection = configured.inspection;
  const problems: Found[] = [];
  const unchecked: string[] = [];
  if (inspection.certificate.state === "unchecked") unchecked.push(inspection.certificate.reason);
  if (inspection.key.state === "unknown" && inspection.key.reason) unchecked.push(inspection.key.reason);
  const configuredCert = inspectConfigured(inspection, presented, policy, now, problems);
  const renewal = configuredCert && inspection.issuance === "self-signed" ? renewalTimeFor(configuredCert, policy) : null;
  if (configuredCert && renewal && now >= renewal) {
    const validity = validityAt(configuredCert, now, policy.warnDays);
    if (validity.state === "valid") {
      problems.push({
        verdict: "WARN",
        code: "renewal-due",
        reason: `past its renewal time (${renewal.toISOString().slice(0, 10)}, ${policy.rotateDays ? `${policy.rotateDays} days before expiry` : `${Math.round(policy.renewalFraction * 100)}% of its lifetime`}); ${describeValidity(validity)}`,
        fix: renewFix(inspection.backend, inspection.issuance, inspection.listener.port),
      });
    }
  }
  for (const finding of inspection.findings) {
    if (finding.fixedByReplacement && finding.severity !== "info")
      problems.push({ verdict: "WARN", code: finding.code, reason: finding.message, fix: finding.fix, fixedByReplacement: true });
  }
  for (const prediction of inspection.afterRestart ?? []) {
    problems.push({ verdict: "WARN", code: prediction.code, reason: prediction.message, fix: prediction.fix, fixedByReplacement: false });
  }
  if (presented) inspectPresented(inspection, configuredCert, presented, policy, now, problems);
  return finish(problems, configuredCert, presented?.certificate ?? null, renewal, okReason(configuredCert, presented, now), unchecked);
}

function finish(
  found: Found[],
  configured: CertificateInfo | null,
  presented: CertificateInfo | null,
  renewal: Date | null,
  okReason: string,
  unchecked: readonly string[],
): Assessment {
  const problems: Problem[] = found.map((p) => ({ ...p, fixedByReplacement: p.fixedByReplacement ?? REPLACEABLE.has(p.code) }));
  const sorted = [...problems].sort((a, b) => VERDICT_ORDER.indexOf(a.verdict) - VERDICT_ORDER.indexOf(b.verdict));
  const primary = sorted[0];
  const status: Verdict = primary?.verdict ?? "OK";
  return {
    status,
    health: healthOf(status),
    reason: primary?.reason ?? okReason,
    fix: primary?.fix ?? null,
    problems: sorted,
    configured,
    presented,
    renewalTime: renewal,
    unchecked,
  };
}

/** The listener completed TLS presenting exactly the configured certificate: the wire says the pair works now. */
function servesConfigured(presented: ProbeResult | null, configured: { readonly der: Buffer } | null): boolean {
  if (!presented || presented.error || !presented.certificate || !configured) return false;
  try {
    return presented.certificate.thumbprint === describeCertificate(configured.der).thumbprint;
  } catch {
    return false;
  }
}

function okReason(configured: CertificateInfo | null, presented: ProbeResult | null, now: Date): string {
  const cert = configured ?? presented?.certificate ?? null;
  if (!cert) return "healthy";
  const days = Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS);
  return presented?.certificate
    ? `the listener presents the configured certificate, valid for ${days} more days`
    : `the configured certificate is valid for ${days} more days`;
}

function inspectConfigured(inspection: HostInspection, presented: ProbeResult | null, policy: Policy, now: Date, problems: Found[]): CertificateInfo | null {
  const { certificate, key, backend, issuance } = inspection;
  let info: CertificateInfo | null = null;
  const served = servesConfigured(presented, certificate.state === "present" ? certificate : null);
  if (certificate.state === "unchecked") {
    // Not ours to judge without root: the wire decides (inspectPresented).
  } else if (certificate.state !== "present") {
    problems.push({
      verdict: "CORRUPT",
      code: `certificate-${certificate.state}`,
      reason: certificate.reason,
      fix: certificate.fix ?? replaceFix(backend, issuance, inspection.listener.port),
      ...(certificate.replaceable === false ? { fixedByReplacement: false } : {}),
    });
  } else {
    try {
      info = describeCertificate(certificate.der);
    } catch (error) {
      problems.push({
        verdict: "CORRUPT",
        code: "certificate-unparseable",
        reason: `the configured certificate ${certificate.location} does not parse (${(error as Error).message})`,
        fix: replaceFix(backend, issuance, inspection.listener.port),
      });
    }
  }
  if (key.state === "unreadable" && served) {
    // The wire outranks a prediction from file modes: the listener serves this pair over TLS right now.
    problems.push({
      verdict: "WARN",
      code: "key-unreadable",
      reason: `${key.reason ?? "the private key is unreadable"}; yet the listener serves the configured certificate over TLS${key.basis === "unit" ? ", so this is what would fail after a restart" : " (access not by file modes: an ACL or a capability?)"}`,
      fix: key.fix ?? null,
    });
  } else if (key.state !== "ok" && key.state !== "unknown") {
    problems.push({
      verdict: "CORRUPT",
      code: `key-${key.state}`,
      reason: key.reason ?? `the private key is ${key.state}`,
      fix: key.fix ?? replaceFix(backend, issuance, inspection.listener.port),
      ...(key.replaceable !== undefined ? { fixedByReplacement: key.replaceable } : {}),
    });
  }
  if (info) {
    const validity = validityAt(info, now, policy.warnDays);
    const where = `the configured certificate (${info.subject})`;
    if (validity.state === "expired") {
      problems.push({
        verdict: "EXPIRED",
        code: "expired",
        reason: `${where}: ${describeValidity(validity)}, on ${info.notAfter.toISOString().slice(0, 10)}`,
        fix: renewFix(backend, issuance, inspection.listener.port),
      });
    } else if (validity.state === "not-yet-valid") {
      problems.push({
        verdict: "NOT-YET-VALID",
        code: "not-yet-valid",
        reason: `${where}: ${describeValidity(validity)}`,
        fix: "check the host clock (timedatectl / w32tm /query /status) and the certificate's notBefore",
      });
    } else if (validity.state === "expiring") {
      problems.push({
        verdict: "WARN",
        code: "expiring",
        reason: `${where}: ${describeValidity(validity)}`,
        fix: renewFix(backend, issuance, inspection.listener.port),
      });
    }
  }
  return info;
}

function inspectPresented(
  inspection: HostInspection,
  configured: CertificateInfo | null,
  presented: ProbeResult,
  policy: Policy,
  now: Date,
  problems: Found[],
): void {
  const { backend, listener } = inspection;
  const error = presented.error;
  // A downgrade or a failed handshake is a symptom: a new pair fixes it exactly when it fixes its cause.
  const explained = problems.some((p) => p.verdict === "CORRUPT" && (p.fixedByReplacement ?? REPLACEABLE.has(p.code)));
  if (error) {
    switch (error.kind) {
      case "resolve-failed":
      case "resolve-timeout":
      case "connect-refused":
      case "connect-timeout":
      case "connect-failed":
      case "timeout":
        problems.push({ verdict: "DOWN", code: `listener-${error.kind}`, reason: `the listener is not answering: ${error.message}`, fix: downFix(backend) });
        return;
      case "protocol-error": {
        // Windows' answer to a key it cannot use is not settled by any capture (windows-evidence/02, "Not found"):
        // a reset or close during negotiation on a host whose own evidence says the key is broken is that key's
        // symptom, so the repair that fixes the key may go ahead; without that evidence it stays DOWN and blocks.
        if (backend === "windows" && explained && /reset|closed/i.test(error.message)) {
          problems.push({
            verdict: "CORRUPT",
            code: "negotiation-dropped",
            reason: `the listener dropped the connection: ${error.message}, which the key problem the host reports explains`,
            fix: unusableFix(backend),
            fixedByReplacement: true,
          });
          return;
        }
        problems.push({ verdict: "DOWN", code: `listener-${error.kind}`, reason: `the listener is not answering: ${error.message}`, fix: downFix(backend) });
        return;
      }
      case "rdp-security-only":
      case "negotiation-failure":
        problems.push({
          verdict: "DOWNGRADED",
          code: error.kind,
          reason: `the listener does not offer TLS: ${error.message}`,
          fix: listener.securityLayer === "rdp" ? securityLayerFix(backend) : unusableFix(backend),
          fixedByReplacement: explained && listener.securityLayer !== "rdp",
        });
        return;
      case "tls-handshake-failed": {
        const versions = listener.tlsVersions ?? null;
        if (!explained && versions && !versions.some((v) => CURRENT_TLS.has(v.toLowerCase()))) {
          problems.push({
            verdict: "DOWNGRADED",
            code: "tls-versions",
            reason: `the TLS handshake failed (${error.message}): the server offers only ${versions.join(", ")} (ssl_protocols), which current clients and OpenSSL refuse; they need TLS 1.2 or 1.3`,
            fix:
              backend === "xrdp"
                ? "set ssl_protocols=TLSv1.2, TLSv1.3 in [Globals] of xrdp.ini (xrdp uses it from the next connection)"
                : "enable TLS 1.2 in Schannel (HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols)",
            fixedByReplacement: false,
          });
          return;
        }
        problems.push({
          verdict: "CORRUPT",
          code: "handshake-failed",
          reason: `the listener selected TLS but the handshake failed: ${error.message}`,
          fix: explained
            ? unusableFix(backend)
            : inspection.key.state === "unknown" || inspection.certificate.state === "unchecked"
              ? // A check not made is not a pass: without root the key could not be read.
                `${unusableFix(backend)}; the key was not checked (this user cannot read it): run rdpcert status as root to see whether the server can use it`
              : `${unusableFix(backend)}; the certificate and key look usable, so check the TLS settings (ssl_protocols, tls_ciphers) first`,
          fixedByReplacement: explained,
        });
        return;
      }
    }
  }
  const cert = presented.certificate;
  if (!cert) return;
  if (configured && cert.thumbprint !== configured.thumbprint) {
    problems.push({
      verdict: "MISMATCH",
      code: "presented-differs",
      reason: `the listener presents ${cert.thumbprint} (${cert.subject}), not the configured ${configured.thumbprint}`,
      fix: mismatchFix(backend, listener.port),
    });
  } else if (!configured && inspection.configuredThumbprint && cert.thumbprint !== inspection.configuredThumbprint) {
    problems.push({
      verdict: "MISMATCH",
      code: "presented-differs",
      reason: `the listener presents ${cert.thumbprint} (${cert.subject}), not the configured ${inspection.configuredThumbprint}`,
      fix: mismatchFix(backend, listener.port),
      // Windows serves its fallback because the configured certificate is missing: the repair (clear the setting) fixes both.
      fixedByReplacement: backend === "windows" && explained,
    });
  }
  if (configured && cert.thumbprint === configured.thumbprint) return;
  const validity = validityAt(cert, now, policy.warnDays);
  if (!configured && inspection.certificate.state === "unchecked" && validity.state === "expiring") {
    problems.push({
      verdict: "WARN",
      code: "presented-expiring",
      reason: `the presented certificate (${cert.subject}): ${describeValidity(validity)}`,
      fix: renewFix(backend, inspection.issuance, inspection.listener.port),
      fixedByReplacement: false,
    });
  }
  if (validity.state === "expired") {
    problems.push({
      verdict: "EXPIRED",
      code: "presented-expired",
      reason: `the presented certificate (${cert.subject}): ${describeValidity(validity)}`,
      fix: mismatchFix(backend, listener.port),
    });
  } else if (validity.state === "not-yet-valid") {
    problems.push({
      verdict: "NOT-YET-VALID",
      code: "presented-not-yet-valid",
      reason: `the presented certificate (${cert.subject}): ${describeValidity(validity)}`,
      fix: "check the host clock",
    });
  }
}

/**
 * The fix names rdpcert's own command wherever rdpcert can do it: `rotate`
 * makes a new self-signed pair and verifies it on the wire (a shared pair such as
 * Debian's snakeoil is left untouched: rdpcert writes its own next to the ini), `deploy`
 * puts a CA-issued certificate in place, `run` is what the schedule does.
 */
function replaceFix(backend: BackendKind, issuance: Issuance, port: number | null = null): string {
  if (backend === "gnome-remote-desktop") return GRD_FIXES.replace(issuance);
  if (isPairServer(backend)) return pairReplaceFix(backend, issuance, port);
  if (issuance === "ca-issued") {
    return backend === "xrdp"
      ? "re-issue the certificate from its CA, then: sudo rdpcert deploy --cert CERT.pem --key KEY.pem --chain CHAIN.pem --yes"
      : "re-issue the certificate from its CA, then: rdpcert deploy --pfx FILE.pfx --yes (or --thumbprint HASH when it is in LocalMachine\\My)";
  }
  return backend === "xrdp"
    ? "sudo rdpcert rotate --yes: a new self-signed pair, verified on the wire, no restart (a shared pair such as Debian's snakeoil is left untouched; rdpcert writes its own next to xrdp.ini); or rdpcert deploy for a CA-issued one"
    : "rdpcert rotate --yes (from an elevated prompt): Windows issues a new self-signed certificate, verified on the wire; or rdpcert deploy for a CA-issued one";
}

function renewFix(backend: BackendKind, issuance: Issuance, port: number | null = null): string {
  if (backend === "gnome-remote-desktop") return GRD_FIXES.replace(issuance);
  if (issuance === "ca-issued") {
    if (isPairServer(backend))
      return `renew it with the issuing CA, then sudo rdpcert deploy --backend ${backend}${port ? ` --port ${port}` : ""} --cert CERT.pem --key KEY.pem --chain CHAIN.pem --yes (rdpcert never deletes a CA-issued certificate)`;
    return `renew it with the issuing CA, then ${backend === "xrdp" ? "sudo rdpcert deploy --cert CERT.pem --key KEY.pem --chain CHAIN.pem --yes (certbot: --from-certbot)" : "rdpcert deploy --pfx FILE.pfx --yes (or --thumbprint HASH)"} (rdpcert never deletes a CA-issued certificate)`;
  }
  return `${replaceFix(backend, issuance, port)}; rdpcert run (the schedule: rdpcert task install) does this before it expires`;
}

function downFix(backend: BackendKind): string {
  if (backend === "gnome-remote-desktop") return GRD_FIXES.down;
  if (isPairServer(backend)) return pairDownFix(backend);
  return backend === "xrdp"
    ? "start xrdp (systemctl start xrdp; see journalctl -u xrdp) and check the firewall for the listener port"
    : "start Remote Desktop Services (Start-Service TermService) and check that the Remote Desktop firewall rules are enabled";
}

function securityLayerFix(backend: BackendKind): string {
  if (backend === "gnome-remote-desktop") return GRD_FIXES.unusable;
  return backend === "xrdp"
    ? "set security_layer=negotiate (or tls) in [Globals] of xrdp.ini and restart xrdp"
    : "set SecurityLayer to 1 (negotiate) or 2 (TLS) on Win32_TSGeneralSetting RDP-tcp";
}

function unusableFix(backend: BackendKind): string {
  if (backend === "gnome-remote-desktop") return GRD_FIXES.unusable;
  if (isPairServer(backend)) return pairUnusableFix(backend);
  return backend === "xrdp"
    ? "xrdp cannot use its certificate or key: look for 'Cannot read' in its log (journalctl -u xrdp), make the key readable by xrdp's user, or replace the pair"
    : "Windows cannot use the certificate's private key (events 1057/1058, Schannel 36870): fix the MachineKeys ACL or delete the certificate and restart SessionEnv";
}

function mismatchFix(backend: BackendKind, port: number): string {
  if (backend === "gnome-remote-desktop") return GRD_FIXES.mismatch(port);
  if (isPairServer(backend)) return pairMismatchFix(backend, port);
  // xrdp re-reads its ini for every connection: a mismatch is another process or another ini, not a stale one.
  return backend === "xrdp"
    ? `the process on port ${port} does not serve this configuration: find it (ss -ltnp 'sport = :${port}') and the ini it runs with (xrdp -c), or pass that ini with --xrdp-ini`
    : "Windows fell back to another certificate because the configured one is unusable (events 1051/1055/1059): fix it or clear SSLCertificateSHA1Hash, then restart SessionEnv";
}
