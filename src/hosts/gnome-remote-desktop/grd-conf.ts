import { readBoundedText } from "../local/bounded-read";

/**
 * gnome-remote-desktop 46+'s system mode: `/etc/gnome-remote-desktop/grd.conf`, a GLib
 * key file whose `[RDP]` group has the keys `enabled`, `tls-cert`, `tls-key` and `port`
 * (grd-settings-system.c, rdp_file_settings). Versions after 46 layer a local-state copy
 * (`~gnome-remote-desktop/.local/share/gnome-remote-desktop/grd.conf`) over it: the last
 * file that sets a key wins. `grdctl --system rdp set-tls-cert|set-tls-key` writes it.
 */
export const GRD_CONF = "/etc/gnome-remote-desktop/grd.conf";
export const GRD_LOCAL_STATE_CONF = "/var/lib/gnome-remote-desktop/.local/share/gnome-remote-desktop/grd.conf";
export const GRD_RDP_GROUP = "RDP";
/** g-r-d's RDP port when nothing sets one. */
export const GRD_DEFAULT_PORT = 3389;

export interface KeyFileEntry {
  readonly value: string;
  readonly line: number;
}

/** Groups -> keys -> raw values, as GKeyFile reads them (comments `#`, `key=value`, whitespace around `=` dropped). */
export type KeyFile = ReadonlyMap<string, ReadonlyMap<string, KeyFileEntry>>;

export function parseKeyFile(text: string): KeyFile {
  const groups = new Map<string, Map<string, KeyFileEntry>>();
  let group: Map<string, KeyFileEntry> | null = null;
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "").trimStart();
    if (line === "" || line.startsWith("#")) return;
    const header = /^\[([^\]]*)\]\s*$/.exec(line);
    if (header) {
      group = groups.get(header[1]!) ?? new Map();
      groups.set(header[1]!, group);
      return;
    }
    const eq = line.indexOf("=");
    if (eq <= 0 || !group) return;
    group.set(line.slice(0, eq).trimEnd(), { value: line.slice(eq + 1).trimStart(), line: i + 1 });
  });
  return groups;
}

/** g_key_file_get_string's escapes: \s \n \t \r \\. */
export function keyFileString(raw: string): string {
  return raw.replace(/\\([sntr\\])/g, (_, c: string) => ({ s: " ", n: "\n", t: "\t", r: "\r", "\\": "\\" })[c]!);
}

/** The inverse, for writing a path (a leading space is \s, as g_key_file_set_string writes it). */
export function keyFileEscape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\t/g, "\\t").replace(/\r/g, "\\r").replace(/^ /, "\\s");
}

export interface GrdSystemSettings {
  /** Each key of [RDP] with the file and line that set it (the last file wins). */
  readonly tlsCert: { readonly path: string; readonly source: string } | null;
  readonly tlsKey: { readonly path: string; readonly source: string } | null;
  readonly port: number;
  readonly enabled: boolean | null;
  /** The files that exist and were read, in order. */
  readonly read: readonly string[];
  /** One line each: a value g-r-d ignores (a port that is not a number). */
  readonly problems: readonly string[];
}

export type GrdConfRead =
  { readonly ok: true; readonly settings: GrdSystemSettings } | { readonly ok: false; readonly reason: string; readonly code: string | undefined };

/** Reads the layered system configuration: files that do not exist are skipped; none at all is an error. */
export function readGrdSystemSettings(paths: readonly string[]): GrdConfRead {
  let tlsCert: GrdSystemSettings["tlsCert"] = null;
  let tlsKey: GrdSystemSettings["tlsKey"] = null;
  let port = GRD_DEFAULT_PORT;
  let enabled: boolean | null = null;
  const read: string[] = [];
  const problems: string[] = [];
  let firstError: { reason: string; code: string | undefined } | null = null;
  for (const path of paths) {
    let text: string;
    try {
      text = readBoundedText(path, "ini");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") firstError ??= { reason: `cannot read ${path}: ${code ?? (error as Error).message}`, code };
      continue;
    }
    read.push(path);
    const rdp = parseKeyFile(text).get(GRD_RDP_GROUP);
    if (!rdp) continue;
    const at = (entry: KeyFileEntry): string => `${path}:${entry.line}`;
    const cert = rdp.get("tls-cert");
    if (cert) tlsCert = { path: keyFileString(cert.value), source: at(cert) };
    const key = rdp.get("tls-key");
    if (key) tlsKey = { path: keyFileString(key.value), source: at(key) };
    const portEntry = rdp.get("port");
    if (portEntry) {
      const n = Number(portEntry.value);
      if (/^\d+$/.test(portEntry.value) && n > 0 && n < 65536) port = n;
      else problems.push(`${at(portEntry)}: port=${portEntry.value} is not a TCP port; g-r-d ignores it`);
    }
    const enabledEntry = rdp.get("enabled");
    if (enabledEntry) enabled = enabledEntry.value === "true" ? true : enabledEntry.value === "false" ? false : enabled;
  }
  if (read.length === 0) {
    return firstError
      ? { ok: false, ...firstError }
      : {
          ok: false,
          reason: `${paths.join(" and ")} ${paths.length > 1 ? "do" : "does"} not exist: gnome-remote-desktop's system mode is not configured`,
          code: "ENOENT",
        };
  }
  return { ok: true, settings: { tlsCert, tlsKey, port, enabled, read, problems } };
}

/**
 * `text` with [RDP] tls-cert and tls-key set to the given paths, every other line kept
 * (comments too, as g-r-d keeps them in this file); the group is added when missing.
 */
export function withTlsPair(text: string, certPath: string, keyPath: string): string {
  const lines = text.split("\n");
  const want = new Map([
    ["tls-cert", `tls-cert=${keyFileEscape(certPath)}`],
    ["tls-key", `tls-key=${keyFileEscape(keyPath)}`],
  ]);
  let inRdp = false;
  let rdpEnd = -1;
  const out: string[] = [];
  for (const raw of lines) {
    const line = raw.trimStart();
    const header = /^\[([^\]]*)\]\s*$/.exec(line);
    if (header) {
      if (inRdp) rdpEnd = out.length;
      inRdp = header[1] === GRD_RDP_GROUP;
      out.push(raw);
      continue;
    }
    const eq = line.indexOf("=");
    const name = eq > 0 && !line.startsWith("#") ? line.slice(0, eq).trimEnd() : null;
    if (inRdp && name && want.has(name)) {
      out.push(want.get(name)!);
      want.delete(name);
      continue;
    }
    out.push(raw);
  }
  if (inRdp) rdpEnd = out.length;
  if (want.size === 0) return out.join("\n");
  if (rdpEnd === -1) {
    while (out.length && out[out.length - 1] === "") out.pop();
    return [...out, ...(out.length ? [""] : []), `[${GRD_RDP_GROUP}]`, ...want.values(), ""].join("\n");
  }
  // Before the blank lines that end the group.
  let at = rdpEnd;
  while (at > 0 && out[at - 1]!.trim() === "") at--;
  out.splice(at, 0, ...want.values());
  return out.join("\n");
}
