import type { PinBundle } from "../core/pin-bundle";
import { StateDir } from "../hosts/local/state-dir";

/**
 * A pin bundle on disk (issue 25): `<stateDir>/pins/<host>_<port>.json` (the
 * bundle, `rdpcert client trust --from-bundle` reads it), and beside it the
 * files clients take as they are:
 * - `.known_hosts2`: the FreeRDP 2 line (append to, or replace the host's line in, `~/.config/freerdp/known_hosts2`);
 * - `.pem`: the FreeRDP 3 file (copy to `~/.config/freerdp/<bundle.freerdp3ServerPem.path>`);
 * - `.reg`: the mstsc pin, UTF-16LE with a BOM and CRLF as regedit writes .reg files (`reg import FILE`).
 * Each file is written atomically (temp, fsync, rename) through the state dir,
 * so the trust rules of the state dir hold for them too.
 */
export async function writePinBundle(stateDir: string, bundle: PinBundle): Promise<string> {
  const stem = pinFileStem(bundle.listener.host, bundle.listener.port);
  const [json] = new StateDir(stateDir).writePinFiles(stem, [
    { suffix: ".json", data: `${JSON.stringify(bundle, null, 2)}\n` },
    { suffix: ".known_hosts2", data: `${bundle.freerdp2KnownHosts2}\n` },
    { suffix: ".pem", data: bundle.freerdp3ServerPem.content },
    { suffix: ".reg", data: regFileBytes(bundle.mstscReg) },
  ]);
  return json!;
}

/** `<host>_<port>`, with anything but letters, digits, '.', '-' as '_' (an IPv6 address's ':' included). */
export function pinFileStem(host: string, port: number): string {
  const safe = host.toLowerCase().replace(/[^a-z0-9.-]/g, "_").replace(/^\.+/, "_");
  return `${safe || "_"}_${port}`;
}

/** regedit's .reg files (Version 5.00) are UTF-16LE with a byte-order mark. */
export function regFileBytes(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);
}
