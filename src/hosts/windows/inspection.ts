import { describeCertificate, normalizeThumbprint } from "../../core/certificate";
import type { ConfiguredCertificate, HostFinding, InspectOutcome, Issuance, KeyState, SecurityLayer } from "../host-backend";
import { asArray, field, parsePsDate } from "./powershell";

/** What inspect.ps1 reports, mapped onto the host contract. Pure: tests feed it 5.1-shaped JSON. */
const SOURCE = "WMI Win32_TSGeneralSetting (RDP-tcp)";
const MACHINE_KEYS_FIX =
  "give NETWORK SERVICE (S-1-5-20) read access to the key under C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys (or Crypto\\Keys for CNG), or delete the certificate and run Restart-Service SessionEnv so Windows creates a new one";

const EVENT_MEANINGS: Readonly<Record<number, { severity: HostFinding["severity"]; text: string; fix: string | null }>> = {
  1056: { severity: "info", text: "Windows created a new self-signed Remote Desktop certificate", fix: null },
  1057: { severity: "critical", text: "Windows failed to create a new self-signed certificate", fix: "fix the MachineKeys permissions, then delete the stale certificate and run Restart-Service SessionEnv" },
  1058: { severity: "critical", text: "Windows failed to replace the expired self-signed certificate", fix: "delete the expired certificate from Cert:\\LocalMachine\\Remote Desktop and run Restart-Service SessionEnv" },
  1051: { severity: "warn", text: "the configured certificate is unusable; Windows fell back to its self-signed one", fix: "fix or replace the configured certificate, or clear SSLCertificateSHA1Hash" },
  1055: { severity: "warn", text: "the configured certificate is unusable; Windows fell back to its self-signed one", fix: "fix or replace the configured certificate, or clear SSLCertificateSHA1Hash" },
  1059: { severity: "warn", text: "the configured certificate is unusable; Windows fell back to its self-signed one", fix: "fix or replace the configured certificate, or clear SSLCertificateSHA1Hash" },
  36870: { severity: "critical", text: "Schannel cannot access the TLS server credential's private key (0x8009030D)", fix: MACHINE_KEYS_FIX },
};

const SECURITY_LAYERS: Readonly<Record<number, SecurityLayer>> = { 0: "rdp", 1: "negotiate", 2: "tls" };

export function inspectionFromScript(json: unknown): InspectOutcome {
  if (!json || typeof json !== "object") return { ok: false, reason: "inspect.ps1 returned no object", fix: null };
  const doc = json as Record<string, unknown>;
  const setting = doc.tsSetting;
  const settingError = field(doc, "tsSettingError", "string");
  if (!setting || typeof setting !== "object") {
    const denied = settingError !== null && /denied/i.test(settingError);
    return {
      ok: false,
      reason: settingError ? `cannot read Win32_TSGeneralSetting: ${settingError}` : "Win32_TSGeneralSetting has no RDP-tcp listener (is Remote Desktop enabled?)",
      fix: denied ? "run from an elevated prompt (Run as Administrator)" : "enable Remote Desktop (System Properties > Remote)",
    };
  }
  const findings: HostFinding[] = [];
  const configuredHash = field(setting, "sslCertificateSha1Hash", "string");
  const configuredThumbprint = configuredHash ? normalizeThumbprint(configuredHash) : null;
  const port = field(doc, "portNumber", "number") ?? 3389;
  const portError = field(doc, "portError", "string");
  if (portError) findings.push({ severity: "warn", code: "port-unreadable", message: `cannot read PortNumber (${portError}); assuming 3389`, fix: null });
  const layer = SECURITY_LAYERS[field(setting, "securityLayer", "number") ?? 1] ?? "unknown";
  if (layer === "rdp") findings.push({ severity: "critical", code: "security-layer-rdp", message: "SecurityLayer is 0 (RDP): the listener never offers TLS", fix: "set SecurityLayer to 1 (negotiate) or 2 (TLS)" });
  const nla = field(setting, "userAuthenticationRequired", "number");

  const cert = doc.certificate;
  let certificate: ConfiguredCertificate;
  let key: KeyState;
  let issuance: Issuance = "unknown";
  if (cert && typeof cert === "object") {
    const store = field(cert, "store", "string") ?? "My";
    const thumbprint = normalizeThumbprint(field(cert, "thumbprint", "string") ?? configuredThumbprint ?? "");
    const location = `Cert:\\LocalMachine\\${store}\\${thumbprint}`;
    const raw = field(cert, "rawData", "string");
    certificate = raw ? { state: "present", der: Buffer.from(raw, "base64"), location } : { state: "unreadable", location, reason: `${location} has no raw data` };
    if (certificate.state === "present") {
      try {
        issuance = describeCertificate(certificate.der).selfSigned ? "self-signed" : "ca-issued";
      } catch {
        issuance = "unknown";
      }
    }
    const hasKey = field(cert, "hasPrivateKey", "boolean");
    const opens = field(cert, "privateKeyOpens", "boolean");
    const keyError = field(cert, "privateKeyError", "string");
    key =
      hasKey === false
        ? { state: "missing", location, reason: `${location} has no private key`, fix: "delete the certificate and run Restart-Service SessionEnv (self-signed), or re-import it with its key (PFX)" }
        : opens === true
          ? { state: "ok", location, reason: null }
          : { state: "unreadable", location, reason: `the private key of ${location} cannot be opened${keyError ? `: ${keyError}` : ""}`, fix: MACHINE_KEYS_FIX };
  } else {
    const certError = field(doc, "certificateError", "string");
    const location = `Cert:\\LocalMachine\\My\\${configuredThumbprint ?? "(none)"}`;
    certificate = certError
      ? { state: "unreadable", location, reason: `cannot read the certificate store: ${certError}`, fix: "run from an elevated prompt (Run as Administrator)" }
      : {
          state: "missing",
          location,
          reason: configuredThumbprint
            ? `SSLCertificateSHA1Hash names ${configuredThumbprint}, which is in neither Remote Desktop nor My: Windows silently falls back to a self-signed certificate`
            : "no certificate is configured for RDP-tcp",
          fix: "clear SSLCertificateSHA1Hash (or point it at an installed certificate), then run Restart-Service SessionEnv",
        };
    key = { state: "unknown", location: null, reason: "no certificate to check the key of" };
  }

  for (const service of asArray<Record<string, unknown>>(doc.services)) {
    const name = field(service, "name", "string") ?? "?";
    const status = field(service, "status", "string") ?? "Unknown";
    if (status === "Running") continue;
    const termService = name === "TermService";
    findings.push({
      severity: termService ? "critical" : "warn",
      code: `service-${name.toLowerCase()}-${status.toLowerCase()}`,
      message: `${name} is ${status}${termService ? ": the listener is down" : ""}`,
      fix: status === "Missing" ? null : `Start-Service ${name}`,
    });
  }
  for (const event of asArray<Record<string, unknown>>(doc.events)) {
    const id = field(event, "id", "number");
    if (id === null) continue;
    const meaning = EVENT_MEANINGS[id];
    const count = field(event, "count", "number") ?? 1;
    const newest = parsePsDate(event.newest);
    const message = (field(event, "message", "string") ?? "").split(/\r?\n/)[0]!.trim();
    findings.push({
      severity: meaning?.severity ?? "warn",
      code: `event-${id}`,
      message: `event ${id} x${count}, newest ${newest ? newest.toISOString() : "unknown"}: ${meaning?.text ?? "Remote Desktop certificate event"}${message ? ` ("${message}")` : ""}`,
      fix: meaning?.fix ?? null,
    });
  }
  const eventsError = field(doc, "eventsError", "string");
  if (eventsError) findings.push({ severity: "info", code: "events-unreadable", message: `cannot read the System event log: ${eventsError}`, fix: null });
  const firewall = doc.firewall;
  if (firewall && typeof firewall === "object") {
    const rules = field(firewall, "rules", "number") ?? 0;
    const enabled = field(firewall, "enabled", "number") ?? 0;
    if (rules > 0 && enabled === 0) findings.push({ severity: "critical", code: "firewall-rules-disabled", message: `all ${rules} inbound Remote Desktop firewall rules are disabled`, fix: 'Enable-NetFirewallRule -DisplayGroup "Remote Desktop"' });
  }

  return {
    ok: true,
    inspection: {
      backend: "windows",
      source: SOURCE,
      listener: { address: null, port, securityLayer: layer, nla: nla === null ? null : nla !== 0 },
      certificate,
      key,
      issuance,
      configuredThumbprint,
      findings,
    },
  };
}
