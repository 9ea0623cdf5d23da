import { type PinBundle, type PinsPublished, makePinBundle, pemOf } from "../core/pin-bundle";
import { probeAddressFor } from "../core/target";
import { StateDir } from "../hosts/local/state-dir";
import type { RotationContext, RotationResult, RotationSettings } from "../rotation/rotate";

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
export async function writePinBundle(stateDir: string, bundle: PinBundle, options: { readonly variant?: string } = {}): Promise<string> {
  // `variant` (e.g. "staged": a pair made but not served yet) names a second set beside the current one: <host>_<port>.<variant>.json.
  if (options.variant !== undefined && !/^[a-z0-9-]{1,32}$/.test(options.variant))
    throw new Error(`pin bundle variant ${JSON.stringify(options.variant)} is not a short lower-case name`);
  const stem = `${pinFileStem(bundle.listener.host, bundle.listener.port)}${options.variant ? `.${options.variant}` : ""}`;
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
  const safe = host
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, "_")
    .replace(/^\.+/, "_");
  return `${safe || "_"}_${port}`;
}

/** regedit's .reg files (Version 5.00) are UTF-16LE with a byte-order mark. */
export function regFileBytes(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);
}

/**
 * After a verified change (rotate, deploy, run): the certificate the listener
 * presents now, if it is the verified new one (`result.newSha256`), as a pin
 * bundle in the state dir, and one log line with its SHA-1 and SHA-256. A
 * bundle that cannot be made or written is said, never undoes the change.
 */
export async function publishPins(
  session: { readonly config: { readonly stateDir: string }; readonly ctx: RotationContext; readonly settings: RotationSettings },
  result: RotationResult,
): Promise<RotationResult> {
  if (result.outcome !== "rotated" && result.outcome !== "deployed") return result;
  const pins = await pinsFor(session, result.newSha256);
  const { log } = session.ctx;
  if (pins.written) log("info", `new certificate SHA-1 ${pins.bundle.sha1.thumbprint}, SHA-256 ${pins.bundle.sha256.hex}; pins for clients in ${pins.path}`);
  else log("warn", `new certificate SHA-1 ${result.newThumbprint ?? "-"}, SHA-256 ${result.newSha256 ?? "-"}; pins for clients not written: ${pins.reason}`);
  return { ...result, pins };
}

async function pinsFor(session: Parameters<typeof publishPins>[0], verifiedSha256: string | null): Promise<PinsPublished> {
  const { ctx, settings, config } = session;
  try {
    const inspected = await ctx.backend.inspect();
    if (!inspected.ok) return { written: false, reason: `cannot inspect the listener: ${inspected.reason}` };
    const host = probeAddressFor(inspected.inspection.listener.address);
    const port = inspected.inspection.listener.port;
    const probed = await ctx.prober(
      { input: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`, host, port },
      { timeoutMs: settings.probeTimeoutMs },
    );
    if (!probed.certificateDer || !probed.certificate)
      return { written: false, reason: `the listener could not be probed: ${probed.error?.message ?? "no certificate"}` };
    if (verifiedSha256 && probed.certificate.sha256 !== verifiedSha256.toUpperCase())
      return { written: false, reason: `the listener now presents SHA-256 ${probed.certificate.sha256}, not the verified ${verifiedSha256}` };
    const bundle = makePinBundle(pemOf(probed.certificateDer), clientName(probed.certificate.subjectAltNames, settings.spec.names, host), port, ctx.now());
    return { written: true, path: await writePinBundle(config.stateDir, bundle), bundle };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return {
      written: false,
      reason: `cannot write the pin bundle: ${e.code ? `${e.code}${e.path ? ` on ${e.path}` : ""}` : (e.message ?? String(error)).split("\n")[0]!}`,
    };
  }
}

/**
 * The name clients connect with, for the bundle's ready-made lines: the
 * certificate's first DNS name, else this host's name, else the probed address.
 * `client trust` makes its own lines for the name a client really uses.
 */
export function clientName(subjectAltNames: readonly string[], hostNames: readonly string[], probed: string): string {
  const dns = subjectAltNames.find((name) => name.startsWith("DNS:") && !name.includes("*") && name !== "DNS:localhost");
  return dns ? dns.slice(4) : (hostNames[0] ?? probed);
}
