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

export async function inspectClient(runner: CommandRunner, options: { host: string | null; fix: boolean; backupDir: string; launcher?: PowerShellLauncher }, timeoutMs = 60_000): Promise<ClientResult> {
  const shell = options.launcher ? { runner, launcher: options.launcher } : { runner };
  const result = await runScript(shell, "client.ps1", { host: options.host, fix: options.fix, backupDir: options.backupDir }, timeoutMs);
  if (!result.ok) return { ok: false, reason: result.reason };
  const doc = result.json;
  const items: ClientItem[] = [];
  const rdp = (doc as Record<string, unknown>).defaultRdp;
  if (rdp && typeof rdp === "object") {
    const modified = parsePsDate((rdp as Record<string, unknown>).modified);
    items.push({ kind: "default-rdp", location: field(rdp, "path", "string") ?? "Default.rdp", detail: `${field(rdp, "bytes", "number") ?? 0} bytes${modified ? `, changed ${modified.toISOString()}` : ""}: saved connection settings that mstsc reuses` });
  }
  const cache = (doc as Record<string, unknown>).cache;
  if (cache && typeof cache === "object") {
    items.push({ kind: "bitmap-cache", location: field(cache, "path", "string") ?? "Cache", detail: `${field(cache, "files", "number") ?? 0} files, ${field(cache, "bytes", "number") ?? 0} bytes of bitmap cache` });
  }
  const server = (doc as Record<string, unknown>).server;
  if (server && typeof server === "object") {
    const hash = field(server, "certHash", "string");
    items.push({ kind: "stored-certificate", location: field(server, "key", "string") ?? "Servers", detail: hash ? `the client trusts certificate ${hash} for ${options.host}; a rotated server presents another one` : `saved settings for ${options.host} (user hint ${field(server, "usernameHint", "string") ?? "-"})` });
  }
  const actions = asArray<Record<string, unknown>>((doc as Record<string, unknown>).actions).map((a) => ({ item: field(a, "item", "string") ?? "?", backup: field(a, "backup", "string") ?? "?" }));
  return { ok: true, state: { items, actions, fixError: field(doc, "fixError", "string") } };
}
