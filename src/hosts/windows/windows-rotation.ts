import { randomBytes } from "node:crypto";
import type { CommandRunner } from "../command-runner";
import { describeCertificate } from "../../core/certificate";
import type {
  BackupItem,
  BackupSet,
  ConfirmsAfterVerify,
  DeploysSupplied,
  GuardsTargets,
  HandsOff,
  HostInspection,
  OffersCandidates,
  RemovesOld,
  RotationContract,
  StepResult,
  SuppliedCertificate,
} from "../host-backend";
import { buildPfx } from "./pfx";
import { type PowerShell, type PowerShellLauncher, asArray, field, runScript } from "./powershell";

/**
 * Windows rotation: Windows issues the listener's
 * self-signed certificate itself. rdpcert backs up the old one (its key as a
 * password-protected PFX where the key is exportable), removes it with its key
 * from `Remote Desktop` (and clears a configured thumbprint that names a
 * missing certificate), restarts SessionEnv, then TermService if no new
 * certificate appears, and verifies by handshake. The new thumbprint is known
 * only after the restart, so `replace` returns null and verification learns it.
 *
 * Windows deploy (`rdpcert deploy`): a supplied certificate goes into
 * LocalMachine\My (from a PFX built here, its password passed as data on
 * stdin), NETWORK SERVICE gets Read on exactly its key file, and the listener
 * is bound to it through CIM (deploy.ps1). Nothing is restarted: a hash set
 * through WMI is what the listener uses for new connections (what win-acme's
 * ImportRDListener.ps1 and Posh-ACME.Deploy's Set-RDSHCertificate rely on);
 * the handshake verifies it, and `confirm` checks that Windows logged no
 * fallback (1051/1055/1059). A rollback puts the binding back exactly and
 * removes the certificate from My only if this deploy imported it.
 */
export interface WindowsRotationOptions {
  readonly runner: CommandRunner;
  readonly launcher?: PowerShellLauncher;
  readonly timeoutMs: number;
  readonly sessionName: string | null;
  readonly inSession: boolean;
  /** The WinStations listener (default RDP-Tcp). */
  readonly listener?: string;
  /** restart.ps1's bounds in seconds (default SERVICE_WAIT_S, CERTIFICATE_WAIT_S). */
  readonly restartWaits?: { readonly serviceSeconds: number; readonly certificateSeconds: number };
}

const WINSTATIONS = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations";
/** restart.ps1's bounds: each service wait, each wait for a certificate; its worst case is 5 service waits and 2 certificate waits. */
export const SERVICE_WAIT_S = 20;
export const CERTIFICATE_WAIT_S = 15;

const storeOf = (location: string): string | null => /^Cert:\\LocalMachine\\([^\\]+)\\/.exec(location)?.[1] ?? null;
const thumbprintOf = (location: string): string | null => /\\([0-9A-F]{40})$/.exec(location)?.[1] ?? null;

/** An RDP session's SESSIONNAME is RDP-Tcp#N; the console's is Console, a service's is unset. */
export function insideRdpSession(sessionName: string | null): boolean {
  // A session on a listener is "<listener>#<n>": rdp-tcp#0 (qwinsta), RDP-Tcp#0 (SESSIONNAME), any case
  // (windows-evidence/05 5.8-5.11). Another listener's sessions follow the same pattern by its name
  // (RDP-Tcp-Admin#1): no capture of one exists, so any "<name>#<digits>" counts. Console, Services do not.
  return sessionName !== null && /^[A-Za-z0-9-]+#\d+$/.test(sessionName.trim());
}

export function createWindowsRotation(
  options: WindowsRotationOptions,
): RotationContract & DeploysSupplied & RemovesOld & OffersCandidates & HandsOff & GuardsTargets & ConfirmsAfterVerify {
  const { timeoutMs } = options;
  const waits = options.restartWaits ?? { serviceSeconds: SERVICE_WAIT_S, certificateSeconds: CERTIFICATE_WAIT_S };
  // Set by replace when it cleared a thumbprint that named a missing certificate: then Windows' own
  // certificate (which may be the one it had all along) is the expected result, not a new one.
  let clearedDangling = false;
  // The next restart restarts nothing: set by a deploy's replace (a binding set through CIM takes effect
  // for new connections), and by the restore of a deploy's backup that did not have to rewrite the
  // binding (the deploy failed before binding). Every replace and restore sets it afresh, so a later
  // rotation in the same process (run's daemon) restarts as it should.
  let skipRestart = false;
  const terminalName = options.listener ?? "RDP-Tcp";
  const shell: PowerShell = { runner: options.runner, ...(options.launcher ? { launcher: options.launcher } : {}) };
  return {
    mustHandOff(replacement) {
      if (options.inSession || !insideRdpSession(options.sessionName)) return null;
      // A deploy binds through CIM and restarts nothing; its rollback restarts SessionEnv, which serves no session.
      if (replacement?.kind === "supplied") return null;
      return `this process runs inside an RDP session (SESSIONNAME=${options.sessionName}): restarting Remote Desktop Services would cut the connection, and with it the rotation`;
    },

    refuseSupplied(inspection, certificate) {
      if (inspection.findings.some((f) => f.code === "binding-group-policy")) {
        return {
          reason:
            "the listener's certificate is managed by a Group Policy certificate template (SSLCertificateSHA1HashType 2): a certificate bound by hand would take precedence over the policy, and the two would fight",
          fix: "renew through the template (certutil -pulse), or remove the policy's Server authentication certificate template setting (Remote Desktop Session Host > Security) before deploying by hand",
        };
      }
      // --thumbprint needs only the thumbprint (deploy.ps1 finds it in My); a certificate with a key needs its bytes.
      if (certificate.keyPem !== null && certificate.chain.length === 0)
        return {
          reason: `${certificate.thumbprint} has no certificate bytes to deploy`,
          fix: "pass the certificate (--pfx, --cert/--key) or a thumbprint of a certificate in LocalMachine\\My (--thumbprint)",
        };
      return null;
    },

    describe(inspection, replacement, restart) {
      if (replacement.kind === "supplied") return describeDeploy(inspection, replacement.certificate, terminalName);
      const location = inspection.certificate.location;
      const missing = inspection.certificate.state !== "present" && inspection.configuredThumbprint !== null;
      return [
        `back up ${location} (its DER, and its private key as a password-protected PFX if the key is exportable) and the configured thumbprint ${inspection.configuredThumbprint ?? "(none)"}`,
        missing
          ? `clear SSLCertificateSHA1Hash (it names ${inspection.configuredThumbprint}, which is not installed) so Windows uses its own self-signed certificate`
          : `remove ${location} with its private key (only a self-signed certificate in Remote Desktop is removed)`,
        restart.enabled
          ? `restart SessionEnv and wait up to ${CERTIFICATE_WAIT_S} s for a new certificate; if none appears (and Windows logged no 1057/1058), stop UmRdpService and restart TermService (every wait bounded, ${SERVICE_WAIT_S} s per service)`
          : "no restart (--no-restart): Windows creates the new certificate only when Remote Desktop restarts",
      ];
    },

    async collectBackup(inspection, replacement): Promise<StepResult<BackupSet>> {
      const cert = inspection.certificate;
      const items: BackupItem[] = [];
      // Only an installed certificate has a thumbprint to restore; a dangling configured one is kept as configuredThumbprint.
      const installed = cert.state === "present" ? thumbprintOf(cert.location) : null;
      const extra: Record<string, unknown> = { configuredThumbprint: inspection.configuredThumbprint, store: storeOf(cert.location), thumbprint: installed };
      if (inspection.configuredThumbprint) {
        items.push({
          role: "thumbprint",
          originalPath: `${WINSTATIONS}\\${terminalName}\\SSLCertificateSHA1Hash`,
          data: Buffer.from(inspection.configuredThumbprint),
          mode: 0o600,
          uid: 0,
          gid: 0,
          wasLink: false,
        });
      }
      // The PFX password lives with the backup (SYSTEM/Administrators only), never in a log or on a command line.
      const password = randomBytes(24).toString("base64url");
      const deploying = replacement?.kind === "supplied" ? replacement.certificate.thumbprint : null;
      const result = await runScript(
        shell,
        "backup.ps1",
        {
          thumbprint: installed,
          store: installed ? storeOf(cert.location) : null,
          password,
          terminalName,
          ...(deploying ? { deployThumbprint: deploying } : {}),
        },
        timeoutMs,
      );
      if (!result.ok) return { ok: false, reason: result.reason };
      // Whether My held the certificate to deploy before: only one this deploy imported is removed on rollback (anything unclear counts as "held").
      if (deploying) extra.deploy = { thumbprint: deploying, presentBefore: field(result.json, "deployPresent", "boolean") !== false };
      // The binding as it was (KB 3042780): the hash type, and whether the registry value existed at all.
      extra.binding = (result.json as Record<string, unknown>).binding ?? null;
      if (installed) {
        const rawData = field(result.json, "rawData", "string");
        const pfx = field(result.json, "pfx", "string");
        items.push({
          role: "certificate",
          originalPath: cert.location,
          data: Buffer.from(rawData ?? "", "base64"),
          mode: 0o600,
          uid: 0,
          gid: 0,
          wasLink: false,
        });
        if (pfx) {
          items.push({ role: "pfx", originalPath: cert.location, data: Buffer.from(pfx, "base64"), mode: 0o600, uid: 0, gid: 0, wasLink: false });
          extra.pfxPassword = password;
        } else {
          extra.pfxUnavailable = field(result.json, "exportError", "string") ?? "the private key is not exportable";
        }
      }
      return { ok: true, value: { backend: "windows", thumbprint: installed, items, extra } };
    },

    async replace(inspection: HostInspection, replacement) {
      clearedDangling = false;
      skipRestart = false;
      if (replacement.kind === "supplied") {
        const outcome = await deploySupplied(shell, replacement.certificate, terminalName, timeoutMs);
        skipRestart = outcome.ok;
        return outcome;
      }
      const cert = inspection.certificate;
      const store = storeOf(cert.location);
      const missing = cert.state !== "present";
      if (!missing && store !== "Remote Desktop") {
        return { ok: false, reason: `${cert.location} is not in Remote Desktop: rdpcert removes only Windows' own self-signed certificate` };
      }
      const result = await runScript(
        shell,
        "remove.ps1",
        { thumbprint: missing ? null : thumbprintOf(cert.location), store: missing ? null : store, clearConfigured: missing, terminalName },
        timeoutMs,
      );
      if (!result.ok) return { ok: false, reason: result.reason };
      const refused = field(result.json, "refused", "string");
      if (refused) return { ok: false, reason: `nothing removed (${refused}): ${field(result.json, "fix", "string") ?? "see the backend's findings"}` };
      const removed = asArray<string>((result.json as { removed?: unknown }).removed).filter((r) => typeof r === "string");
      const cleared = field(result.json, "clearedConfigured", "boolean") === true;
      clearedDangling = cleared;
      return {
        ok: true,
        value: {
          thumbprint: null,
          written: [...removed.map((r) => `removed ${r}`), ...(cleared ? ["cleared SSLCertificateSHA1Hash"] : [])],
          presentedMayStay: cleared && removed.length === 0,
        },
      };
    },

    refuseTargets(inspection) {
      // SSLCertificateSHA1HashType 2: AD CS auto-enrollment manages the certificate, and SessionEnv enrols
      // template certificates, so even restarting it is a change: refused up front, --force or not.
      if (!inspection.findings.some((f) => f.code === "binding-group-policy")) return null;
      return {
        reason:
          "the certificate comes from a Group Policy template (AD CS auto-enrollment, SSLCertificateSHA1HashType 2): rdpcert neither deletes it nor restarts SessionEnv, which enrols template certificates",
        fix: "renew it through AD CS auto-enrollment (certutil -pulse), or change the Group Policy (Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Security > Server authentication certificate template)",
      };
    },

    async restart(restart, oldThumbprint) {
      // A deploy restarts nothing (see deploy.ps1): no service, no session cut.
      if (!restart.enabled || skipRestart) return { ok: true, value: { command: null } };
      // No old certificate, or a dangling binding was cleared: the certificate Windows has counts.
      const expectNew = oldThumbprint !== null && !clearedDangling;
      // Inside an RDP session (a deploy runs there, and so does its rollback) TermService is never restarted: it would cut the session.
      const allowTermService = options.inSession || !insideRdpSession(options.sessionName);
      const params = {
        oldThumbprint,
        terminalName,
        expectNewCertificate: expectNew,
        serviceWaitSeconds: waits.serviceSeconds,
        certificateWaitSeconds: waits.certificateSeconds,
        allowTermService,
      };
      // Node's timeout stays above the script's own worst case, so the script's answer (stuck, 1057) always arrives.
      const worstCaseMs = (5 * waits.serviceSeconds + 2 * waits.certificateSeconds + 30) * 1000;
      const result = await runScript(shell, "restart.ps1", params, Math.max(restart.timeoutMs, worstCaseMs));
      if (!result.ok) return { ok: false, reason: result.reason };
      const restarted = asArray<string>((result.json as { restarted?: unknown }).restarted).filter((r) => typeof r === "string");
      const command = restarted.length ? `restarted ${restarted.join(", then ")}` : "no service restarted";
      const stuck = field(result.json, "stuck", "string");
      if (stuck) return { ok: false, reason: `${command}; ${field(result.json, "fix", "string") ?? `${stuck} did not change state in time`}` };
      const events = asArray<Record<string, unknown>>((result.json as { failureEvents?: unknown }).failureEvents);
      if (events.length) {
        const quoted = events.map((e) => `event ${field(e, "id", "number") ?? "?"}: ${field(e, "message", "string") ?? ""}`).join("; ");
        return {
          ok: false,
          reason: `${command}; Windows could not issue a certificate (${quoted}): check that SYSTEM, Administrators or Everyone may create files in C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys and ...\\Crypto\\Keys (the default is Everyone (R,W) + Administrators Full Control, KB 278381), and that no key file f686aace..._<MachineGuid> is left without its certificate`,
        };
      }
      if (!field(result.json, "thumbprint", "string"))
        return {
          ok: false,
          reason: `${command}; no ${expectNew ? "new " : ""}certificate appeared within ${waits.certificateSeconds} s of each restart${field(result.json, "fix", "string") ? `; ${field(result.json, "fix", "string")}` : ""}`,
        };
      return { ok: true, value: { command } };
    },

    async confirm(_inspection, replacement, since) {
      if (replacement.kind !== "supplied") return null;
      const result = await runScript(shell, "events.ps1", { sinceMs: since.getTime() }, timeoutMs);
      // An unreadable event log is no evidence of a fallback: the handshake already showed the certificate.
      if (!result.ok) return null;
      const events = asArray<Record<string, unknown>>((result.json as { events?: unknown }).events);
      if (events.length === 0) return null;
      const quoted = events
        .map((e) => `event ${field(e, "id", "number") ?? "?"} at ${field(e, "time", "string") ?? "?"}: ${field(e, "message", "string") ?? ""}`)
        .join("; ");
      return `Windows logged that the listener fell back from the configured certificate to its self-signed one (${quoted})`;
    },

    async candidates() {
      const result = await runScript(shell, "candidates.ps1", {}, timeoutMs);
      if (!result.ok) return { ok: false, reason: result.reason };
      return { ok: true, value: parseCandidates(result.json) };
    },

    async removeOld(backup, keep) {
      const extra = backup.extra ?? {};
      const old = (extra.thumbprint as string | null | undefined) ?? null;
      const store = (extra.store as string | null | undefined) ?? null;
      if (!old || old.toUpperCase() === keep.thumbprint || (store !== "My" && store !== "Remote Desktop")) return { ok: true, value: { removed: [] } };
      const result = await runScript(shell, "remove-old.ps1", { thumbprint: old, store, keep: keep.thumbprint }, timeoutMs);
      if (!result.ok) return { ok: false, reason: result.reason };
      const kept = field(result.json, "kept", "string");
      if (kept === "a listener still uses it") return { ok: false, reason: `Cert:\\LocalMachine\\${store}\\${old} was kept: ${kept}` };
      return { ok: true, value: { removed: asArray<string>((result.json as { removed?: unknown }).removed).filter((r) => typeof r === "string") } };
    },

    async restore(backup) {
      skipRestart = false;
      const extra = backup.extra ?? {};
      const pfx = backup.items.find((i) => i.role === "pfx");
      const thumbprint = (extra.thumbprint as string | null) ?? backup.thumbprint;
      const binding = (extra.binding as Record<string, unknown> | null | undefined) ?? null;
      if (!thumbprint && !binding) return { ok: true, value: { restored: [] } };
      const result = await runScript(
        shell,
        "restore.ps1",
        {
          store: (extra.store as string | null) ?? "Remote Desktop",
          pfx: pfx ? pfx.data.toString("base64") : null,
          password: (extra.pfxPassword as string | undefined) ?? null,
          thumbprint: thumbprint ?? null,
          binding,
          ...(importedByDeploy(extra) ? { removeDeployed: importedByDeploy(extra) } : {}),
        },
        timeoutMs,
      );
      if (!result.ok) return { ok: false, reason: result.reason };
      // Restart only what the change touched: a restore that imported nothing, wrote no binding and found the old
      // certificate in place restarts nothing (a SessionEnv restart is itself a change: Windows may renew an expired
      // certificate on it). One whose old certificate cannot come back restarts, so that Windows issues one.
      skipRestart =
        field(result.json, "bindingWritten", "boolean") === false &&
        !field(result.json, "imported", "boolean") &&
        !field(result.json, "removedDeployed", "string") &&
        field(result.json, "certificateRestored", "boolean") !== false;
      const restored: string[] = [];
      if (field(result.json, "imported", "boolean"))
        restored.push(
          `${thumbprint} (imported from the PFX${field(result.json, "grantedNetworkService", "boolean") ? ", NETWORK SERVICE granted Read on its key" : ""})`,
        );
      const grantError = field(result.json, "grantError", "string");
      if (grantError) restored.push(`(NETWORK SERVICE could not be granted Read on the key: ${grantError})`);
      const removedDeployed = field(result.json, "removedDeployed", "string");
      if (removedDeployed) restored.push(`removed ${removedDeployed} with its key (imported by the deploy)`);
      const keptDeployed = field(result.json, "keptDeployed", "string");
      if (keptDeployed) restored.push(`(kept ${importedByDeploy(extra) ?? "the deployed certificate"} in LocalMachine\\My: ${keptDeployed})`);
      if (binding)
        restored.push(
          `the binding (${field(binding, "registryHashPresent", "boolean") ? `SSLCertificateSHA1Hash = ${field(binding, "registryHash", "string")}` : "no SSLCertificateSHA1Hash: Windows' own certificate"})`,
        );
      // Windows' own key is usually not exportable: the old certificate cannot come back, and a valid one with the old binding is the rollback.
      const gone =
        field(result.json, "certificateRestored", "boolean") === false
          ? `${thumbprint} cannot be put back: ${field(result.json, "certificateError", "string") ?? "no PFX"}`
          : null;
      // Windows renews its own expired self-signed certificate (windows-evidence/03 3.3): on the rollback's restart it may.
      const own = ((extra.store as string | null) ?? "Remote Desktop") === "Remote Desktop" && !field(binding, "registryHashPresent", "boolean");
      return {
        ok: true,
        value: {
          restored,
          ...(gone ? { oldCertificateGone: gone } : {}),
          ...(own && !skipRestart ? { renewableByHost: "Windows issued a certificate of its own on the restart (it renews an expired one)" } : {}),
        },
      };
    },
  };
}

/** The plan of a deploy, as lines for people (no secret: thumbprints, names and origin only). */
function describeDeploy(inspection: HostInspection, certificate: SuppliedCertificate, terminalName: string): string[] {
  const thumb = certificate.thumbprint;
  const intermediates = intermediatesOf(certificate).length;
  return [
    `back up the binding of ${terminalName} (SSLCertificateSHA1HashType, and the registry value SSLCertificateSHA1Hash, present or absent) and ${inspection.certificate.location}`,
    certificate.keyPem
      ? `import ${thumb} (${certificate.origin}; ${certificate.names.join(", ") || "no names"}) with its private key into Cert:\\LocalMachine\\My, from a PFX made for this deploy whose random password goes to PowerShell as data on stdin${intermediates ? `; add its ${intermediates} intermediate certificate${intermediates > 1 ? "s" : ""} to Cert:\\LocalMachine\\CA` : ""}`
      : `use Cert:\\LocalMachine\\My\\${thumb} (${certificate.names.join(", ") || "no names"}), which must hold its private key`,
    "grant NETWORK SERVICE (S-1-5-20) Read on exactly that certificate's key file (Crypto\\RSA\\MachineKeys for a CAPI key, Crypto\\Keys for a CNG key)",
    `bind it through CIM: Win32_TSGeneralSetting (${terminalName}).SSLCertificateSHA1Hash = ${thumb}`,
    "restart nothing: the listener uses the new binding for new connections, and sessions stay connected",
    "after the handshake: check the System log for events 1051/1055/1059 (Windows fell back to its self-signed certificate) since the deploy started",
    `a rollback puts the binding back exactly, and removes ${thumb} from My (with its key) only if this deploy imported it and no listener names it`,
  ];
}

/** The chain certificates Windows should find in LocalMachine\CA to send: no self-signed root (trust is not rdpcert's to grant). */
function intermediatesOf(certificate: SuppliedCertificate): Buffer[] {
  return certificate.chain.slice(1).filter((der) => {
    try {
      return !describeCertificate(der).selfSigned;
    } catch {
      return false;
    }
  });
}

/** The thumbprint a rollback may remove from My: only one the deploy imported (My did not hold it before). */
function importedByDeploy(extra: Record<string, unknown>): string | null {
  const deploy = extra.deploy as { thumbprint?: unknown; presentBefore?: unknown } | undefined;
  return deploy && typeof deploy.thumbprint === "string" && deploy.presentBefore === false ? deploy.thumbprint : null;
}

async function deploySupplied(
  shell: PowerShell,
  certificate: SuppliedCertificate,
  terminalName: string,
  timeoutMs: number,
): Promise<StepResult<{ readonly thumbprint: string; readonly written: readonly string[] }>> {
  const leaf = certificate.chain[0];
  let pfx: string | null = null;
  let password: string | null = null;
  if (certificate.keyPem !== null) {
    if (!leaf) return { ok: false, reason: `${certificate.origin}: no certificate to import` };
    // A fresh random password per deploy: it lives only in this process and on PowerShell's stdin.
    password = randomBytes(24).toString("base64url");
    try {
      pfx = buildPfx(leaf, certificate.keyPem, password).toString("base64");
    } catch (error) {
      return { ok: false, reason: `cannot package ${certificate.origin} for Windows: ${(error as Error).message}` };
    }
  }
  const intermediates = intermediatesOf(certificate).map((der) => der.toString("base64"));
  const result = await runScript(shell, "deploy.ps1", { thumbprint: certificate.thumbprint, pfx, password, intermediates, terminalName }, timeoutMs);
  if (!result.ok) return { ok: false, reason: result.reason };
  const json = result.json;
  const refused = field(json, "refused", "string");
  if (refused) return { ok: false, reason: `not bound (${refused}): ${field(json, "fix", "string") ?? "see the backend's findings"}` };
  const thumb = certificate.thumbprint;
  const written: string[] = [field(json, "imported", "boolean") ? `imported ${thumb} into Cert:\\LocalMachine\\My` : `used Cert:\\LocalMachine\\My\\${thumb}`];
  for (const ca of asArray<string>((json as { intermediatesAdded?: unknown }).intermediatesAdded))
    if (typeof ca === "string") written.push(`added ${ca} to Cert:\\LocalMachine\\CA`);
  const keyFile = field(json, "keyFile", "string") ?? "its key file";
  written.push(
    field(json, "granted", "string") === "already" ? `NETWORK SERVICE already had Read on ${keyFile}` : `granted NETWORK SERVICE Read on ${keyFile}`,
  );
  if (field(json, "bound", "boolean") !== true)
    return { ok: false, reason: `${written.join("; ")}; but ${terminalName} does not report ${thumb} after the binding was set` };
  const previous = (json as { previous?: unknown }).previous;
  written.push(
    `bound ${terminalName} to ${thumb} through CIM (was ${field(previous, "wmiHash", "string") || "none"}, SSLCertificateSHA1HashType ${field(previous, "hashType", "number") ?? "?"})`,
  );
  return { ok: true, value: { thumbprint: thumb, written } };
}

/** candidates.ps1's answer: certificates in LocalMachine\My with a private key; one that does not parse is left out. */
export function parseCandidates(json: unknown): SuppliedCertificate[] {
  const found: SuppliedCertificate[] = [];
  for (const entry of asArray((json as { certificates?: unknown } | null)?.certificates)) {
    const rawData = field(entry, "rawData", "string");
    if (!rawData || field(entry, "hasPrivateKey", "boolean") !== true) continue;
    const der = Buffer.from(rawData, "base64");
    try {
      const info = describeCertificate(der);
      found.push({
        origin: `LocalMachine\\My\\${info.thumbprint}`,
        chain: [der],
        keyPem: null,
        thumbprint: info.thumbprint,
        names: info.subjectAltNames,
        notAfter: info.notAfter,
      });
    } catch {
      // Not a certificate Node can read: never offered for deployment.
    }
  }
  return found;
}

/** The SYSTEM task that runs `rdpcert rotate --in-session ...` outside the RDP session. */
export const HANDOFF_TASK = "rdpcert-rotate-once";

export async function handOffToSystemTask(
  shell: PowerShell | CommandRunner,
  execute: string,
  args: string,
  timeoutMs = 60_000,
): Promise<StepResult<{ task: string }>> {
  const result = await runScript(shell, "handoff.ps1", { taskName: HANDOFF_TASK, execute, arguments: args }, timeoutMs);
  return result.ok ? { ok: true, value: { task: HANDOFF_TASK } } : { ok: false, reason: result.reason };
}
