import type { Command } from "commander";
import { ExitCode, UsageError } from "../exit-codes";
import { jsonOption, portOption, timeoutOption } from "../options";

export const CLIENT_TRUST_SCHEMA = "rdpcert.client-trust/v1";

/** `rdpcert client trust HOST[:PORT] --expect-sha256 HEX | --from-bundle FILE` (issue 25): a verified pin update. */
export function registerClient(program: Command): void {
  const client = program
    .command("client")
    .description("The client side of a certificate change: pin a listener's new certificate in this user's RDP clients.")
    .addHelpText(
      "after",
      `\nExamples:\n  rdpcert client trust rdp01.example.com --expect-sha256 4db992fc...8f21\n\nExit codes: see 'rdpcert client trust --help'.`,
    );
  client
    .command("trust")
    .description(
      "Probe HOST[:PORT] and, only when the certificate it presents now has exactly the expected SHA-256, pin it in this user's client stores: FreeRDP 2 (known_hosts2) and FreeRDP 3 (server/<host>_<port>.pem) under $XDG_CONFIG_HOME/freerdp (default ~/.config/freerdp); on Windows mstsc's CertHash in HKCU. Otherwise nothing is written.",
    )
    .argument("[target]", "host, host:port or [IPv6]:port, as the clients connect to it; default: the bundle's listener")
    .option("--expect-sha256 <hex>", "the SHA-256 the listener must present (64 hex digits; colons, spaces and case do not matter)")
    .option("--from-bundle <file>", "take the expected SHA-256 (and, without TARGET, the listener) from a pin bundle (<stateDir>/pins/<host>_<port>.json)")
    .addOption(portOption())
    .addOption(timeoutOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      `
Examples:
  rdpcert client trust rdp01.example.com --expect-sha256 4d:b9:92:fc:...:8f:21
  rdpcert client trust rdp01.example.com:3390 --from-bundle rdp01.example.com_3390.json
  rdpcert client trust --from-bundle /var/lib/rdpcert/pins/rdp01.example.com_3389.json --json

The stores are written atomically (a temp file, then a rename), keep their mode
and every other host's lines; a symlinked file is updated at its target.

Exit codes:
  0  the stores pin the certificate presented now (updated, or already pinned)
  2  the listener presents another certificate than the expected one: nothing written
  3  the listener could not be probed, a store could not be written, or bad usage`,
    )
    .action(async (target: string | undefined, opts: { expectSha256?: string; fromBundle?: string; port: number; timeout: number; json?: boolean }) => {
      process.exitCode = await clientTrustCommand(target, opts);
    });
}

async function clientTrustCommand(
  target: string | undefined,
  opts: { expectSha256?: string; fromBundle?: string; port: number; timeout: number; json?: boolean },
): Promise<number> {
  const { normalizeSha256 } = await import("../../core/pin-bundle");
  const { TargetError, parseTarget } = await import("../../core/target");
  const { jsonText, terminalText } = await import("../../core/terminal-safe");
  const app = await import("../../app/client-trust");
  if (opts.expectSha256 === undefined && opts.fromBundle === undefined)
    throw new UsageError("client trust needs the expected certificate: --expect-sha256 HEX or --from-bundle FILE");
  let expected = opts.expectSha256 === undefined ? null : normalizeSha256(opts.expectSha256);
  if (opts.expectSha256 !== undefined && expected === null)
    throw new UsageError("--expect-sha256 is not a SHA-256 (64 hexadecimal digits, colons and spaces allowed)");
  let listener = target;
  if (opts.fromBundle !== undefined) {
    const bundle = app.readBundleFile(opts.fromBundle);
    if (!bundle.ok) throw new UsageError(bundle.reason);
    if (expected !== null && expected !== bundle.sha256) throw new UsageError(`--expect-sha256 and the bundle ${opts.fromBundle} name different certificates`);
    expected = bundle.sha256;
    listener ??= bundle.host.includes(":") ? `[${bundle.host}]:${bundle.port}` : `${bundle.host}:${bundle.port}`;
  }
  if (listener === undefined) throw new UsageError("client trust needs the listener: HOST[:PORT] (or a bundle that names it)");
  let parsed;
  try {
    parsed = parseTarget(listener, opts.port);
  } catch (error) {
    if (error instanceof TargetError) throw new UsageError(error.message);
    throw error;
  }
  const result = await app.trustClient({ target: parsed, expectedSha256: expected!, timeoutMs: opts.timeout, now: new Date() });
  const failed = result.outcome === "trusted" && result.stores.some((s) => s.result === "failed");
  const exitCode =
    result.outcome === "trusted" ? (failed ? ExitCode.UNKNOWN : ExitCode.OK) : result.outcome === "mismatch" ? ExitCode.CRITICAL : ExitCode.UNKNOWN;
  if (opts.json) {
    process.stdout.write(
      `${jsonText({ schema: CLIENT_TRUST_SCHEMA, target: parsed.input, host: parsed.host, port: parsed.port, exitCode, expectedSha256: expected, ...result }, 2)}\n`,
    );
    return exitCode;
  }
  switch (result.outcome) {
    case "unreachable":
      process.stderr.write(terminalText(`rdpcert: client trust: cannot check ${parsed.input}: ${result.reason}; nothing written\n`));
      break;
    case "mismatch":
      process.stderr.write(
        terminalText(
          `rdpcert: client trust: ${parsed.input} presents SHA-256 ${result.presented.sha256}, not the expected ${result.expectedSha256}: nothing written\n`,
        ),
      );
      break;
    case "trusted":
      for (const s of result.stores)
        process.stdout.write(terminalText(`${s.result.padEnd(14)} ${s.name.padEnd(24)} ${s.location}${s.detail ? `: ${s.detail}` : ""}\n`));
      if (failed) process.stderr.write("rdpcert: client trust: a store could not be written (above); the others pin the new certificate\n");
      else process.stdout.write(terminalText(`${parsed.input} presents SHA-256 ${result.presented.sha256}, as expected: pinned\n`));
      break;
  }
  return exitCode;
}
