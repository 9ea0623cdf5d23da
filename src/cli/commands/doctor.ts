import type { Command } from "commander";
import { Option } from "commander";
import type { DoctorGathered } from "../../app/doctor";
import { ExitCode, UsageError } from "../exit-codes";
import { backendOption, configOption, integerIn, jsonOption, portOption, timeoutOption, warnDaysOption, xrdpIniOption } from "../options";

export const DOCTOR_SCHEMA = "rdpcert.doctor/v1";

/** `rdpcert doctor [TARGET]` and `doctor --client`: "error 0x904, extended 0x7". */
export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description('Diagnose "error code 0x904, extended error 0x7": resolution, reachability, negotiation, TLS and certificate, link quality, and on the host the configuration; then the most likely cause and its fix.')
    .argument("[target]", "host, host:port or [IPv6]:port; default: this host's listener")
    .addOption(new Option("--samples <n>", "handshakes for the link-quality check").default(10).argParser(integerIn(1, 1000, "--samples")))
    .option("--client [host]", "Windows client side: Default.rdp, the bitmap cache and the certificate stored for HOST")
    .option("--fix", "with --client: back each item up, then remove it")
    .addOption(portOption())
    .addOption(configOption())
    .addOption(backendOption())
    .addOption(xrdpIniOption())
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
  rdpcert doctor --client rdp01.example.com --fix   # on the Windows client that fails

Exit codes (they answer "will a client connect?"):
  0  nothing explains a failed connection (notes may follow; --client --fix: cleaned)
  1  a warning: clients connect but warn (e.g. a name not in a CA-issued certificate)
  2  a cause of failure was found (the output names the most likely one and its fix)
  3  doctor itself could not run (bad target, no local listener found)`,
    )
    .action(async (target: string | undefined, opts: { samples: number; port: number; json?: boolean; client?: string | boolean; fix?: boolean }, command: Command) => {
      if (opts.fix && opts.client === undefined) throw new UsageError("--fix goes with --client (it cleans the Windows client's cached state)");
      if (opts.client !== undefined) {
        process.exitCode = await clientDoctorCommand({ host: typeof opts.client === "string" ? opts.client : (target ?? null), fix: opts.fix === true, json: opts.json === true });
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
    });
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
  readonly fix: boolean;
  readonly json: boolean;
  readonly platform?: NodeJS.Platform;
}

/** `rdpcert doctor --client [HOST] [--fix]`: the Windows client side of 0x904. */
export async function clientDoctorCommand(options: ClientDoctorOptions): Promise<number> {
  const { jsonText, terminalText } = await import("../../core/terminal-safe");
  const platform = options.platform ?? process.platform;
  if (platform !== "win32") throw new UsageError(`doctor --client inspects the Windows Remote Desktop client (mstsc) of this machine; this host runs ${platform}`);
  const { doctorClient } = await import("../../app/client-doctor");
  const result = await doctorClient(options.host, options.fix);
  if (!result.ok) {
    process.stderr.write(terminalText(`rdpcert: doctor --client could not run: ${result.reason}\n`));
    return ExitCode.UNKNOWN;
  }
  const { items, actions, fixError } = result.state;
  const exitCode = result.exitCode;
  if (options.json) {
    process.stdout.write(`${jsonText({ schema: "rdpcert.doctor-client/v1", host: options.host, items, actions, fixError, exitCode }, 2)}\n`);
  } else {
    for (const item of items) process.stdout.write(terminalText(`[found] ${item.kind.padEnd(19)} ${item.location}\n        ${item.detail}\n`));
    for (const action of actions) process.stdout.write(`[fixed] removed ${action.item}; backup in ${action.backup}\n`);
    if (fixError) process.stdout.write(terminalText(`[stopped] ${fixError}\n        ${actions.length ? "the items above were already removed (and backed up); " : "nothing was removed; "}close mstsc and run the fix again\n`));
    if (items.length === 0) process.stdout.write("No cached client state found: the client side is clean.\n");
    else if (!options.fix) process.stdout.write(`\nThis is how a used client looks. If only this client fails, stale client state is the likely cause.\n  fix: rdpcert doctor --client${options.host ? ` ${options.host}` : ""} --fix   (each item is backed up first)\n`);
  }
  return exitCode === 2 ? ExitCode.CRITICAL : ExitCode.OK;
}
