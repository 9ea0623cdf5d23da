import { existsSync, statSync } from "node:fs";
import { basename } from "node:path";
import { type CertificateInfo, describeCertificate } from "../../core/certificate";
import { type CommandRunner, runCommand } from "../command-runner";
import { readBoundedText } from "../local/bounded-read";
import { keyStateOf } from "../local/key-match";
import type { ConfiguredCertificate, HostBackend, HostFinding, InspectOutcome, KeyState, RotationSteps, ServerIdentity } from "../host-backend";
import { createGrdRotation } from "./grd-rotation";
import { type Identity, readableBy } from "../xrdp/file-access";
import { type ListenerLookup, findListeningProcess } from "../xrdp/listener-process";
import { resolveIdentity } from "../xrdp/runtime-user";
import { GRD_CONF, GRD_DEFAULT_PORT, GRD_LOCAL_STATE_CONF, readGrdSystemSettings } from "./grd-conf";
import { type UserAccount, readGsettingsPair, userAccount, userByUid } from "./grd-gsettings";
import { type Platform, currentPlatform, isLinux } from "../../core/platform";

/**
 * gnome-remote-desktop (Ubuntu 24.04's default RDP server) on the host contract: inspection
 * of both of its modes (issue 24).
 * - user mode (43, Debian 12; also 46+'s headless/screen-share): GSettings
 *   org.gnome.desktop.remote-desktop.rdp tls-cert/tls-key of the user whose session runs the
 *   daemon (systemd user unit gnome-remote-desktop.service), read with gsettings as that user;
 * - system mode (46+): [RDP] tls-cert/tls-key/port of /etc/gnome-remote-desktop/grd.conf
 *   (and the local-state copy later versions layer over it), served by the system unit
 *   gnome-remote-desktop.service as the user gnome-remote-desktop.
 * g-r-d loads its pair once at start (a new pair needs a restart) and accepts only NLA.
 */
export const GRD_SYSTEM_USER = "gnome-remote-desktop";

export interface GrdBackendOptions {
  /** The user whose session serves RDP (user mode); null: the owner of the process listening on the port. */
  readonly user?: string | null;
  /** grd.conf (system mode); system mode is used when it exists and no user was given. */
  readonly confPath?: string;
  /** The layered local-state copy (later versions); tests point it elsewhere. */
  readonly localStateConf?: string;
  /** The port (user mode has no setting for it in 43: 3389). */
  readonly port?: number | null;
  readonly runner?: CommandRunner;
  readonly findListener?: (port: number, address: string | null) => ListenerLookup;
  readonly passwd?: string;
  /** The warn threshold, for the "nothing renews it" finding's severity. */
  readonly warnDays?: number;
  readonly now?: () => Date;
  readonly platform?: Platform;
  /** grdctl for system mode's writes; null: write grd.conf; default /usr/bin/grdctl when it exists. */
  readonly grdctl?: string | null;
}

export type GrdMode = "user" | "system";

export function grdMode(options: Pick<GrdBackendOptions, "user" | "confPath">): GrdMode {
  return options.user ? "user" : existsSync(options.confPath ?? GRD_CONF) ? "system" : "user";
}

export function createGrdBackend(options: GrdBackendOptions = {}): HostBackend {
  const platform = options.platform ?? currentPlatform();
  const runner = options.runner ?? runCommand;
  const mode = grdMode(options);
  // Whose files and settings a rotation changes: known after the inspection that every rotation starts with.
  let account: UserAccount | null =
    mode === "system" ? userAccount(GRD_SYSTEM_USER, options.passwd) : options.user ? userAccount(options.user, options.passwd) : null;
  const steps = (): ReturnType<typeof createGrdRotation> => {
    if (!account) throw new Error("no serving user known: inspect first, or pass --grd-user NAME");
    return createGrdRotation({
      runner,
      mode,
      account,
      confPath: options.confPath ?? GRD_CONF,
      grdctl: options.grdctl !== undefined ? options.grdctl : existsSync("/usr/bin/grdctl") ? "/usr/bin/grdctl" : null,
    });
  };
  const rotation: RotationSteps = {
    refuseTargets: (inspection) => steps().refuseTargets(inspection),
    refuseSupplied: (...args) => steps().refuseSupplied(...args),
    describe: (...args) => steps().describe(...args),
    collectBackup: (...args) => steps().collectBackup(...args),
    replace: (...args) => steps().replace(...args),
    restart: (...args) => steps().restart(...args),
    restore: (...args) => steps().restore(...args),
  };
  return {
    kind: "gnome-remote-desktop",
    capability: async () =>
      isLinux(platform) ? { available: true } : { available: false, reason: "gnome-remote-desktop runs on Linux; this host runs " + platform },
    inspect: async () => {
      const outcome = await inspectGrd(options, (found) => (account = found ?? account));
      return outcome;
    },
    rotation,
  };
}

interface Serving {
  readonly identity: Identity | null;
  readonly description: ServerIdentity;
  readonly account: UserAccount | null;
}

async function servingUser(
  options: GrdBackendOptions,
  mode: GrdMode,
  port: number,
  runner: CommandRunner,
): Promise<Serving | { error: string; fix: string | null }> {
  const lookup = (options.findListener ?? findListeningProcess)(port, null);
  const listener = lookup.kind === "found" ? lookup.process : null;
  const named = mode === "system" ? GRD_SYSTEM_USER : (options.user ?? null);
  let account: UserAccount | null = null;
  if (named) account = userAccount(named, options.passwd);
  else if (listener) account = userByUid(listener.identity.uid, options.passwd);
  if (!account) {
    if (mode === "user" && !named) {
      const why =
        lookup.kind === "none"
          ? `nothing listens on port ${port}`
          : lookup.kind === "hidden"
            ? "the listening process cannot be seen (run as root)"
            : "the listener's user is not a local user";
      return {
        error: `cannot tell whose session serves RDP: ${why}, and /etc/gnome-remote-desktop/grd.conf (system mode) does not exist`,
        fix: "pass --grd-user NAME (the user whose GNOME session shares the desktop)",
      };
    }
    if (mode === "user") return { error: `the user ${named} does not exist`, fix: "pass --grd-user NAME of a local user" };
  }
  const name = account?.name ?? named ?? "unknown";
  const resolved = await resolveIdentity(runner, name, null, { passwd: options.passwd ?? "/etc/passwd", group: "/etc/group" });
  const identity = listener ? listener.identity : resolved.ok ? resolved.identity : null;
  const description: ServerIdentity = listener
    ? {
        basis: "listener",
        name: listener.identity.name,
        pid: listener.pid,
        detail: `${listener.command} (pid ${listener.pid}) listening on port ${port} runs as ${listener.identity.name}`,
      }
    : {
        basis: identity ? "unit" : "unknown",
        name: identity?.name ?? null,
        pid: null,
        detail: `predicted (nothing seen listening on port ${port}): g-r-d's ${mode === "system" ? "system unit runs as gnome-remote-desktop" : `user unit runs as ${name}`}`,
      };
  return { identity, description, account };
}

async function inspectGrd(options: GrdBackendOptions, found: (account: UserAccount | null) => void = () => undefined): Promise<InspectOutcome> {
  const runner = options.runner ?? runCommand;
  const confPath = options.confPath ?? GRD_CONF;
  const mode = grdMode(options);
  const findings: HostFinding[] = [];
  let certPath: string;
  let keyPath: string;
  let source: string;
  let port = options.port ?? GRD_DEFAULT_PORT;
  let serving: Serving;
  if (mode === "system") {
    const read = readGrdSystemSettings([confPath, options.localStateConf ?? GRD_LOCAL_STATE_CONF]);
    if (!read.ok)
      return {
        ok: false,
        reason: read.reason,
        fix: read.code === "EACCES" ? "run as root (sudo rdpcert status)" : "pass --grd-conf PATH, or --grd-user NAME for a user session's g-r-d",
      };
    const s = read.settings;
    for (const problem of s.problems)
      findings.push({ severity: "warn", code: "grd-conf-port", message: problem, fix: "set port= in [RDP] to a number from 1 to 65535" });
    if (s.enabled === false)
      findings.push({
        severity: "warn",
        code: "grd-rdp-disabled",
        message: `${confPath}: [RDP] enabled=false: the system daemon does not serve RDP`,
        fix: "sudo grdctl --system rdp enable",
      });
    if (!s.tlsCert || !s.tlsKey || s.tlsCert.path === "" || s.tlsKey.path === "") {
      return {
        ok: false,
        reason: `${s.read.join(", ")}: [RDP] ${!s.tlsCert || s.tlsCert.path === "" ? "tls-cert" : "tls-key"} is not set, so gnome-remote-desktop has no TLS pair and does not serve RDP`,
        fix: "sudo grdctl --system rdp set-tls-cert CERT.pem and sudo grdctl --system rdp set-tls-key KEY.pem, then sudo systemctl restart gnome-remote-desktop",
      };
    }
    certPath = s.tlsCert.path;
    keyPath = s.tlsKey.path;
    source = s.read.join(", ");
    port = options.port ?? s.port;
    const who = await servingUser(options, mode, port, runner);
    if ("error" in who) return { ok: false, reason: who.error, fix: who.fix };
    serving = who;
  } else {
    const who = await servingUser(options, mode, port, runner);
    if ("error" in who) return { ok: false, reason: who.error, fix: who.fix };
    serving = who;
    const pair = await readGsettingsPair(runner, serving.account!);
    if (!pair.ok) return { ok: false, reason: pair.reason, fix: pair.fix };
    certPath = pair.certPath;
    keyPath = pair.keyPath;
    source = pair.source;
  }

  found(serving.account);
  const whoName = serving.identity?.name ?? (mode === "system" ? GRD_SYSTEM_USER : "the serving user");
  const certificate = readCertificate(certPath, serving.identity, whoName);
  const key = inspectKey(keyPath, certificate, serving, whoName, findings);
  let info: CertificateInfo | null = null;
  if (certificate.state === "present") {
    try {
      info = describeCertificate(certificate.der);
    } catch {
      info = null;
    }
  }
  findings.push(...renewalFindings(info, certPath, options.warnDays ?? 30, (options.now ?? (() => new Date()))(), mode, serving.account?.name ?? whoName));
  findings.push({
    severity: "info",
    code: "grd-loads-once",
    message: `gnome-remote-desktop reads its pair when it starts: a new pair is served after a restart of ${mode === "system" ? "the system unit gnome-remote-desktop.service" : `${serving.account?.name ?? "the user"}'s user unit gnome-remote-desktop.service`}`,
    fix: null,
  });
  return {
    ok: true,
    inspection: {
      backend: "gnome-remote-desktop",
      source,
      // g-r-d accepts only NLA (CredSSP): never standard RDP security, never TLS alone.
      listener: { address: null, port, securityLayer: "tls", nla: true, tlsVersions: null },
      certificate,
      key,
      issuance: info ? (info.selfSigned ? "self-signed" : "ca-issued") : "unknown",
      configuredThumbprint: null,
      findings,
      server: serving.description,
    },
  };
}

/**
 * GNOME Settings makes the pair (RSA-4096, 2 years, CN=GNOME, `rdp-tls.crt` in the user's
 * data dir) when it is missing and never again: nothing renews it. Said plainly, with a
 * severity that follows its expiry.
 */
export function renewalFindings(info: CertificateInfo | null, certPath: string, warnDays: number, now: Date, mode: GrdMode, user: string): HostFinding[] {
  if (!info || !info.selfSigned) return [];
  const gnomeMade = /(^|,\s*)CN=GNOME(,|$)/.test(info.subject) || basename(certPath) === "rdp-tls.crt";
  if (!gnomeMade) return [];
  const daysLeft = Math.floor((info.notAfter.getTime() - now.getTime()) / 86_400_000);
  const fix = `sudo rdpcert rotate --backend gnome-remote-desktop${mode === "user" ? ` --grd-user ${user}` : ""} --yes (a new pair, g-r-d pointed at it and restarted, verified on the wire), and schedule rdpcert run (rdpcert task install) so that it is renewed before it expires`;
  const what = `the certificate ${certPath} was made by GNOME Settings, and nothing renews it (GNOME Settings makes a new one only when the file is missing; gnome-remote-desktop never does)`;
  if (daysLeft < 0)
    return [
      {
        severity: "critical",
        code: "grd-certificate-not-renewed",
        message: `${what}: it expired ${-daysLeft} days ago, on ${info.notAfter.toISOString().slice(0, 10)}`,
        fix,
      },
    ];
  if (daysLeft <= warnDays)
    return [
      {
        severity: "warn",
        code: "grd-certificate-not-renewed",
        message: `${what}: it expires in ${daysLeft} days, on ${info.notAfter.toISOString().slice(0, 10)}`,
        fix,
      },
    ];
  return [
    {
      severity: "info",
      code: "grd-certificate-not-renewed",
      message: `${what}; it is valid until ${info.notAfter.toISOString().slice(0, 10)}`,
      fix: "schedule rdpcert run (rdpcert task install): it renews the pair in time",
    },
  ];
}

function readCertificate(path: string, server: Identity | null, who: string): ConfiguredCertificate {
  let text: string;
  try {
    text = readBoundedText(path, "certificate", "latin1");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { state: "missing", location: path, reason: `the certificate file ${path} does not exist` };
    if (code === "EACCES" || code === "EPERM")
      return { state: "unchecked", location: path, reason: `the certificate ${path} was not checked: this user cannot read it (run as root)` };
    return { state: "unreadable", location: path, reason: `cannot read the certificate ${path}: ${code ?? (error as Error).message}` };
  }
  if (server) {
    const access = readableBy(path, server);
    if (!access.ok && access.checked)
      return {
        state: "unreadable",
        location: path,
        reason: `gnome-remote-desktop (${who}) cannot read its certificate: ${access.reason}`,
        fix: `chmod 644 ${path} (a certificate is public)`,
      };
  }
  const match = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/.exec(text);
  if (!match) return { state: "not-pem", location: path, reason: `${path} holds no complete PEM certificate (truncated or not a certificate)` };
  return { state: "present", der: Buffer.from(match[1]!.replace(/\s+/g, ""), "base64"), location: path };
}

function inspectKey(path: string, certificate: ConfiguredCertificate, serving: Serving, who: string, findings: HostFinding[]): KeyState {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM")
      return { state: "unknown", location: path, reason: `the private key ${path} was not checked: this user cannot look at it (run as root)` };
    return { state: "missing", location: path, reason: `the private key file ${path} does not exist` };
  }
  if ((mode & 0o004) !== 0) {
    findings.push({
      severity: "warn",
      code: "key-world-readable",
      message: `the private key ${path} is readable by every user (mode ${(mode & 0o7777).toString(8).padStart(4, "0")})`,
      fix: `chmod o-rwx ${path}`,
    });
  }
  if (serving.identity) {
    const access = readableBy(path, serving.identity);
    if (!access.ok && access.checked) {
      const owner = serving.account ? `${serving.account.name}` : who;
      return {
        state: "unreadable",
        location: path,
        reason: `gnome-remote-desktop (${who}) cannot read its private key: ${access.reason}`,
        fix: `chown ${owner} ${path} && chmod 600 ${path}`,
        basis: serving.description.basis,
      };
    }
  }
  return keyStateOf(path, certificate, "gnome-remote-desktop");
}
