import { randomBytes } from "node:crypto";
import { win32 } from "node:path";
import type { CommandRunner } from "../command-runner";
import type { BackupItem, BackupSet, HostInspection, RotationSteps, StepResult } from "../host-backend";
import { type PowerShell, type PowerShellLauncher, asArray, field, runScript } from "./powershell";

/**
 * Windows rotation (DOMAIN.md, "Regeneration"): Windows issues the listener's
 * self-signed certificate itself. rdpcert backs up the old one (its key as a
 * password-protected PFX where the key is exportable), removes it with its key
 * from `Remote Desktop` (and clears a configured thumbprint that names a
 * missing certificate), restarts SessionEnv, then TermService if no new
 * certificate appears, and verifies by handshake. The new thumbprint is known
 * only after the restart, so `replace` returns null and verification learns it.
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
  return sessionName !== null && /^RDP-Tcp#/i.test(sessionName);
}

export function createWindowsRotation(options: WindowsRotationOptions): RotationSteps {
  const { timeoutMs } = options;
  const waits = options.restartWaits ?? { serviceSeconds: SERVICE_WAIT_S, certificateSeconds: CERTIFICATE_WAIT_S };
  // Set by replace when it cleared a thumbprint that named a missing certificate: then Windows' own
  // certificate (which may be the one it had all along) is the expected result, not a new one.
  let clearedDangling = false;
  const terminalName = options.listener ?? "RDP-Tcp";
  const shell: PowerShell = { runner: options.runner, ...(options.launcher ? { launcher: options.launcher } : {}) };
  return {
    mustHandOff() {
      if (options.inSession || !insideRdpSession(options.sessionName)) return null;
      return `this process runs inside an RDP session (SESSIONNAME=${options.sessionName}): restarting Remote Desktop Services would cut the connection, and with it the rotation`;
    },

    describe(inspection, _spec, restart) {
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

    async collectBackup(inspection): Promise<StepResult<BackupSet>> {
      const cert = inspection.certificate;
      const items: BackupItem[] = [];
      // Only an installed certificate has a thumbprint to restore; a dangling configured one is kept as configuredThumbprint.
      const installed = cert.state === "present" ? thumbprintOf(cert.location) : null;
      const extra: Record<string, unknown> = { configuredThumbprint: inspection.configuredThumbprint, store: storeOf(cert.location), thumbprint: installed };
      if (inspection.configuredThumbprint) {
        items.push({ role: "thumbprint", originalPath: `${WINSTATIONS}\\${terminalName}\\SSLCertificateSHA1Hash`, data: Buffer.from(inspection.configuredThumbprint), mode: 0o600, uid: 0, gid: 0, wasLink: false });
      }
      // The PFX password lives with the backup (SYSTEM/Administrators only), never in a log or on a command line.
      const password = randomBytes(24).toString("base64url");
      const result = await runScript(shell, "backup.ps1", { thumbprint: installed, store: installed ? storeOf(cert.location) : null, password, terminalName }, timeoutMs);
      if (!result.ok) return { ok: false, reason: result.reason };
      // The binding as it was (KB 3042780): the hash type, and whether the registry value existed at all.
      extra.binding = (result.json as Record<string, unknown>).binding ?? null;
      if (installed) {
        const rawData = field(result.json, "rawData", "string");
        const pfx = field(result.json, "pfx", "string");
        items.push({ role: "certificate", originalPath: cert.location, data: Buffer.from(rawData ?? "", "base64"), mode: 0o600, uid: 0, gid: 0, wasLink: false });
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
      if (replacement.kind === "supplied") return { ok: false, reason: "deploying on Windows is not built yet" };
      const cert = inspection.certificate;
      const store = storeOf(cert.location);
      const missing = cert.state !== "present";
      if (!missing && store !== "Remote Desktop") {
        return { ok: false, reason: `${cert.location} is not in Remote Desktop: rdpcert removes only Windows' own self-signed certificate` };
      }
      const result = await runScript(shell, "remove.ps1", { thumbprint: missing ? null : thumbprintOf(cert.location), store: missing ? null : store, clearConfigured: missing, terminalName }, timeoutMs);
      if (!result.ok) return { ok: false, reason: result.reason };
      const refused = field(result.json, "refused", "string");
      if (refused) return { ok: false, reason: `nothing removed (${refused}): ${field(result.json, "fix", "string") ?? "see the backend's findings"}` };
      const removed = asArray<string>((result.json as { removed?: unknown }).removed).filter((r) => typeof r === "string");
      const cleared = field(result.json, "clearedConfigured", "boolean") === true;
      clearedDangling = cleared;
      return { ok: true, value: { thumbprint: null, written: [...removed.map((r) => `removed ${r}`), ...(cleared ? ["cleared SSLCertificateSHA1Hash"] : [])], presentedMayStay: cleared && removed.length === 0 } };
    },

    async restart(restart, oldThumbprint) {
      if (!restart.enabled) return { ok: true, value: { command: null } };
      // No old certificate, or a dangling binding was cleared: the certificate Windows has counts.
      const expectNew = oldThumbprint !== null && !clearedDangling;
      const params = { oldThumbprint, terminalName, expectNewCertificate: expectNew, serviceWaitSeconds: waits.serviceSeconds, certificateWaitSeconds: waits.certificateSeconds };
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
        return { ok: false, reason: `${command}; Windows could not issue a certificate (${quoted}): check SYSTEM and Administrators Full Control on C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys and ...\\Crypto\\Keys` };
      }
      if (!field(result.json, "thumbprint", "string")) return { ok: false, reason: `${command}; no ${expectNew ? "new " : ""}certificate appeared within ${waits.certificateSeconds} s of each restart` };
      return { ok: true, value: { command } };
    },

    async restore(backup) {
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
        },
        timeoutMs,
      );
      if (!result.ok) return { ok: false, reason: result.reason };
      const restored: string[] = [];
      if (field(result.json, "imported", "boolean")) restored.push(`${thumbprint} (imported from the PFX${field(result.json, "grantedNetworkService", "boolean") ? ", NETWORK SERVICE granted Read on its key" : ""})`);
      const grantError = field(result.json, "grantError", "string");
      if (grantError) restored.push(`(NETWORK SERVICE could not be granted Read on the key: ${grantError})`);
      if (binding) restored.push(`the binding (${field(binding, "registryHashPresent", "boolean") ? `SSLCertificateSHA1Hash = ${field(binding, "registryHash", "string")}` : "no SSLCertificateSHA1Hash: Windows' own certificate"})`);
      // Windows' own key is usually not exportable: the old certificate cannot come back, and a valid one with the old binding is the rollback.
      const gone = field(result.json, "certificateRestored", "boolean") === false ? `${thumbprint} cannot be put back: ${field(result.json, "certificateError", "string") ?? "no PFX"}` : null;
      return { ok: true, value: { restored, ...(gone ? { oldCertificateGone: gone } : {}) } };
    },
  };
}

/** What the in-session command was asked to do, to be done the same way by the SYSTEM task. */
export interface HandOffOptions {
  readonly stateDir: string;
  /** The task's output goes nowhere: it logs to the log dir (JSON lines), like a scheduled run. */
  readonly logDir?: string;
  readonly verifyTimeout: number;
  readonly restartTimeout: number;
  readonly timeout: number;
  readonly warnDays: number;
  readonly force: boolean;
  readonly restart: boolean;
  readonly reason?: string | null;
  readonly keepBackups: number;
  readonly listener?: string;
}

/**
 * The SYSTEM task's arguments for `command` (`rotate`, `backups restore ID`,
 * `status` for the recovery of an interrupted rotation): every option of the
 * command it replaces, and the state and log dirs as absolute paths (the task
 * starts in %SystemRoot%\System32, where a relative one would land). `cwd` is
 * where the user ran rdpcert.
 */
export function handOffCommand(cli: string, command: readonly string[], options: HandOffOptions, cwd: string): string[] {
  const rotates = command[0] === "rotate";
  const args = [cli, ...command, ...(command[0] === "status" ? [] : ["--yes"]), "--in-session", "--backend", "windows", "--state-dir", win32.resolve(cwd, options.stateDir)];
  if (options.logDir) args.push("--log-dir", win32.resolve(cwd, options.logDir));
  args.push("--timeout", String(options.timeout), "--warn-days", String(options.warnDays));
  if (command[0] !== "status") args.push("--verify-timeout", String(options.verifyTimeout), "--restart-timeout", String(options.restartTimeout), "--keep-backups", String(options.keepBackups));
  if (command[0] !== "status" && options.listener) args.push("--listener", options.listener);
  if (rotates && options.force) args.push("--force");
  if (command[0] !== "status" && !options.restart) args.push("--no-restart");
  if (rotates && options.reason) args.push("--reason", options.reason);
  return args;
}

/** `rdpcert rotate`'s hand-off (see handOffCommand). */
export function handOffArguments(cli: string, options: HandOffOptions, cwd: string): string[] {
  return handOffCommand(cli, ["rotate"], options, cwd);
}

/** The SYSTEM task that runs `rdpcert rotate --in-session ...` outside the RDP session. */
export const HANDOFF_TASK = "rdpcert-rotate-once";

export async function handOffToSystemTask(shell: PowerShell | CommandRunner, execute: string, args: string, timeoutMs = 60_000): Promise<StepResult<{ task: string }>> {
  const result = await runScript(shell, "handoff.ps1", { taskName: HANDOFF_TASK, execute, arguments: args }, timeoutMs);
  return result.ok ? { ok: true, value: { task: HANDOFF_TASK } } : { ok: false, reason: result.reason };
}
