import { colonHex, firstCertificateDer, normalizeSha256, sha256OfDer } from "./pin-bundle";

/**
 * The client stores' pins (issue 25), read and updated as text: pure, so
 * `client trust` and `doctor --client` share one reading of each format.
 *
 * FreeRDP 2 `known_hosts2` (libfreerdp/crypto/certificate.c at 2.11.7):
 * certificate_data_match_raw() reads lines split on CR/LF, skips empty lines and
 * comments (certificate_line_is_comment: '#' after blanks), splits the rest on
 * space/tab (certificate_split_line: host, port, fingerprint, subject, issuer),
 * and takes the FIRST line whose host (strcmp with the lower-cased host) and
 * port match; the fingerprint is compared with strcmp, so case matters.
 */

/** Which store a pin lives in. */
export type ClientStore = "freerdp2" | "freerdp3" | "mstsc";

export const STORE_NAMES: Readonly<Record<ClientStore, string>> = {
  freerdp2: "FreeRDP 2 known_hosts2",
  freerdp3: "FreeRDP 3 server/*.pem",
  mstsc: "mstsc CertHash",
};

/** A pin as read: the hash a store holds for the listener (lower-case hex), or none. */
export type StoredPin =
  | { readonly kind: "pin"; readonly algorithm: "sha256" | "sha1"; readonly hex: string }
  | { readonly kind: "none" }
  /** The entry exists but rdpcert cannot read a hash from it (a corrupt PEM, a malformed line). */
  | { readonly kind: "unreadable"; readonly reason: string };

interface KnownHostsLine {
  readonly index: number;
  readonly host: string;
  readonly port: number;
  readonly fingerprint: string;
}

function parseLines(text: string): { lines: string[]; entries: KnownHostsLine[] } {
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  const entries: KnownHostsLine[] = [];
  lines.forEach((line, index) => {
    if (/^[ \t]*(#|$)/.test(line)) return;
    const fields = line.split(/[ \t]+/).filter((f) => f !== "");
    if (fields.length < 3) return;
    const port = Number(fields[1]);
    if (!/^\d{1,5}$/.test(fields[1]!) || port > 65535) return;
    entries.push({ index, host: fields[0]!, port, fingerprint: fields[2]! });
  });
  return { lines, entries };
}

/** The fingerprint FreeRDP 2 would compare for HOST:PORT (its first matching line). */
export function knownHosts2Pin(text: string | null, host: string, port: number): StoredPin {
  if (text === null) return { kind: "none" };
  const entry = parseLines(text).entries.find((e) => e.host === host.toLowerCase() && e.port === port);
  if (!entry) return { kind: "none" };
  const hex = normalizeSha256(entry.fingerprint);
  // FreeRDP 2 compares with strcmp against its own rendering: anything else (upper case, a legacy SHA-1) is a changed certificate to it.
  if (hex === null || entry.fingerprint !== colonHex(hex))
    return { kind: "unreadable", reason: `its fingerprint is not FreeRDP 2's lower-case colon SHA-256, so FreeRDP 2 treats it as a changed certificate` };
  return { kind: "pin", algorithm: "sha256", hex };
}

/**
 * known_hosts2 with HOST:PORT pinned to `line`: every line for that listener
 * is replaced by the new one at the place of the first (FreeRDP reads only the
 * first, and a later stale one would come back if the first were removed);
 * every other line, comment and blank line is kept byte for byte, line ends included.
 */
export function updateKnownHosts2(text: string | null, host: string, port: number, line: string): string {
  if (text === null || text === "") return `${line}\n`;
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const { lines, entries } = parseLines(text);
  const mine = new Set(entries.filter((e) => e.host === host.toLowerCase() && e.port === port).map((e) => e.index));
  const out: string[] = [];
  let placed = false;
  lines.forEach((existing, index) => {
    if (!mine.has(index)) {
      out.push(existing);
      return;
    }
    if (!placed) out.push(line);
    placed = true;
  });
  if (!placed) out.push(line);
  return `${out.join(eol)}${eol}`;
}

/** The SHA-256 of the certificate in a FreeRDP 3 `server/<host>_<port>.pem` file. */
export function freerdp3Pin(text: string | null): StoredPin {
  if (text === null) return { kind: "none" };
  try {
    return { kind: "pin", algorithm: "sha256", hex: sha256OfDer(firstCertificateDer(text)) };
  } catch {
    return { kind: "unreadable", reason: "it holds no PEM certificate" };
  }
}

/** mstsc's CertHash as client.ps1 reports it (hex of the REG_BINARY bytes). */
export function mstscPin(certHashHex: string | null): StoredPin {
  if (certHashHex === null || certHashHex === "") return { kind: "none" };
  const hex = certHashHex.replace(/[\s:,]/g, "").toLowerCase();
  return /^[0-9a-f]{40}$/.test(hex) ? { kind: "pin", algorithm: "sha1", hex } : { kind: "unreadable", reason: "CertHash is not 20 bytes" };
}

/** How a store's pin compares with the certificate presented now. */
export type PinVerdict = "matches" | "differs" | "no-pin" | "not-checked";

export function comparePin(pin: StoredPin, presented: { readonly sha256: string; readonly sha1: string }): PinVerdict {
  if (pin.kind === "none") return "no-pin";
  if (pin.kind === "unreadable") return "differs";
  const want = pin.algorithm === "sha256" ? presented.sha256 : presented.sha1;
  return pin.hex === want.toLowerCase() ? "matches" : "differs";
}
