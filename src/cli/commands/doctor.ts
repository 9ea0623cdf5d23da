import type { Command } from "commander";
import { Option } from "commander";
import type { DoctorGathered } from "../../app/doctor";
import { ExitCode, UsageError } from "../exit-codes";
import { backendOption, configOption, grdOptions, integerIn, jsonOption, portOption, timeoutOption, warnDaysOption, xrdpIniOption } from "../options";
import { type Platform, currentPlatform, isWindows } from "../../core/platform";

export const DOCTOR_SCHEMA = "rdpcert.doctor/v1";

/** `rdpcert doctor [TARGET]` and `doctor --client`: "error 0x904, extended 0x7". */
export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description(
      'Diagnose "error code 0x904, extended error 0x7": resolution, reachability, negotiation, TLS and certificate, link quality, and on the host the configuration; then the most likely cause and its fix.',
    )
    .argument("[target]", "host, host:port or [IPv6]:port; default: this host's listener")
    .addOption(new Option("--samples <n>", "handshakes for the link-quality check").default(10).argParser(integerIn(1, 1000, "--samples")))
    .option(
      "--client [host]",
      "the client side: what this user's RDP clients pin for HOST[:PORT] against what it presents (FreeRDP 2 and 3; on Windows also Default.rdp, the bitmap cache and mstsc's stored certificate)",
    )
    .option("--fix", "with --client: back each item up, then remove it")
    .addOption(portOption())
    .addOption(configOption())
    .addOption(backendOption())
    .addOption(xrdpIniOption())
    .addOption(grdOptions()[0]!)
    .addOption(grdOptions()[1]!)
    .addOption(timeoutOption())
    .addOption(warnDaysOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      `
Examples:
  sudo rdpcert doctor                      # on the RDP host: adds the configuration's view
  rdpcert doctor rdp01.example.com --samples 30
  rdpcert doctor 10.0.0.5:3390 --json
  rdpcert doctor --client rdp01.example.com        # which local client store pins another certificate
  rdpcert doctor --client rdp01.example.com --fix   # on the Windows client that fails

Exit codes (they answer "will a client connect?"):
  0  nothing explains a failed connection (notes may follow; --client --fix: cleaned)
  1  a warning: clients connect but warn (e.g. a name not in a CA-issued certificate)
  2  a cause of failure was found (the output names the most likely one and its fix)
  3  doctor itself could not run (bad target, no local listener found)
With --client HOST: 2 also when a client store (FreeRDP 2 and 3; on Windows
mstsc's CertHash) pins another certificate than the listener presents (named in
the output); on Linux 3 when the listener could not be probed.`,
    )
    .action(
      async (
        target: string | undefined,
        opts: { samples: number; port: number; timeout: number; json?: boolean; client?: string | boolean; fix?: boolean },
        command: Command,
      ) => {
        if (opts.fix && opts.client === undefined) throw new UsageError("--fix goes with --client (it cleans the Windows client's cached state)");
        if (opts.client !== undefined) {
          process.exitCode = await clientDoctorCommand({
            host: typeof opts.client === "string" ? opts.client : (target ?? null),
            port: opts.port,
            timeoutMs: opts.timeout,
            fix: opts.fix === true,
            json: opts.json === true,
          });
          return;
        }
        const { TargetError, parseTarget } = await import("../../core/target");
        let parsed = null;
        try {
          parsed = target === undefined ? null : parseTarget(target, opts.port);
        } catch (error) {
          if (error instanceof TargetError) throw new UsageError(error.message);
          throw error;
        }
        const { configFor } = await import("../config-flags");
        // doctor's --port is the default port of TARGET, not the config's probe-port override.
        const config = await configFor(command, { exclude: ["port"] });
        const { gatherDoctorFacts } = await import("../../app/doctor");
        process.exitCode = await doctorCommand(await gatherDoctorFacts(config, { target: parsed, samples: opts.samples }), { json: opts.json === true });
      },
    );
}

const mark = { pass: "[ ok ]", fail: "[FAIL]", warn: "[warn]", skip: "[skip]" } as const;

async function doctorCommand(gathered: DoctorGathered, options: { json: boolean }): Promise<number> {
  const { diagnose, doctorExitCode } = await import("../../core/diagnosis");
  const { jsonText, terminalText } = await import("../../core/terminal-safe");
  if (!gathered.ok) {
    if (options.json) process.stdout.write(`${jsonText({ schema: DOCTOR_SCHEMA, exitCode: 3, error: gathered.reason, fix: gathered.fix })}\n`);
    else process.stderr.write(terminalText(`rdpcert: doctor could not run: ${gathered.reason}${gathered.fix ? `; ${gathered.fix}` : ""}\n`));
    return ExitCode.UNKNOWN;
  }
  const { facts } = gathered;
  const diagnosis = diagnose(facts);
  const exitCode = doctorExitCode(diagnosis.causes);
  const failing = diagnosis.causes.filter((c) => c.severity !== "note");
  const notes = diagnosis.causes.filter((c) => c.severity === "note");
  if (options.json) {
    process.stdout.write(
      `${jsonText(
        {
          schema: DOCTOR_SCHEMA,
          generatedAt: facts.now.toISOString(),
          target: facts.target,
          exitCode,
          mostLikelyCause: failing[0] ?? null,
          causes: failing,
          notes,
          checks: diagnosis.checks,
          negotiation: facts.negotiation,
          link: facts.link,
        },
        2,
      )}\n`,
    );
    return exitCode;
  }
  let out = `rdpcert doctor ${facts.target.input}${facts.target.local ? " (this host's listener)" : ""}\n\n`;
  for (const c of diagnosis.checks) out += `${mark[c.status]} ${c.title.padEnd(34)} ${c.detail}\n`;
  const [first, ...others] = failing;
  if (first) {
    out += `\n${first.severity === "warn" ? "Warning" : "Most likely cause"}: ${first.summary}\n${first.fix.map((f) => `  fix: ${f}\n`).join("")}`;
    for (const other of others) out += `Also: ${other.summary}\n${other.fix.map((f) => `  fix: ${f}\n`).join("")}`;
  } else {
    out += `\nNo cause found on the server side: the listener negotiates TLS and presents a valid certificate over a healthy link.\nIf one client still fails with 0x904, clear that client's cached state (Default.rdp, the bitmap cache, the stored certificate for this host).\n`;
  }
  for (const note of notes) out += `Note: ${note.summary}\n${note.fix.map((f) => `  ${f}\n`).join("")}`;
  process.stdout.write(terminalText(out));
  return exitCode;
}

export interface ClientDoctorOptions {
  readonly host: string | null;
  /** The port of a HOST without one (doctor's --port). */
  readonly port?: number;
  readonly timeoutMs?: number;
  readonly fix: boolean;
  readonly json: boolean;
  readonly platform?: Platform;
  /** Tests: the runner PowerShell goes through. */
  readonly runner?: import("../../app/client-doctor").CommandRunner;
}

/** `rdpcert doctor --client [HOST] [--fix]`: the Windows client side of 0x904. */
export async function clientDoctorCommand(options: ClientDoctorOptions): Promise<number> {
  const { jsonText, terminalText } = await import("../../core/terminal-safe");
  const platform = options.platform ?? currentPlatform();
  if (!isWindows(platform)) {
    if (options.fix) throw new UsageError(`doctor --client --fix cleans the Windows Remote Desktop client (mstsc); this host runs ${platform}`);
    return clientPinsCommand(options);
  }
  const { doctorClient } = await import("../../app/client-doctor");
  const result = await doctorClient(options.host, options.fix, options.runner);
  if (!result.ok) {
    process.stderr.write(terminalText(`rdpcert: doctor --client could not run: ${result.reason}\n`));
    return ExitCode.UNKNOWN;
  }
  const { items, actions, fixError } = result.state;
  // mstsc's pin against what the listener presents now (before --fix removed it).
  const pins =
    options.host && !options.fix ? await mstscPinCheck(options.host, options, items.find((i) => i.kind === "stored-certificate")?.certHash ?? null) : null;
  const pinDiffers = pins?.ok === true && pins.stores.some((p) => p.verdict === "differs");
  const exitCode = pinDiffers ? 2 : result.exitCode;
  if (options.json) {
    process.stdout.write(`${jsonText({ schema: "rdpcert.doctor-client/v1", host: options.host, items, actions, fixError, pins, exitCode }, 2)}\n`);
  } else {
    for (const item of items) process.stdout.write(terminalText(`[found] ${item.kind.padEnd(19)} ${item.location}\n        ${item.detail}\n`));
    for (const action of actions) process.stdout.write(`[fixed] removed ${action.item}; backup in ${action.backup}\n`);
    if (fixError)
      process.stdout.write(
        terminalText(
          `[stopped] ${fixError}\n        ${actions.length ? "the items above were already removed (and backed up); " : "nothing was removed; "}close mstsc and run the fix again\n`,
        ),
      );
    if (items.length === 0) process.stdout.write("No cached client state found: the client side is clean.\n");
    else if (!options.fix)
      process.stdout.write(
        `\nThis is how a used client looks. If only this client fails, stale client state is the likely cause.\n  fix: rdpcert doctor --client${options.host ? ` ${options.host}` : ""} --fix   (each item is backed up first)\n`,
      );
    if (pins) process.stdout.write(terminalText(`\n${pinLines(pins, options.host!)}`));
  }
  return exitCode === 2 ? ExitCode.CRITICAL : ExitCode.OK;
}

async function mstscPinCheck(host: string, options: ClientDoctorOptions, certHash: string | null) {
  const { TargetError, parseTarget } = await import("../../core/target");
  let target;
  try {
    target = parseTarget(host, options.port);
  } catch (error) {
    if (error instanceof TargetError) return { ok: false as const, reason: error.message };
    throw error;
  }
  const { compareMstscPin } = await import("../../app/client-trust");
  return compareMstscPin({ target, timeoutMs: options.timeoutMs ?? 5000, certHash });
}

const PIN_MARKS = { matches: "[ ok ]", differs: "[FAIL]", "no-pin": "[none]", "not-checked": "[skip]" } as const;
const PIN_WORDS = {
  matches: "pins the certificate presented now",
  differs: "pins ANOTHER certificate",
  "no-pin": "no pin for this listener",
  "not-checked": "not checked",
} as const;

/** The pin comparison's lines, the same on every platform. */
function pinLines(result: Awaited<ReturnType<typeof import("../../app/client-trust").compareClientPins>>, input: string): string {
  if (!result.ok) return `[skip] client pins not checked: ${result.reason}\n`;
  let out = `${input} presents SHA-256 ${result.presented.sha256}\n\n`;
  for (const s of result.stores)
    out += `${PIN_MARKS[s.verdict]} ${s.name.padEnd(24)} ${PIN_WORDS[s.verdict]}${s.pinned && s.verdict === "differs" ? ` (${s.pinned})` : ""}${s.detail ? `: ${s.detail}` : ""}\n         ${s.location}\n`;
  const disagree = result.stores.filter((s) => s.verdict === "differs");
  if (disagree.length > 0) {
    out += `\n${disagree.map((s) => s.name).join(" and ")} ${disagree.length > 1 ? "disagree" : "disagrees"} with the listener: a strict client (FreeRDP /cert-deny) refuses it ("Host key verification failed"), mstsc asks again.\n`;
    out += `  fix: if the change was expected, rdpcert client trust ${input} --expect-sha256 ${result.presented.sha256}  (after checking that hash with the server's admin or its pin bundle)\n`;
  }
  return out;
}

/** `doctor --client HOST[:PORT]` off Windows (issue 25): each FreeRDP store's pin against what HOST presents now. */
async function clientPinsCommand(options: ClientDoctorOptions): Promise<number> {
  const { jsonText, terminalText } = await import("../../core/terminal-safe");
  const { TargetError, parseTarget } = await import("../../core/target");
  if (!options.host) throw new UsageError("doctor --client needs the listener the clients connect to: --client HOST[:PORT]");
  let target;
  try {
    target = parseTarget(options.host, options.port);
  } catch (error) {
    if (error instanceof TargetError) throw new UsageError(error.message);
    throw error;
  }
  const { compareClientPins } = await import("../../app/client-trust");
  const result = await compareClientPins({ target, timeoutMs: options.timeoutMs ?? 5000 });
  if (!result.ok) {
    if (options.json)
      process.stdout.write(`${jsonText({ schema: "rdpcert.doctor-client-pins/v1", target: target.input, exitCode: 3, error: result.reason })}\n`);
    else process.stderr.write(terminalText(`rdpcert: doctor --client could not run: ${result.reason}\n`));
    return ExitCode.UNKNOWN;
  }
  const disagree = result.stores.filter((s) => s.verdict === "differs");
  const exitCode = disagree.length > 0 ? ExitCode.CRITICAL : ExitCode.OK;
  if (options.json) {
    process.stdout.write(
      `${jsonText({ schema: "rdpcert.doctor-client-pins/v1", target: target.input, exitCode, presented: result.presented, stores: result.stores }, 2)}\n`,
    );
    return exitCode;
  }
  const out = `rdpcert doctor --client: ${pinLines(result, target.input)}`;
  process.stdout.write(terminalText(out));
  return exitCode;
}
