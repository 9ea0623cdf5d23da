import { lstatSync, realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { describeCertificate } from "../../core/certificate";
import type { BackendKind, ConfiguredCertificate, HostFinding, HostInspection, KeyState, SecurityLayer, ServerIdentity } from "../host-backend";
import { readBoundedText } from "../local/bounded-read";
import { keyStateOf } from "../local/key-match";
import { type Identity, readableBy } from "../local/file-access";
import type { ListenerProcess } from "../local/listening-process";

/**
 * Where a server that serves a PEM certificate file and key file keeps them,
 * as its backend found out (weston's command line, shadow's config directory
 * of the serving user, pem-pair's configuration), and who serves them.
 */
export interface PairLocation {
  readonly kind: BackendKind;
  /** The server's name in messages: "weston", "freerdp-shadow-cli", "the server". */
  readonly label: string;
  /** Where the paths came from, one line (HostInspection.source). */
  readonly source: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly address: string | null;
  readonly port: number;
  readonly securityLayer: SecurityLayer;
  readonly nla: boolean | null;
  /** The process listening on the port; null when none (or not visible). */
  readonly process: ListenerProcess | null;
  /** Whose access to the files is judged: the listening process's identity; null when unknown. */
  readonly serving: Identity | null;
  readonly server: ServerIdentity;
  /** What the locator itself noticed (an option it could not read, a guessed home). */
  readonly findings: readonly HostFinding[];
}

/** A pair inspection: the same checks for every PEM-pair server kind. Never throws for a broken host. */
export function inspectPair(location: PairLocation): HostInspection {
  const findings: HostFinding[] = [...location.findings];
  const certificate = readCertificate(location);
  const key = inspectKey(location, certificate, findings);
  findings.push(...directoryFindings(location));
  let issuance: HostInspection["issuance"] = "unknown";
  if (certificate.state === "present") {
    try {
      issuance = describeCertificate(certificate.der).selfSigned ? "self-signed" : "ca-issued";
    } catch {
      issuance = "unknown";
    }
  }
  return {
    backend: location.kind,
    source: location.source,
    listener: { address: location.address, port: location.port, securityLayer: location.securityLayer, nla: location.nla, tlsVersions: null },
    certificate,
    key,
    issuance,
    configuredThumbprint: null,
    findings,
    server: location.server,
  };
}

function readCertificate(location: PairLocation): ConfiguredCertificate {
  const path = location.certPath;
  let text: string;
  try {
    text = readBoundedText(path, "certificate", "latin1");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { state: "missing", location: path, reason: `the certificate file ${path} does not exist` };
    if (code === "EACCES" || code === "EPERM")
      return { state: "unchecked", location: path, reason: `the certificate ${path} was not checked: this user cannot read it (run as root)` };
    return { state: "unreadable", location: path, reason: `cannot read the certificate ${path}: ${code ?? "error"}` };
  }
  if (location.serving) {
    const access = readableBy(path, location.serving);
    if (!access.ok && access.checked) {
      return {
        state: "unreadable",
        location: path,
        reason: `${location.label} cannot read its certificate: ${access.reason}`,
        fix: `chmod 644 ${real(path)} (a certificate is public)`,
      };
    }
  }
  const match = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/.exec(text);
  if (!match) return { state: "not-pem", location: path, reason: `${path} holds no complete PEM certificate (truncated or not a certificate)` };
  return { state: "present", der: Buffer.from(match[1]!.replace(/\s+/g, ""), "base64"), location: path };
}

/**
 * Who besides the serving user can read the key now: "others" when every
 * directory on the way lets others through and the file is readable by
 * others; "latent" when the file's mode allows it but a directory on the way
 * is closed (a chmod of that directory, e.g. a home made 0755, opens it).
 */
function keyExposure(path: string, mode: number): "others" | "latent" | null {
  if ((mode & 0o004) === 0) return null;
  const nobody: Identity = { name: "every other user", uid: 65534, gids: [65534] };
  return readableBy(path, nobody).ok ? "others" : "latent";
}

function inspectKey(location: PairLocation, certificate: ConfiguredCertificate, findings: HostFinding[]): KeyState {
  const path = location.keyPath;
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM")
      return { state: "unknown", location: path, reason: `the private key ${path} was not checked: this user cannot look at it (run as root)` };
    return { state: "missing", location: path, reason: `the private key file ${path} does not exist` };
  }
  const modeText = (mode & 0o7777).toString(8).padStart(4, "0");
  const exposure = keyExposure(path, mode);
  if (exposure) {
    // A key other users can read must be taken as known to them: a new key, not only a chmod (docs/servers/freerdp-shadow.md).
    findings.push({
      severity: exposure === "others" ? "critical" : "warn",
      code: "key-exposed",
      message:
        exposure === "others"
          ? `the private key ${path} is readable by every local user (mode ${modeText}): any of them can impersonate this server`
          : `the private key ${path} is readable by every user (mode ${modeText}); a directory on the way keeps them out for now`,
      fix: `sudo rdpcert rotate --port ${location.port} --yes: a new key, written 0600 for the user ${location.label} runs as (the old one must be taken as known); at least chmod 600 ${real(path)}`,
      fixedByReplacement: true,
    });
  }
  if (location.serving) {
    const access = readableBy(path, location.serving);
    if (!access.ok && !access.checked)
      return { state: "unknown", location: path, reason: `whether ${location.label} can read its private key was not checked: ${access.reason}` };
    if (!access.ok) {
      const target = real(path);
      const fix = access.closedDir
        ? `${location.label} cannot enter ${access.closedDir}: chmod o+x ${access.closedDir}, or keep its pair elsewhere`
        : `chown ${location.serving.uid} ${target} && chmod 600 ${target} (${location.label} runs as ${location.serving.name})`;
      return {
        state: "unreadable",
        location: path,
        reason: `${location.label} cannot read its private key: ${access.reason}`,
        fix,
        basis: location.server.basis,
      };
    }
  }
  return keyStateOf(path, certificate, location.label);
}

/** A directory holding the pair that another user than root or the serving user can write: they could swap what is served. */
function directoryFindings(location: PairLocation): HostFinding[] {
  const owners = new Set([0, process.geteuid?.() ?? 0, ...(location.serving ? [location.serving.uid] : [])]);
  const out: HostFinding[] = [];
  const dirs = [...new Set([dirname(real(location.certPath)), dirname(real(location.keyPath))])];
  for (const dir of dirs) {
    let stats;
    try {
      stats = lstatSync(dir);
    } catch {
      continue;
    }
    const mode = (stats.mode & 0o7777).toString(8).padStart(4, "0");
    if ((stats.mode & 0o002) !== 0)
      out.push({
        severity: "warn",
        code: "pair-dir-world-writable",
        message: `${dir} holds the pair and is writable by every user (mode ${mode}): anyone can change what ${location.label} serves`,
        fix: `chmod o-w ${dir}`,
      });
    else if (!owners.has(stats.uid))
      out.push({
        severity: "warn",
        code: "pair-dir-foreign-owner",
        message: `${dir} holds the pair and is owned by uid ${stats.uid}: that user can change what ${location.label} serves`,
        fix: `chown root ${dir}`,
      });
  }
  return out;
}

export function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
