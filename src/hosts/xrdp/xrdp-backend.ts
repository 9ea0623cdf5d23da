import { lstatSync, realpathSync, statSync } from "node:fs";
import { describeCertificate } from "../../core/certificate";
import { type CommandRunner, runCommand } from "../command-runner";
import { readBoundedText } from "../local/bounded-read";
import { errnoText, keyStateOf } from "../local/key-match";
import type {
  ConfiguredCertificate,
  HostBackend,
  HostFinding,
  InspectHooks,
  InspectOutcome,
  KeyState,
  RestartPrediction,
  SecurityLayer,
  ServerIdentity,
} from "../host-backend";
import { type Identity, readableBy } from "./file-access";
import { type ListenerLookup, type ListeningProcess, findListeningProcess, groupName } from "./listener-process";
import { parseListenSpecs } from "./listen-address";
import { type Ini, iniValue, parseIni } from "./xrdp-ini";
import { trustFindings } from "./trust-findings";
import { createXrdpRotation, notOursToOverwrite } from "./xrdp-rotation";
import { type RuntimeUserSetting, resolveIdentity, xrdpServiceIdentity } from "./runtime-user";
import { type Platform, currentPlatform, isWindows } from "../../core/platform";

export const DEFAULT_XRDP_INI = "/etc/xrdp/xrdp.ini";
/** XRDP_CFG_PATH as Debian's package is built: empty or relative certificate=/key_file= fall back here. */
export const XRDP_CFG_PATH = "/etc/xrdp";
export const DEFAULT_XRDP_PORT = 3389;

export interface XrdpBackendOptions {
  readonly iniPath?: string;
  readonly runner?: CommandRunner;
  /** Who xrdp runs as; default: User=/Group= of xrdp.service, root when unset. */
  readonly runtimeUser?: () => RuntimeUserSetting;
  readonly platform?: Platform;
  /** Who listens on the port; default: /proc (listener-process.ts). */
  readonly findListener?: (port: number, address: string | null) => ListenerLookup;
}

export function createXrdpBackend(options: XrdpBackendOptions = {}): HostBackend {
  const iniPath = options.iniPath ?? DEFAULT_XRDP_INI;
  const runner = options.runner ?? runCommand;
  const platform = options.platform ?? currentPlatform();
  const runtimeUser = options.runtimeUser ?? (() => xrdpServiceIdentity());
  return {
    kind: "xrdp",
    capability: async () => {
      if (isWindows(platform)) return { available: false, reason: "xrdp runs on Linux and BSD; this host runs Windows" };
      try {
        lstatSync(iniPath);
        return { available: true };
      } catch (error) {
        return { available: false, reason: `${iniPath} ${errnoText(error)}: is xrdp installed? (pass --xrdp-ini PATH for another location)` };
      }
    },
    inspect: (hooks) => inspectXrdp(iniPath, runner, runtimeUser, options, hooks),
    rotation: createXrdpRotation({ runner, runtimeUser, inspect: () => inspectXrdp(iniPath, runner, runtimeUser, options) }),
  };
}

async function inspectXrdp(
  iniPath: string,
  runner: CommandRunner,
  runtimeUser: () => RuntimeUserSetting,
  options: XrdpBackendOptions,
  hooks: InspectHooks = {},
): Promise<InspectOutcome> {
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
    return {
      ok: false,
      reason: `${iniPath} has no [Globals] section: it is not an xrdp.ini`,
      fix: "pass the path of xrdp's configuration with --xrdp-ini PATH",
    };
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
    return {
      ok: false,
      reason: `${where(portEntry?.line)}: ${what}, which rdpcert cannot probe (it checks TCP listeners)`,
      fix: "set port= to a TCP listener (3389 or tcp://ADDR:PORT), or check the listener with `rdpcert probe` from where it is reachable",
    };
  }
  if (specs.length > 1) {
    findings.push({
      severity: "info",
      code: "several-listeners",
      message: `port=${portEntry?.value} names ${specs.length} listeners; checking ${tcp.text}`,
      fix: null,
    });
  }

  if (hooks.listenerKnown) {
    hooks.listenerKnown({ address: tcp.address, port: tcp.port });
    // One turn of the event loop: the caller's connect completes and its first request leaves before the /proc walk.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  const layerText = (iniValue(ini, "Globals", "security_layer")?.value ?? "negotiate").toLowerCase();
  let securityLayer: SecurityLayer = "negotiate";
  if (layerText === "rdp" || layerText === "tls" || layerText === "negotiate") securityLayer = layerText;
  else
    findings.push({
      severity: "warn",
      code: "security-layer-unknown",
      message: `security_layer=${layerText} is not recognised; xrdp uses negotiate`,
      fix: "set security_layer=negotiate or tls",
    });
  if (securityLayer === "rdp") {
    findings.push({
      severity: "critical",
      code: "security-layer-rdp",
      message: "security_layer=rdp: xrdp never offers TLS, so the certificate is not used",
      fix: "set security_layer=negotiate (or tls) in [Globals] and restart xrdp",
    });
  }

  const certPath = configuredPath(ini, "certificate", "cert.pem", findings, iniPath);
  const keyPath = configuredPath(ini, "key_file", "key.pem", findings, iniPath);
  reportLink(certPath, "certificate", findings);
  reportLink(keyPath, "key_file", findings);

  const who = await whoServes(tcp.port, tcp.address, runner, runtimeUser, options.findListener ?? findListeningProcess);
  findings.push(...who.findings);
  if (who.listener?.configPath && !samePath(who.listener.configPath, iniPath)) {
    findings.push({
      severity: "warn",
      code: "listener-other-ini",
      message: `the process listening on port ${tcp.port} (pid ${who.listener.pid}) was started with -c ${who.listener.configPath}, not ${iniPath}`,
      fix: `inspect that configuration: rdpcert status --xrdp-ini ${who.listener.configPath}`,
    });
  }

  findings.push(...trustFindings(iniPath, certPath, keyPath, who.server?.uid ?? null));
  const certificate = readConfiguredCertificate(certPath, who.server);
  const key = inspectKey(keyPath, certificate, who, findings);
  const afterRestart = who.unit && who.server && !sameAccess(who.unit, who.server) ? predictAfterRestart(who.unit, who.server, certPath, keyPath) : [];
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
      listener: { address: tcp.address, port: tcp.port, securityLayer, nla: null, tlsVersions: sslProtocols(ini) },
      certificate,
      key,
      issuance,
      configuredThumbprint: null,
      findings,
      server: who.description,
      afterRestart,
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
    if (code === "EACCES" || code === "EPERM") {
      // We could not look: that says nothing about xrdp.
      return { state: "unchecked", location: path, reason: `the certificate ${path} was not checked: this user cannot read it (run as root)` };
    }
    return { state: "unreadable", location: path, reason: `cannot read the certificate ${path}: ${errnoText(error)}` };
  }
  if (server) {
    const access = readableBy(path, server);
    if (!access.ok && access.checked) {
      const fix = access.closedDir ? enterFix(access.closedDir) : `chmod 644 ${realOrSame(path)} (a certificate is public)`;
      return { state: "unreadable", location: path, reason: `xrdp cannot read its certificate: ${access.reason}`, fix };
    }
  }
  const match = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/.exec(text);
  if (!match) {
    let foreign: string | null = null;
    try {
      foreign = notOursToOverwrite(path, "certificate");
    } catch {
      foreign = null;
    }
    return foreign
      ? {
          state: "not-pem",
          location: path,
          reason: `${foreign} (rdpcert will not overwrite it)`,
          fix: "point certificate= at the listener's own certificate",
          replaceable: false,
        }
      : { state: "not-pem", location: path, reason: `${path} holds no complete PEM certificate (truncated or not a certificate)` };
  }
  return { state: "present", der: Buffer.from(match[1]!.replace(/\s+/g, ""), "base64"), location: path };
}

function inspectKey(path: string, certificate: ConfiguredCertificate, who: WhoServes, findings: HostFinding[]): KeyState {
  const server = who.server;
  let mode: number;
  try {
    mode = lstatSync(path).isSymbolicLink() ? readLinkedMode(path) : lstatSync(path).mode;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM") {
      return { state: "unknown", location: path, reason: `the private key ${path} was not checked: this user cannot look at it (run as root)` };
    }
    return { state: "missing", location: path, reason: `the private key file ${path} does not exist${danglingNote(path)} (${errnoText(error)})` };
  }
  if ((mode & 0o004) !== 0) {
    findings.push({
      severity: "warn",
      code: "key-world-readable",
      message: `the private key ${path} is readable by every user (mode ${(mode & 0o7777).toString(8).padStart(4, "0")})`,
      fix: `chmod o-rwx ${realOrSame(path)}`,
    });
  }
  const foreign = notAKey(path);
  if (foreign)
    return {
      state: "not-a-key",
      location: path,
      reason: `${foreign} (rdpcert will not overwrite it)`,
      fix: "point key_file= at the listener's own private key",
      replaceable: false,
    };
  if (server) {
    const access = readableBy(path, server);
    if (!access.ok && !access.checked)
      return { state: "unknown", location: path, reason: `whether xrdp can read its private key was not checked: ${access.reason}` };
    if (!access.ok) {
      // Debian's /etc/ssl/private (root:ssl-cert 0710) is closed on purpose: the fix is xrdp's own pair, never opening it.
      const shared = /ssl-cert-snakeoil\.key$/.test(realOrSame(path)) || ("closedDir" in access && access.closedDir === "/etc/ssl/private");
      const fix = "closedDir" in access && access.closedDir && !shared ? enterFix(access.closedDir) : keyAccessFix(path, server, who);
      return { state: "unreadable", location: path, reason: `xrdp cannot read its private key: ${access.reason}`, fix, basis: who.description.basis };
    }
  }
  return keyStateOf(path, certificate, "xrdp");
}

/** A key_file= that is something else entirely (not a key, e.g. a copy of a password file): no chgrp advice for it. */
function notAKey(path: string): string | null {
  try {
    // A FIFO or a device is reported by the bounded read below, which names its type.
    if (!statSync(path).isFile()) return null;
    return notOursToOverwrite(path, "key");
  } catch {
    return null;
  }
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

interface WhoServes {
  /** The identity file access is judged for: the listener's, else the unit's; null when neither is known. */
  readonly server: Identity | null;
  /** The unit's User=/Group= resolved (root when unset); null when it does not resolve. */
  readonly unit: Identity | null;
  readonly listener: ListeningProcess | null;
  readonly description: ServerIdentity;
  readonly findings: readonly HostFinding[];
}

const ROOT: Identity = { name: "root", uid: 0, gids: [0] };

/**
 * The listening process outranks the unit: many hosts run xrdp as root
 * whatever Debian's unit says. The unit is the prediction for a restart,
 * and the basis only when no listening process can be seen, which the
 * report then says.
 */
async function whoServes(
  port: number,
  address: string | null,
  runner: CommandRunner,
  runtimeUser: () => RuntimeUserSetting,
  findListener: (port: number, address: string | null) => ListenerLookup,
): Promise<WhoServes> {
  const findings: HostFinding[] = [];
  const setting = runtimeUser();
  const unitText =
    setting.user === null ? "xrdp.service sets no User= (root)" : `xrdp.service says User=${setting.user}${setting.group ? `, Group=${setting.group}` : ""}`;
  let unit: Identity | null = ROOT;
  if (setting.user !== null) {
    const resolved = await resolveIdentity(runner, setting.user, setting.group);
    if (resolved.ok) unit = resolved.identity;
    else {
      unit = null;
      findings.push({ severity: "warn", code: "runtime-user-unknown", message: resolved.reason, fix: "fix User= in xrdp.service" });
    }
  }
  const lookup = findListener(port, address);
  if (lookup.kind === "found") {
    const p = lookup.process;
    return {
      server: p.identity,
      unit,
      listener: p,
      description: {
        basis: "listener",
        name: p.identity.name,
        pid: p.pid,
        detail: `${p.command} (pid ${p.pid}) listening on port ${port} runs as ${p.identity.name}`,
      },
      findings,
    };
  }
  const why = lookup.kind === "none" ? `nothing listens on port ${port}` : lookup.reason;
  findings.push({
    severity: "info",
    code: "server-identity-predicted",
    message: `file access judged for the user xrdp would run as, a prediction: ${why}; ${unitText}`,
    fix: lookup.kind === "hidden" ? "run as root to see the listening process" : null,
  });
  return {
    server: unit,
    unit,
    listener: null,
    description: { basis: unit ? "unit" : "unknown", name: unit?.name ?? null, pid: null, detail: `predicted from the unit (${why}): ${unitText}` },
    findings,
  };
}

const sameAccess = (a: Identity, b: Identity): boolean => a.uid === b.uid && a.gids.length === b.gids.length && a.gids.every((g) => b.gids.includes(g));

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return a === b;
  }
}

function keyAccessFix(path: string, server: Identity, who: WhoServes): string {
  const target = realOrSame(path);
  // The user was given access (adduser xrdp ssl-cert) but the running process predates it: it keeps its old groups until restarted.
  if (who.listener && who.unit && who.unit.uid === server.uid && readableBy(path, who.unit).ok) {
    return `restart xrdp (systemctl restart xrdp): the running xrdp (pid ${who.listener.pid}) started before ${server.name} was given access, and keeps its old groups until then`;
  }
  if (/ssl-cert-snakeoil\.key$/.test(target) || target.startsWith("/etc/ssl/private/")) return sharedKeyFix(server.name.split(":")[0]!);
  return `chgrp ${groupName(server.gids[0] ?? 0)} ${target} && chmod 640 ${target}`;
}

/** The fix is on the directory xrdp cannot enter, not on the file: traversal only, it lists nothing. */
function enterFix(dir: string): string {
  return `xrdp cannot enter ${dir}: chmod o+x ${dir} (lets it pass through to the files it may read; it still cannot list ${dir}), or keep xrdp's pair outside it`;
}

/**
 * Debian's default: the snakeoil key is root:ssl-cert 0640 and xrdp is not in the group. `adduser xrdp
 * ssl-cert` opens every key of that group to xrdp; rdpcert's own pair next to xrdp.ini is xrdp's alone
 * (a key of its own rather than every key of the ssl-cert group), and the shared pair stays as it is for the other services.
 */
function sharedKeyFix(user: string): string {
  return `sudo rdpcert rotate --force --yes: xrdp gets its own pair next to xrdp.ini (key root:${user} 0640) and the ini points at it; the shared snakeoil pair is left as it is (or: adduser ${user} ssl-cert and restart xrdp, which opens every key of the ssl-cert group to xrdp)`;
}

/** What the unit's identity could not read, when it differs from the running process'. */
function predictAfterRestart(unit: Identity, server: Identity, certPath: string, keyPath: string): RestartPrediction[] {
  const out: RestartPrediction[] = [];
  for (const [what, path] of [
    ["certificate", certPath],
    ["private key", keyPath],
  ] as const) {
    const now = readableBy(path, server);
    const later = readableBy(path, unit);
    if (!now.ok || later.ok || !later.checked) continue;
    const target = realOrSame(path);
    out.push({
      code: what === "certificate" ? "certificate-unreadable-after-restart" : "key-unreadable-after-restart",
      message: `xrdp runs as ${server.name} now and can read its ${what}, but would fail after a restart as ${unit.name} (its unit's user): ${later.reason}`,
      fix:
        what === "certificate"
          ? `chmod 644 ${target}`
          : /ssl-cert-snakeoil\.key$/.test(target)
            ? sharedKeyFix(unit.name.split(":")[0]!)
            : `chgrp ${groupName(unit.gids[0] ?? 0)} ${target} && chmod 640 ${target}`,
    });
  }
  return out;
}

/** ssl_protocols=TLSv1.2, TLSv1.3 -> ["TLSv1.2", "TLSv1.3"]; null when absent (xrdp's default: 1.2 and 1.3). */
function sslProtocols(ini: Ini): string[] | null {
  const value = iniValue(ini, "Globals", "ssl_protocols")?.value;
  if (value === undefined || value.trim() === "") return null;
  return value
    .split(/[\s,]+/)
    .map((v) => v.trim())
    .filter(Boolean);
}
