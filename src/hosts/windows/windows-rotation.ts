import { randomBytes } from "node:crypto";
import type { CommandRunner } from "../command-runner";
import type { BackupItem, BackupSet, HostInspection, RotationSteps, StepResult } from "../host-backend";
import { field, runScript } from "./powershell";

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
  readonly timeoutMs: number;
  readonly sessionName: string | null;
  readonly inSession: boolean;
}

const storeOf = (location: string): string | null => /^Cert:\\LocalMachine\\([^\\]+)\\/.exec(location)?.[1] ?? null;
const thumbprintOf = (location: string): string | null => /\\([0-9A-F]{40})$/.exec(location)?.[1] ?? null;

/** An RDP session's SESSIONNAME is RDP-Tcp#N; the console's is Console, a service's is unset. */
export function insideRdpSession(sessionName: string | null): boolean {
  return sessionName !== null && /^RDP-Tcp#/i.test(sessionName);
}

export function createWindowsRotation(options: WindowsRotationOptions): RotationSteps {
  const { runner, timeoutMs } = options;
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
          ? "restart SessionEnv and wait up to 30 s for a new certificate; if none appears, stop UmRdpService and restart TermService (bounded waits)"
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
        items.push({ role: "thumbprint", originalPath: "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp\\SSLCertificateSHA1Hash", data: Buffer.from(inspection.configuredThumbprint), mode: 0o600, uid: 0, gid: 0, wasLink: false });
      }
      if (cert.state === "present") {
        // The PFX password lives with the backup (SYSTEM/Administrators only), never in a log or on a command line.
        const password = randomBytes(24).toString("base64url");
        const result = await runScript(runner, "backup.ps1", { thumbprint: thumbprintOf(cert.location), store: storeOf(cert.location), password }, timeoutMs);
        if (!result.ok) return { ok: false, reason: result.reason };
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

    async replace(inspection: HostInspection) {
      const cert = inspection.certificate;
      const store = storeOf(cert.location);
      const missing = cert.state !== "present";
      if (!missing && store !== "Remote Desktop") {
        return { ok: false, reason: `${cert.location} is not in Remote Desktop: rdpcert removes only Windows' own self-signed certificate` };
      }
      const result = await runScript(runner, "remove.ps1", { thumbprint: missing ? null : thumbprintOf(cert.location), store: missing ? null : store, clearConfigured: missing }, timeoutMs);
      if (!result.ok) return { ok: false, reason: result.reason };
      const removed = Array.isArray((result.json as { removed?: unknown }).removed) ? ((result.json as { removed: string[] }).removed) : [];
      const cleared = field(result.json, "clearedConfigured", "boolean") === true;
      return { ok: true, value: { thumbprint: null, written: [...removed.map((r) => `removed ${r}`), ...(cleared ? ["cleared SSLCertificateSHA1Hash"] : [])] } };
    },

    async restart(restart, oldThumbprint) {
      if (!restart.enabled) return { ok: true, value: { command: null } };
      const result = await runScript(runner, "restart.ps1", { oldThumbprint, waitSeconds: 30 }, Math.max(restart.timeoutMs, 120_000));
      if (!result.ok) return { ok: false, reason: result.reason };
      const restarted = (result.json as { restarted?: unknown }).restarted;
      return { ok: true, value: { command: `Restart-Service ${(Array.isArray(restarted) ? restarted : [restarted]).filter(Boolean).join(", then ")}` } };
    },

    async restore(backup) {
      const extra = backup.extra ?? {};
      const pfx = backup.items.find((i) => i.role === "pfx");
      const thumbprint = (extra.thumbprint as string | null) ?? backup.thumbprint;
      // No certificate was installed before (the configured thumbprint named a missing one): put the setting back only.
      if (!thumbprint && !(extra.configuredThumbprint as string | null)) return { ok: true, value: { restored: [] } };
      const result = await runScript(
        runner,
        "restore.ps1",
        {
          store: (extra.store as string | null) ?? "Remote Desktop",
          pfx: pfx ? pfx.data.toString("base64") : null,
          password: (extra.pfxPassword as string | undefined) ?? null,
          thumbprint: thumbprint ?? (extra.configuredThumbprint as string),
          configuredThumbprint: (extra.configuredThumbprint as string | null) ?? null,
          importCertificate: thumbprint !== null,
        },
        timeoutMs,
      );
      if (!result.ok) return { ok: false, reason: result.reason };
      return { ok: true, value: { restored: [`${thumbprint ?? "configuration"}${field(result.json, "imported", "boolean") ? " (imported from the PFX)" : ""}`] } };
    },
  };
}

/** The SYSTEM task that runs `rdpcert rotate --in-session ...` outside the RDP session. */
export const HANDOFF_TASK = "rdpcert-rotate-once";

export async function handOffToSystemTask(runner: CommandRunner, execute: string, args: string, timeoutMs = 60_000): Promise<StepResult<{ task: string }>> {
  const result = await runScript(runner, "handoff.ps1", { taskName: HANDOFF_TASK, execute, arguments: args }, timeoutMs);
  return result.ok ? { ok: true, value: { task: HANDOFF_TASK } } : { ok: false, reason: result.reason };
}
