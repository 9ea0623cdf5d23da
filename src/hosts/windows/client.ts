import type { CommandRunner } from "../command-runner";
import { type PowerShellLauncher, asArray, field, parsePsDate, runScript } from "./powershell";

/**
 * The Windows RDP client's cached state for `rdpcert doctor --client`: what the
 * usual advice deletes by hand, found (and with --fix, backed up then removed)
 * by client.ps1 running as the user who runs mstsc.
 */
export interface ClientItem {
  readonly kind: "default-rdp" | "bitmap-cache" | "stored-certificate";
  readonly location: string;
  readonly detail: string;
  /** stored-certificate: mstsc's CertHash (upper-case hex of the SHA-1 it pins), or null. */
  readonly certHash?: string | null;
}

export interface ClientState {
  readonly items: readonly ClientItem[];
  /** With --fix: what was removed, and where its backup is. */
  readonly actions: readonly { readonly item: string; readonly backup: string }[];
  /** With --fix: what stopped it (a file mstsc still holds open), after `actions` were done. */
  readonly fixError: string | null;
}

/**
 * An existing Default.rdp, bitmap cache or stored trust is how every used
 * client looks: found items are a note (exit 0), and --fix is the remedy when
 * only this client fails. A --fix that stopped half way is a failure (exit 2).
 */
export function clientExitCode(state: ClientState): 0 | 2 {
  return state.fixError ? 2 : 0;
}

export type ClientResult = { readonly ok: true; readonly state: ClientState } | { readonly ok: false; readonly reason: string };

export async function inspectClient(
  runner: CommandRunner,
  options: { host: string | null; fix: boolean; backupDir: string; launcher?: PowerShellLauncher },
  timeoutMs = 60_000,
): Promise<ClientResult> {
  const shell = options.launcher ? { runner, launcher: options.launcher } : { runner };
  const result = await runScript(shell, "client.ps1", { host: options.host, fix: options.fix, backupDir: options.backupDir }, timeoutMs);
  if (!result.ok) return { ok: false, reason: result.reason };
  const doc = result.json;
  const items: ClientItem[] = [];
  const rdp = (doc as Record<string, unknown>).defaultRdp;
  if (rdp && typeof rdp === "object") {
    const modified = parsePsDate((rdp as Record<string, unknown>).modified);
    items.push({
      kind: "default-rdp",
      location: field(rdp, "path", "string") ?? "Default.rdp",
      detail: `${field(rdp, "bytes", "number") ?? 0} bytes${modified ? `, changed ${modified.toISOString()}` : ""}: saved connection settings that mstsc reuses`,
    });
  }
  const cache = (doc as Record<string, unknown>).cache;
  if (cache && typeof cache === "object") {
    items.push({
      kind: "bitmap-cache",
      location: field(cache, "path", "string") ?? "Cache",
      detail: `${field(cache, "files", "number") ?? 0} files, ${field(cache, "bytes", "number") ?? 0} bytes of bitmap cache`,
    });
  }
  const server = (doc as Record<string, unknown>).server;
  if (server && typeof server === "object") {
    const hash = field(server, "certHash", "string");
    items.push({
      kind: "stored-certificate",
      location: field(server, "key", "string") ?? "Servers",
      detail: hash
        ? `the client trusts certificate ${hash} for ${options.host}; a rotated server presents another one`
        : `saved settings for ${options.host} (user hint ${field(server, "usernameHint", "string") ?? "-"})`,
      certHash: hash,
    });
  }
  const actions = asArray<Record<string, unknown>>((doc as Record<string, unknown>).actions).map((a) => ({
    item: field(a, "item", "string") ?? "?",
    backup: field(a, "backup", "string") ?? "?",
  }));
  return { ok: true, state: { items, actions, fixError: field(doc, "fixError", "string") } };
}

/** mstsc's pin for one server as client-pin.ps1 read (and with `write`, set) it: upper-case hex or null. */
export type MstscPinResult =
  { readonly ok: true; readonly key: string; readonly before: string | null; readonly after: string | null } | { readonly ok: false; readonly reason: string };

/**
 * Reads mstsc's CertHash for `server` (HKCU\...\Servers\<server>) and, with
 * `certHash`, sets it: client-pin.ps1 through the bootstrap, the values as JSON
 * data on stdin (never part of a command line).
 */
export async function mstscPin(
  runner: CommandRunner,
  options: { server: string; certHash: string | null; launcher?: PowerShellLauncher },
  timeoutMs = 60_000,
): Promise<MstscPinResult> {
  const shell = options.launcher ? { runner, launcher: options.launcher } : { runner };
  const result = await runScript(shell, "client-pin.ps1", { server: options.server, certHash: options.certHash, write: options.certHash !== null }, timeoutMs);
  if (!result.ok) return { ok: false, reason: result.reason };
  const hex = (name: string): string | null => {
    const value = field(result.json, name, "string");
    return value && /^[0-9A-F]{40}$/i.test(value) ? value.toUpperCase() : null;
  };
  return { ok: true, key: field(result.json, "key", "string") ?? options.server, before: hex("before"), after: hex("after") };
}
