import { DAY_MS, describeCertificate, normalizeThumbprint } from "../../core/certificate";
import type { ConfiguredCertificate, HostFinding, InspectOutcome, Issuance, KeyState, SecurityLayer } from "../host-backend";
import { asArray, field, parsePsDate } from "./powershell";

/**
 * What inspect.ps1 reports (schema 2, see the contract at the top of the
 * script), mapped onto the host contract. Pure: tests feed it JSON shaped as
 * Windows PowerShell 5.1 writes it, and every property may be missing, null,
 * or a lone object where an array was meant.
 */
export const ELEVATE_FIX = "run from an elevated prompt (Administrator)";

const MACHINE_KEYS = "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys";
const CNG_KEYS = "C:\\ProgramData\\Microsoft\\Crypto\\Keys";
/** The Remote Desktop firewall group by resource id: its display name is localized. */
const FIREWALL_GROUP = "@FirewallAPI.dll,-28752";

/** TermService, which presents the certificate, runs as NETWORK SERVICE: that is who must read the key. */
function keyAclFix(keyPath: string | null): string {
  return keyPath
    ? `give NETWORK SERVICE read access to the key file: icacls "${keyPath}" /grant *S-1-5-20:R (use the SID S-1-5-20, not the localized name)`
    : `give NETWORK SERVICE (SID S-1-5-20) read access to the certificate's key file in ${MACHINE_KEYS} (CNG keys: ${CNG_KEYS}), e.g. icacls <file> /grant *S-1-5-20:R`;
}

/** Windows' own certificate: rdpcert rotate deletes it with its key and SessionEnv issues a new pair with a correct ACL (windows-evidence/03 3.3). */
const OWN_KEY_FIX = "rdpcert rotate (deletes Windows' certificate with its key and restarts SessionEnv, which issues a new pair)";

function unreadableKeyFix(ownKey: boolean, keyPath: string | null): string {
  return ownKey
    ? `${OWN_KEY_FIX}; if it recurs, something rewrites the MachineKeys ACL: ${keyAclFix(keyPath)}`
    : `${keyAclFix(keyPath)}; if the key file is gone or corrupt, re-import the certificate with its key (PFX)`;
}

/** Who may read Windows' RDP key by default (windows-evidence/01 1.1): checks run as an admin cannot open it from Server 2019. */
const OWN_KEY_ACL_NOTE =
  "from Windows Server 2019 (build 17763) Windows' own RDP key grants SYSTEM, NETWORK SERVICE and NT SERVICE\\SessionEnv, not Administrators";

interface EventMeaning {
  readonly severity: HostFinding["severity"];
  readonly text: string;
  readonly fix: string | null;
}

const FELL_BACK: EventMeaning = {
  severity: "warn",
  text: "the configured certificate is unusable, so Windows fell back to its self-signed one (clients see another certificate)",
  fix: "make the configured certificate usable (installed in Cert:\\LocalMachine\\My with its key, readable by NETWORK SERVICE, S-1-5-20), or run rdpcert rotate to clear an SSLCertificateSHA1Hash that names a missing certificate",
};

/** What the System log's RDP and Schannel events mean for the listener (Microsoft, "Troubleshoot RDP connection issues by Event ID"). */
const EVENT_MEANINGS: Readonly<Record<number, EventMeaning>> = {
  1051: FELL_BACK,
  1055: FELL_BACK,
  1059: FELL_BACK,
  1056: { severity: "info", text: "Windows created a new self-signed Remote Desktop certificate", fix: null },
  1057: {
    severity: "critical",
    text: "Windows failed to create a new self-signed certificate",
    fix: `check that SYSTEM and NETWORK SERVICE (S-1-5-20) have access to ${MACHINE_KEYS}, then run rdpcert rotate`,
  },
  1058: {
    severity: "critical",
    text: "Windows failed to replace the expired self-signed certificate",
    fix: "rdpcert rotate (removes the stale certificate and restarts SessionEnv so that Windows issues a new one)",
  },
  1063: { severity: "info", text: "Windows installed a certificate from the Group Policy template (AD CS auto-enrollment)", fix: null },
  1064: {
    severity: "critical",
    text: "Windows failed to create a certificate from the Group Policy template",
    fix: "check the template and the enrollment (certutil -pulse, the CA's event log); rdpcert does not replace template certificates",
  },
  1065: {
    severity: "critical",
    text: "the Group Policy template certificate expired and was not replaced",
    fix: "renew it through AD CS auto-enrollment (certutil -pulse); rdpcert does not replace template certificates",
  },
  // Schannel serves every TLS server on the host (IIS too), and 36870 names no key (windows-evidence/02): see eventFindings.
  36870: {
    severity: "warn",
    text: "Schannel cannot access a TLS server credential's private key",
    fix: `for Windows' own self-signed certificate: ${OWN_KEY_FIX}; for a custom one: ${keyAclFix(null)}`,
  },
};

/** A newer 1056 (new certificate created) means these failures were followed by a success. */
const RESOLVED_BY_1056 = new Set([1057, 1058]);
const HASH_TYPES: Readonly<Record<number, string>> = {
  0: "not valid",
  1: "Windows' default self-signed certificate",
  2: "a Group Policy template (AD CS auto-enrollment)",
  3: "a custom certificate",
};

const SECURITY_LAYERS: Readonly<Record<number, SecurityLayer>> = { 0: "rdp", 1: "negotiate", 2: "tls" };

const record = (value: unknown): Record<string, unknown> | null =>
  value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;

/** Event messages run to paragraphs: the first line says what happened. */
const firstLine = (text: string | null): string =>
  (text ?? "")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l !== "") ?? "";

function age(date: Date, now: Date): string {
  const days = Math.floor((now.getTime() - date.getTime()) / DAY_MS);
  const when = date.toISOString().replace(/\.\d{3}Z$/, "Z");
  return days < 0 ? when : days === 0 ? `${when}, today` : `${when}, ${days} day${days === 1 ? "" : "s"} ago`;
}

interface PartError {
  readonly part: string;
  readonly message: string;
  readonly category: string | null;
}

function partErrors(doc: Record<string, unknown>): PartError[] {
  return asArray(doc.errors).flatMap((e) => {
    const part = field(e, "part", "string");
    return part ? [{ part, message: firstLine(field(e, "message", "string")), category: field(e, "category", "string") }] : [];
  });
}

const isDenied = (message: string | null, category: string | null): boolean =>
  category === "PermissionDenied" || (message !== null && /denied|0x80041003|0x80070005/i.test(message));

/** The inspect.ps1 document this parser reads; the script says which it writes in `schema`. */
export const INSPECT_SCHEMA = 2;

export function inspectionFromScript(json: unknown, now: Date): InspectOutcome {
  const doc = record(json);
  if (!doc) return { ok: false, reason: "inspect.ps1 answered with something other than a JSON object", fix: null };
  // Another schema's fields mean other things (or are absent): read none of them.
  // The command reports it as a check that could not be made (exit 3, UNKNOWN).
  if (doc.schema !== INSPECT_SCHEMA) {
    const said = typeof doc.schema === "number" ? `schema ${doc.schema}` : "no schema number";
    return {
      ok: false,
      reason: `inspect.ps1 answered with ${said}; this rdpcert reads schema ${INSPECT_SCHEMA}, so its scripts come from another version`,
      fix: "reinstall rdpcert: the scripts ship with it (dist/src/hosts/windows/scripts)",
    };
  }
  const terminalName = field(doc, "terminalName", "string") ?? "RDP-tcp";
  const setting = record(doc.tsSetting);
  if (!setting) {
    const error = field(doc, "tsSettingError", "string");
    if (error) {
      const denied = isDenied(error, field(doc, "tsSettingErrorCategory", "string"));
      return {
        ok: false,
        reason: `cannot read WMI Win32_TSGeneralSetting (${terminalName}): ${firstLine(error)}`,
        fix: denied
          ? ELEVATE_FIX
          : "check that the Remote Desktop Services WMI provider answers: Get-CimInstance -Namespace root\\cimv2\\TerminalServices -ClassName Win32_TSGeneralSetting",
      };
    }
    return {
      ok: false,
      reason: `WMI Win32_TSGeneralSetting has no ${terminalName} listener (is Remote Desktop enabled?)`,
      fix: "enable Remote Desktop (Settings > System > Remote Desktop), then run rdpcert status again",
    };
  }

  const errors = partErrors(doc);
  const errorOf = (part: string): PartError | null => errors.find((e) => e.part === part) ?? null;
  const findings: HostFinding[] = [];

  const configuredHash = field(setting, "sslCertificateSha1Hash", "string");
  const normalized = configuredHash ? normalizeThumbprint(configuredHash) : "";
  const configuredThumbprint = /^[0-9A-F]{40}$/.test(normalized) ? normalized : null;

  const portNumber = field(doc, "portNumber", "number");
  const port = portNumber !== null && Number.isInteger(portNumber) && portNumber > 0 && portNumber < 65536 ? portNumber : 3389;
  const portError = errorOf("portNumber");
  if (portError || (portNumber !== null && port !== portNumber)) {
    findings.push({
      severity: "warn",
      code: "port-unreadable",
      message: `cannot read PortNumber (${portError?.message ?? `not a port: ${portNumber}`}); assuming 3389`,
      fix: portError && isDenied(portError.message, portError.category) ? ELEVATE_FIX : null,
    });
  }

  const layerNumber = field(setting, "securityLayer", "number");
  const securityLayer = layerNumber === null ? "unknown" : (SECURITY_LAYERS[layerNumber] ?? "unknown");
  if (securityLayer === "rdp") {
    findings.push({
      severity: "critical",
      code: "security-layer-rdp",
      message: "SecurityLayer is 0 (RDP): the listener never offers TLS",
      fix: "set SecurityLayer to 1 (negotiate) or 2 (TLS)",
    });
  }
  const nlaNumber = field(setting, "userAuthenticationRequired", "number");

  const { certificate, key, issuance } = certificateAndKey(doc, configuredHash, configuredThumbprint, errorOf("certificate"));

  for (const service of asArray(doc.services)) {
    const name = field(service, "name", "string");
    const status = field(service, "status", "string") ?? "Unknown";
    if (!name || status === "Running") continue;
    const startType = field(service, "startType", "string");
    const termService = name === "TermService";
    const start = startType === "Disabled" ? `Set-Service ${name} -StartupType Manual; Start-Service ${name}` : `Start-Service ${name}`;
    findings.push({
      severity: termService ? "critical" : "warn",
      code: `service-${name.toLowerCase()}-${status.toLowerCase()}`,
      message: `${name} is ${status}${startType === "Disabled" ? " (Disabled)" : ""}${termService ? ": the listener is down" : ""}`,
      fix: status === "Missing" ? null : start,
    });
  }

  findings.push(...eventFindings(doc, now));
  findings.push(...bindingFindings(doc, setting, configuredThumbprint));

  const firewall = record(doc.firewall);
  const rules = field(firewall, "rules", "number") ?? 0;
  const portRules = field(firewall, "portRules", "number");
  if (rules > 0 && field(firewall, "enabled", "number") === 0) {
    // An admin's own enabled allow rule for the port counts: then the group being off is a note.
    findings.push(
      portRules !== null && portRules > 0
        ? {
            severity: "info",
            code: "firewall-rules-disabled",
            message: `the inbound Remote Desktop firewall rules are disabled, but ${portRules} other enabled rule(s) allow port ${port}`,
            fix: null,
          }
        : {
            severity: "critical",
            code: "firewall-rules-disabled",
            message: `all ${rules} inbound Remote Desktop firewall rules are disabled`,
            fix: `Enable-NetFirewallRule -Group "${FIREWALL_GROUP}"`,
          },
    );
  }

  for (const error of errors) {
    if (error.part === "portNumber" || error.part === "certificate") continue;
    // Firewall errors are shown (a host without the NetSecurity module, a denied query), never swallowed.
    const events = error.part.startsWith("events:");
    findings.push({
      severity: events || error.part === "firewall" ? "info" : "warn",
      code: `${error.part
        .replace(/^events:.*/, "events")
        .replace(/^service:/, "service-")
        .toLowerCase()}-unreadable`,
      message: events
        ? `cannot read the System event log (${error.part.slice("events:".length)}): ${error.message}`
        : `cannot read ${error.part}: ${error.message}`,
      fix: isDenied(error.message, error.category) ? ELEVATE_FIX : null,
    });
  }

  return {
    ok: true,
    inspection: {
      backend: "windows",
      source: `WMI Win32_TSGeneralSetting (${terminalName})`,
      listener: { address: null, port, securityLayer, nla: nlaNumber === null ? null : nlaNumber !== 0 },
      certificate,
      key,
      issuance,
      configuredThumbprint,
      findings,
    },
  };
}

/** The binding (KB 3042780), the key folders' ACLs (KB 2001849), other listeners. */
function bindingFindings(doc: Record<string, unknown>, setting: Record<string, unknown>, configuredThumbprint: string | null): HostFinding[] {
  const findings: HostFinding[] = [];
  const hashType = field(setting, "sslCertificateSha1HashType", "number");
  const registryHashPresent = field(doc, "registryHashPresent", "boolean");
  if (hashType === 2) {
    findings.push({
      severity: "info",
      code: "binding-group-policy",
      message: `the certificate is managed by ${HASH_TYPES[2]} (SSLCertificateSHA1HashType 2): rdpcert rotate and run leave it alone`,
      fix: "renew it through AD CS auto-enrollment (certutil -pulse); a hash set by hand would fight the policy",
    });
  } else if (hashType === 0) {
    findings.push({
      severity: "warn",
      code: "binding-not-valid",
      message: "SSLCertificateSHA1HashType is 0 (not valid)",
      fix: "clear SSLCertificateSHA1Hash under HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp and restart SessionEnv",
    });
  }
  if (hashType === 1 && registryHashPresent === true && configuredThumbprint) {
    findings.push({
      severity: "info",
      code: "binding-registry-value",
      message: `SSLCertificateSHA1Hash is set in the registry (${field(doc, "registryHash", "string") ?? "?"}) while WMI reports the default self-signed binding`,
      fix: null,
    });
  }
  for (const folder of asArray(doc.keyFolders)) {
    const path = field(folder, "path", "string") ?? "the key folder";
    // The default (KB 278381; windows-evidence/01 1.1) is Everyone (R,W) + Administrators Full Control, no SYSTEM entry:
    // only a folder where SYSTEM's token may not create a file keeps Windows from issuing its key.
    if (field(folder, "windowsCanCreate", "boolean") !== false) continue;
    findings.push({
      severity: "critical",
      code: "key-folder-acl",
      message: `${path} lets neither SYSTEM, Administrators nor Everyone create files: Windows cannot create or replace its certificate's key (events 1057/1058 "Access is denied")`,
      fix: `restore the default ACL of the folder (KB 278381): icacls "${path}" /grant *S-1-1-0:(R,W) *S-1-5-32-544:F (this folder only, as Windows sets it), then rdpcert rotate; rdpcert does not delete a certificate while this is broken`,
    });
  }
  const terminalName = field(doc, "terminalName", "string") ?? "RDP-tcp";
  for (const other of asArray(doc.listeners)) {
    const name = field(other, "name", "string");
    if (!name || name.toLowerCase() === terminalName.toLowerCase()) continue;
    findings.push({
      severity: "info",
      code: "other-listener",
      message: `another listener: ${name} on port ${field(other, "port", "number") ?? "?"} (not judged here: this report is about ${terminalName})`,
      fix: null,
    });
  }
  return findings;
}

function certificateAndKey(
  doc: Record<string, unknown>,
  configuredHash: string | null,
  configuredThumbprint: string | null,
  error: PartError | null,
): { certificate: ConfiguredCertificate; key: KeyState; issuance: Issuance } {
  const cert = record(doc.certificate);
  const noKey = (reason: string): KeyState => ({ state: "unknown", location: null, reason });
  if (!cert) {
    const location = `Cert:\\LocalMachine\\My\\${configuredThumbprint ?? "(none)"}`;
    if (configuredHash && !configuredThumbprint) {
      return {
        certificate: {
          state: "unreadable",
          location,
          reason: `SSLCertificateSHA1Hash is "${configuredHash}", not a 40-digit thumbprint`,
          fix: "set SSLCertificateSHA1Hash to the thumbprint of an installed certificate, or clear it",
        },
        key: noKey("no certificate to check the key of"),
        issuance: "unknown",
      };
    }
    if (error) {
      return {
        certificate: {
          state: "unreadable",
          location,
          reason: `cannot read the certificate store: ${error.message}`,
          fix: isDenied(error.message, error.category) ? ELEVATE_FIX : null,
        },
        key: noKey("the certificate store could not be read"),
        issuance: "unknown",
      };
    }
    return {
      certificate: configuredThumbprint
        ? {
            state: "missing",
            location,
            reason: `SSLCertificateSHA1Hash names ${configuredThumbprint}, which is in neither Remote Desktop nor My: Windows silently falls back to a self-signed certificate`,
            fix: "rdpcert rotate clears the dangling SSLCertificateSHA1Hash (or point it at an installed certificate), then Windows uses its own self-signed certificate",
          }
        : { state: "missing", location, reason: "no certificate is configured (SSLCertificateSHA1Hash is empty)", fix: null },
      key: noKey("no certificate to check the key of"),
      issuance: "unknown",
    };
  }

  const store = field(cert, "store", "string") ?? "My";
  const thumbprint = normalizeThumbprint(field(cert, "thumbprint", "string") ?? configuredThumbprint ?? "");
  const location = `Cert:\\LocalMachine\\${store}\\${thumbprint}`;
  const raw = field(cert, "rawData", "string");
  const der = raw ? Buffer.from(raw, "base64") : null;
  const certificate: ConfiguredCertificate =
    der && der.length > 0 ? { state: "present", der, location } : { state: "unreadable", location, reason: `${location} came without its raw data` };
  let issuance: Issuance = "unknown";
  if (certificate.state === "present") {
    try {
      issuance = describeCertificate(certificate.der).selfSigned ? "self-signed" : "ca-issued";
    } catch {
      issuance = "unknown";
    }
  }

  const keyPath = field(cert, "keyPath", "string");
  const keyError = field(cert, "privateKeyError", "string");
  const access = record(cert.keyAccess);
  // Whether NETWORK SERVICE (TermService's account) may read the key file: privateKeyOpens in inspect.ps1's older schema 2 output, keyAccess.networkService since.
  const serving = access ? field(access, "networkService", "boolean") : field(cert, "privateKeyOpens", "boolean");
  const callerReads = field(access, "caller", "boolean");
  const opened = field(cert, "keyOpened", "boolean");
  const fileExists = field(cert, "keyFileExists", "boolean");
  const ownKey = store === "Remote Desktop" && issuance !== "ca-issued";
  const replaceable = ownKey;
  const where = keyPath ?? location;
  const evidence = keyFailureEvidence(doc, certificate.state === "present" ? certificate.der : null);
  const openError = keyError ? firstLine(keyError) : "it does not open";
  let key: KeyState;
  if (field(cert, "hasPrivateKey", "boolean") === false) {
    key = {
      state: "missing",
      location,
      reason: `${location} has no private key`,
      fix: ownKey
        ? "rdpcert rotate (Windows then issues a new certificate with its key)"
        : "re-import the certificate with its private key (PFX) into Cert:\\LocalMachine\\My",
    };
  } else if (fileExists === false) {
    // windows-evidence/03 3.3: an entry whose key file is gone blocks a new one (1057/1058 "Keyset does not exist", "object already exists").
    key = {
      state: "missing",
      location: where,
      reason: `the key file ${where} of ${location} is gone`,
      fix: ownKey ? OWN_KEY_FIX : "re-import the certificate with its private key (PFX) into Cert:\\LocalMachine\\My",
      replaceable,
    };
  } else if (serving === false) {
    // Judged by the key file's ACL for the account TermService runs as, not by whether an elevated admin can open it.
    key = {
      state: "unreadable",
      location: where,
      reason: `NETWORK SERVICE (S-1-5-20), which TermService runs as, cannot read the key file ${where} of ${location}`,
      fix: unreadableKeyFix(ownKey, keyPath),
      basis: "listener",
      replaceable,
    };
  } else if (opened === false && callerReads === true) {
    // This account may read the file, and the key still does not open: the key itself is damaged.
    key = {
      state: "corrupt",
      location: where,
      reason: `the private key of ${location} exists but will not open, although this account may read ${where}: ${openError}${evidence ? `; ${evidence}` : ""}`,
      fix: ownKey ? OWN_KEY_FIX : "re-import the certificate with its private key (PFX), or re-issue it",
      replaceable,
    };
  } else if (opened === false && evidence) {
    key = {
      state: "corrupt",
      location: where,
      reason: `the private key of ${location} does not work for the listener: ${evidence} (this account cannot open it to check: ${openError}${callerReads === false ? `; ${OWN_KEY_ACL_NOTE}` : ""})`,
      fix: ownKey ? OWN_KEY_FIX : "re-import the certificate with its private key (PFX), or re-issue it",
      replaceable,
    };
  } else if (opened === false && callerReads === null && !ACCESS_ERROR.test(keyError ?? "")) {
    key = {
      state: "corrupt",
      location: where,
      reason: `the private key of ${location} will not open: ${openError}`,
      fix: ownKey ? OWN_KEY_FIX : "re-import the certificate with its private key (PFX), or re-issue it",
      replaceable,
    };
  } else if (opened === false && callerReads === false && serving === true) {
    // Not the serving identity, so its failure to open says nothing (windows-evidence/01 1.7, 1.8): judged by the ACL for NETWORK SERVICE.
    key = {
      state: "ok",
      location: where,
      reason: `judged by the key file's ACL (NETWORK SERVICE may read it); not opened, since this account may not: ${OWN_KEY_ACL_NOTE}`,
    };
  } else if (opened === false) {
    // Say "not checked" rather than call a healthy key corrupt (windows-evidence/01 1.7, 1.8).
    key = {
      state: "unknown",
      location: where,
      reason: `not checked whether the private key of ${location} opens: this account cannot open it (${openError})${callerReads === false ? `, and its ACL does not let this account read it: ${OWN_KEY_ACL_NOTE}; run as SYSTEM to check` : ""}${serving === true ? "; NETWORK SERVICE may read it" : ""}`,
    };
  } else if (serving === true) {
    key = { state: "ok", location: where, reason: null };
  } else {
    key = { state: "unknown", location, reason: keyError ? firstLine(keyError) : "the private key was not checked" };
  }
  return { certificate, key, issuance };
}

/** Errors that say "not for you" rather than "broken": Keyset does not exist (0x80090016), access denied. */
const ACCESS_ERROR = /keyset does not exist|access is denied|access denied|0x80090016|0x80070005|0x80090010/i;

/**
 * Schannel 36870 is logged for any TLS server whose key cannot be accessed
 * (IIS, LDAPS, WinRM, Windows Admin Center). Its data is Type, ErrorCode and
 * ErrorStatus and names no key or thumbprint (windows-evidence/02): newer
 * builds add "The SSPI client process is <name> (PID: <n>)". It is another
 * server's only when that line names a process other than svchost (which
 * hosts TermService); otherwise it may be the listener's own.
 */
function schannelProcess(event: unknown): string | null {
  const match = /SSPI client process is\s+(.+?)\s*\(PID/i.exec(field(event, "message", "string") ?? "");
  return match ? match[1]!.trim() : null;
}

const otherTlsServer = (event: unknown): string | null => {
  const process = schannelProcess(event);
  return process && !/^svchost(\.exe)?$/i.test(process) ? process : null;
};

/** 0x8009030D (SEC_E_UNKNOWN_CREDENTIALS) as the message or the data gives it: hex, or signed/unsigned decimal. */
const isCredentialKeyError = (event: unknown): boolean => {
  const data = asArray(record(event)?.data).filter((d): d is string => typeof d === "string");
  return /8009030d|-2146893043|2148074253/i.test([...data, field(event, "message", "string") ?? ""].join(" "));
};

/**
 * Host evidence that the listener cannot use its key: Schannel 36870
 * (0x8009030D) not attributed to another process, newer than the
 * certificate's notBefore (an older one concerns an older certificate).
 */
function keyFailureEvidence(doc: Record<string, unknown>, der: Buffer | null): string | null {
  let since = 0;
  if (der) {
    try {
      since = describeCertificate(der).notBefore.getTime();
    } catch {
      since = 0;
    }
  }
  for (const event of asArray(doc.events)) {
    if (field(event, "id", "number") !== 36870 || !isCredentialKeyError(event) || otherTlsServer(event)) continue;
    const newest = parsePsDate(record(event)?.newest);
    if (newest && newest.getTime() < since) continue;
    const count = field(event, "count", "number") ?? 1;
    const state =
      /internal error state is (\d+)/i.exec(field(event, "message", "string") ?? "")?.[1] ??
      asArray(record(event)?.data).filter((d): d is string => typeof d === "string")[2] ??
      null;
    return `Schannel logged event 36870 ${count === 1 ? "once" : `${count} times`} since the certificate was issued (0x8009030D${state ? `, internal error state ${state}` : ""}: it cannot access the TLS server credential's private key)`;
  }
  return null;
}

function eventFindings(doc: Record<string, unknown>, now: Date): HostFinding[] {
  const events = asArray(doc.events).flatMap((event) => {
    const id = field(event, "id", "number");
    if (id === null) return [];
    return [
      {
        id,
        count: field(event, "count", "number") ?? 1,
        newest: parsePsDate(record(event)?.newest),
        message: firstLine(field(event, "message", "string")),
        other: id === 36870 ? otherTlsServer(event) : null,
        operational: /\/Operational$/i.test(field(event, "log", "string") ?? ""),
      },
    ];
  });
  const created = events.filter((e) => e.id === 1056 && e.newest).map((e) => e.newest!.getTime());
  const lastCreated = created.length > 0 ? Math.max(...created) : null;
  return events.map(({ id, count, newest, message, other, operational }) => {
    // The listener's Operational channel: per-connection errors and warnings, shown as notes; a TLS error in the protocol stream as a warning.
    const known: EventMeaning = operational
      ? /security layer detected an error|0x8009030[0-9a-f]/i.test(message)
        ? { severity: "warn", text: "RemoteConnectionManager/Operational: TLS failed on incoming connections", fix: null }
        : { severity: "info", text: "RemoteConnectionManager/Operational", fix: null }
      : (EVENT_MEANINGS[id] ?? { severity: "warn", text: "a Remote Desktop certificate event", fix: null });
    const meaning: EventMeaning = other
      ? { severity: "info", text: `${known.text}, for another TLS server (the SSPI client process is ${other})`, fix: null }
      : id === 36870
        ? { ...known, text: `${known.text} (the event does not say which server: this listener's, or IIS, LDAPS, WinRM...)` }
        : known;
    const resolved = RESOLVED_BY_1056.has(id) && newest !== null && lastCreated !== null && lastCreated > newest.getTime();
    const times = count === 1 ? "once" : `${count} times`;
    const when = newest ? `, newest ${age(newest, now)}` : "";
    return {
      severity: resolved ? "info" : meaning.severity,
      code: operational ? `event-operational-${id}` : `event-${id}`,
      message: `event ${id} (${times}${when}): ${meaning.text}${resolved ? `; since resolved: Windows created a new certificate on ${age(new Date(lastCreated), now)}` : ""}${message ? ` - "${message}"` : ""}`,
      fix: resolved ? null : meaning.fix,
    };
  });
}
