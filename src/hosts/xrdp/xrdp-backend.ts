import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { lstatSync, realpathSync } from "node:fs";
import { describeCertificate } from "../../core/certificate";
import { type CommandRunner, runCommand } from "../command-runner";
import { readBoundedText } from "../local/bounded-read";
import type { ConfiguredCertificate, HostBackend, HostFinding, InspectOutcome, KeyState, SecurityLayer } from "../host-backend";
import { type Identity, readableBy } from "./file-access";
import { parseListenSpecs } from "./listen-address";
import { type Ini, iniValue, parseIni } from "./xrdp-ini";
import { createXrdpRotation } from "./xrdp-rotation";
import { type RuntimeUserSetting, resolveIdentity, xrdpServiceIdentity } from "./runtime-user";

export const DEFAULT_XRDP_INI = "/etc/xrdp/xrdp.ini";
/** XRDP_CFG_PATH as Debian's package is built: empty or relative certificate=/key_file= fall back here. */
export const XRDP_CFG_PATH = "/etc/xrdp";
export const DEFAULT_XRDP_PORT = 3389;

export interface XrdpBackendOptions {
  readonly iniPath?: string;
  readonly runner?: CommandRunner;
  /** Who xrdp runs as; default: User=/Group= of xrdp.service, root when unset. */
  readonly runtimeUser?: () => RuntimeUserSetting;
  readonly platform?: NodeJS.Platform;
}

export function createXrdpBackend(options: XrdpBackendOptions = {}): HostBackend {
  const iniPath = options.iniPath ?? DEFAULT_XRDP_INI;
  const runner = options.runner ?? runCommand;
  const platform = options.platform ?? process.platform;
  const runtimeUser = options.runtimeUser ?? (() => xrdpServiceIdentity());
  return {
    kind: "xrdp",
    capability: async () => {
      if (platform === "win32") return { available: false, reason: "xrdp runs on Linux and BSD; this host runs Windows" };
      try {
        lstatSync(iniPath);
        return { available: true };
      } catch (error) {
        return { available: false, reason: `${iniPath} ${errnoText(error)}: is xrdp installed? (pass --xrdp-ini PATH for another location)` };
      }
    },
    inspect: () => inspectXrdp(iniPath, runner, runtimeUser),
    rotation: createXrdpRotation({ runner, runtimeUser }),
  };
}

async function inspectXrdp(iniPath: string, runner: CommandRunner, runtimeUser: () => RuntimeUserSetting): Promise<InspectOutcome> {
  let ini: Ini;
  try {
    ini = parseIni(readBoundedText(iniPath, "ini"));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      ok: false,
      reason: `cannot read ${iniPath}: ${errnoText(error)}`,
      fix: code === "EACCES" ? "run as root (sudo rdpcert status)" : "pass the path of xrdp's configuration with --xrdp-ini PATH",
    };
  }
  if (!ini.sections.some((s) => s.toLowerCase() === "globals")) {
    return { ok: false, reason: `${iniPath} has no [Globals] section: it is not an xrdp.ini`, fix: "pass the path of xrdp's configuration with --xrdp-ini PATH" };
  }
  const findings: HostFinding[] = [];

  const portEntry = iniValue(ini, "Globals", "port");
  const specs = parseListenSpecs(portEntry?.value ?? String(DEFAULT_XRDP_PORT));
  const useVsock = /^(1|true|yes)$/i.test(iniValue(ini, "Globals", "use_vsock")?.value ?? "");
  const where = (line: number | undefined): string => (line ? `${iniPath}:${line}` : iniPath);
  const tcp = useVsock ? undefined : specs.find((s) => s.kind === "tcp");
  if (!tcp || tcp.kind !== "tcp") {
    const first = specs[0];
    const what = useVsock
      ? "use_vsock=true: xrdp listens on vsock"
      : first?.kind === "unsupported"
        ? `port=${first.text} is a ${first.transport}:// listener`
        : first?.kind === "invalid"
          ? `port=${first.text} is not valid (${first.reason})`
          : "port= names no listener";
    return { ok: false, reason: `${where(portEntry?.line)}: ${what}, which rdpcert cannot probe (it checks TCP listeners)`, fix: "set port= to a TCP listener (3389 or tcp://ADDR:PORT), or check the listener with `rdpcert probe` from where it is reachable" };
  }
  if (specs.length > 1) {
    findings.push({ severity: "info", code: "several-listeners", message: `port=${portEntry?.value} names ${specs.length} listeners; checking ${tcp.text}`, fix: null });
  }

  const layerText = (iniValue(ini, "Globals", "security_layer")?.value ?? "negotiate").toLowerCase();
  let securityLayer: SecurityLayer = "negotiate";
  if (layerText === "rdp" || layerText === "tls" || layerText === "negotiate") securityLayer = layerText;
  else findings.push({ severity: "warn", code: "security-layer-unknown", message: `security_layer=${layerText} is not recognised; xrdp uses negotiate`, fix: "set security_layer=negotiate or tls" });
  if (securityLayer === "rdp") {
    findings.push({ severity: "critical", code: "security-layer-rdp", message: "security_layer=rdp: xrdp never offers TLS, so the certificate is not used", fix: "set security_layer=negotiate (or tls) in [Globals] and restart xrdp" });
  }

  const certPath = configuredPath(ini, "certificate", "cert.pem", findings, iniPath);
  const keyPath = configuredPath(ini, "key_file", "key.pem", findings, iniPath);
  reportLink(certPath, "certificate", findings);
  reportLink(keyPath, "key_file", findings);

  const setting = runtimeUser();
  let server: Identity | null = { name: "root", uid: 0, gids: [0] };
  if (setting.user !== null) {
    const resolved = await resolveIdentity(runner, setting.user, setting.group);
    if (resolved.ok) server = resolved.identity;
    else {
      server = null;
      findings.push({ severity: "warn", code: "runtime-user-unknown", message: resolved.reason, fix: "fix User= in xrdp.service" });
    }
  }

  const certificate = readConfiguredCertificate(certPath, server);
  const key = inspectKey(keyPath, certificate, server, findings);
  let issuance: "self-signed" | "ca-issued" | "unknown" = "unknown";
  if (certificate.state === "present") {
    try {
      issuance = describeCertificate(certificate.der).selfSigned ? "self-signed" : "ca-issued";
    } catch {
      issuance = "unknown";
    }
  }

  return {
    ok: true,
    inspection: {
      backend: "xrdp",
      source: iniPath,
      listener: { address: tcp.address, port: tcp.port, securityLayer, nla: null },
      certificate,
      key,
      issuance,
      configuredThumbprint: null,
      findings,
    },
  };
}

/** certificate= / key_file=: empty means the default in /etc/xrdp; xrdp ignores a relative path and uses the default too. */
function configuredPath(ini: Ini, name: string, defaultName: string, findings: HostFinding[], iniPath: string): string {
  const entry = iniValue(ini, "Globals", name);
  const fallback = `${XRDP_CFG_PATH}/${defaultName}`;
  if (!entry || entry.value === "") return fallback;
  if (!entry.value.startsWith("/")) {
    findings.push({
      severity: "warn",
      code: `${name.replace("_", "-")}-relative`,
      message: `${iniPath}:${entry.line}: ${name}=${entry.value} is relative, so xrdp ignores it and uses ${fallback}`,
      fix: `use an absolute path for ${name}=`,
    });
    return fallback;
  }
  return entry.value;
}

function reportLink(path: string, name: string, findings: HostFinding[]): void {
  try {
    if (!lstatSync(path).isSymbolicLink()) return;
    const target = realpathSync(path);
    const snakeoil = /ssl-cert-snakeoil\.(pem|key)$/.test(target);
    findings.push({
      severity: "info",
      code: `${name.replace("_", "-")}-link`,
      message: `${name} ${path} is a link to ${target}${snakeoil ? " (Debian's shared snakeoil pair, also used by other services)" : ""}`,
      fix: null,
    });
  } catch {
    // Missing files are reported by the certificate and key checks.
  }
}

function readConfiguredCertificate(path: string, server: Identity | null): ConfiguredCertificate {
  let text: string;
  try {
    text = readBoundedText(path, "certificate", "latin1");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      return { state: "missing", location: path, reason: `the certificate file ${path} does not exist${danglingNote(path)}` };
    }
    return { state: "unreadable", location: path, reason: `cannot read the certificate ${path}: ${errnoText(error)}`, fix: code === "EACCES" ? "run as root (sudo rdpcert status)" : null };
  }
  if (server) {
    const access = readableBy(path, server);
    if (!access.ok) {
      return { state: "unreadable", location: path, reason: `xrdp cannot read its certificate: ${access.reason}`, fix: `make ${path} readable by ${server.name} (e.g. chmod 644 for a certificate)` };
    }
  }
  const match = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/.exec(text);
  if (!match) {
    return { state: "not-pem", location: path, reason: `${path} holds no complete PEM certificate (truncated or not a certificate)` };
  }
  return { state: "present", der: Buffer.from(match[1]!.replace(/\s+/g, ""), "base64"), location: path };
}

function inspectKey(path: string, certificate: ConfiguredCertificate, server: Identity | null, findings: HostFinding[]): KeyState {
  let mode: number;
  try {
    mode = lstatSync(path).isSymbolicLink() ? readLinkedMode(path) : lstatSync(path).mode;
  } catch (error) {
    return { state: "missing", location: path, reason: `the private key file ${path} does not exist${danglingNote(path)} (${errnoText(error)})` };
  }
  if ((mode & 0o004) !== 0) {
    findings.push({ severity: "warn", code: "key-world-readable", message: `the private key ${path} is readable by every user (mode ${(mode & 0o7777).toString(8).padStart(4, "0")})`, fix: `chmod o-rwx ${realOrSame(path)}` });
  }
  if (server) {
    const access = readableBy(path, server);
    if (!access.ok) {
      const target = realOrSame(path);
      const snakeoil = /ssl-cert-snakeoil\.key$/.test(target);
      return {
        state: "unreadable",
        location: path,
        reason: `xrdp cannot read its private key: ${access.reason}`,
        fix: snakeoil
          ? `add xrdp's user to the ssl-cert group (adduser ${server.name.split(":")[0]} ssl-cert) and restart xrdp`
          : `chgrp ${server.name.split(":")[1] ?? server.name} ${target} && chmod 640 ${target}`,
      };
    }
  }
  let pem: string;
  try {
    pem = readBoundedText(path, "key");
  } catch (error) {
    // We could not read it ourselves: whether it matches is unknown, not wrong.
    return { state: "unknown", location: path, reason: `cannot read the private key ${path} to check it: ${errnoText(error)} (run as root)` };
  }
  let publicDer: Buffer;
  try {
    publicDer = createPublicKey(createPrivateKey(pem)).export({ type: "spki", format: "der" });
  } catch (error) {
    const encrypted = /passphrase|encrypted/i.test((error as Error).message) || pem.includes("ENCRYPTED");
    // Never quote the file: it is a private key.
    return {
      state: "not-a-key",
      location: path,
      reason: encrypted ? `the private key ${path} is encrypted; xrdp needs an unencrypted key` : `${path} is not a PEM private key (truncated or corrupt)`,
    };
  }
  if (certificate.state === "present") {
    try {
      const certKey = new X509Certificate(certificate.der).publicKey.export({ type: "spki", format: "der" });
      if (!certKey.equals(publicDer)) {
        return { state: "mismatch", location: path, reason: `the private key ${path} does not belong to the certificate ${certificate.location}` };
      }
    } catch {
      // An unparseable certificate is reported on its own; the key itself is fine.
    }
  }
  return { state: "ok", location: path, reason: null };
}

function readLinkedMode(path: string): number {
  return lstatSync(realpathSync(path)).mode;
}

function realOrSame(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function danglingNote(path: string): string {
  try {
    return lstatSync(path).isSymbolicLink() ? " (it is a link to a missing file)" : "";
  } catch {
    return "";
  }
}

function errnoText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  switch (e.code) {
    case "ENOENT":
      return "does not exist";
    case "EACCES":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    default:
      return e.code ?? e.message;
  }
}
