import type { Command } from "commander";
import { isIP } from "node:net";
import type { RequestedNames } from "../../app/rotate";
import { confirmPlan } from "../confirm";
import { ExitCode, UsageError } from "../exit-codes";
import { backendOption, collect, configOption, jsonOption, listenerName, logDirOption, rotationOptions, stateDirOption, timeoutOption, warnDaysOption, withOptions, xrdpIniOption } from "../options";


/** Checks --name and --ip before any work: one line naming the bad value. */
export function requestedNames(names: readonly string[], ips: readonly string[]): RequestedNames {
  for (const name of names) {
    if (!/^(\*\.)?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/.test(name) || name.length > 253) {
      throw new UsageError(`--name ${JSON.stringify(name)} is not a DNS name`);
    }
  }
  for (const ip of ips) if (isIP(ip) === 0) throw new UsageError(`--ip ${JSON.stringify(ip)} is not an IP address`);
  return names.length || ips.length ? { dnsNames: names.map((n) => n.toLowerCase().replace(/\.$/, "")), ipAddresses: [...ips] } : null;
}

interface RotateFlags {
  dryRun?: boolean;
  yes?: boolean;
  force?: boolean;
  reason?: string;
  inSession?: boolean;
  listener?: string;
  json?: boolean;
  name: string[];
  ip: string[];
}

/** `rdpcert rotate`: the safe swap, with its plan, confirmation and, on Windows inside an RDP session, the hand-off. */
export function registerRotate(program: Command): void {
  const rotate = program
    .command("rotate")
    .description("Replace the listener's self-signed certificate safely: back up, replace, restart, verify with a real handshake, roll back on failure.")
    .option("--dry-run", "print the exact plan and change nothing")
    .option("--yes", "do not ask for confirmation (required without a terminal)")
    .option("--force", "rotate even when healthy, and even a CA-issued certificate (replaced by a self-signed one)")
    .option("--reason <text>", "recorded in the journal and the backup")
    .option("--name <dns>", "xrdp: a DNS name for the new certificate (repeat for more; the first is the CN). Default: the old certificate's names", collect, [])
    .option("--ip <address>", "xrdp: an IP address for the new certificate's subjectAltName (repeat for more)", collect, [])
    .option("--in-session", "Windows: rotate from inside an RDP session instead of handing the rotation to a SYSTEM task")
    .option("--listener <name>", "Windows: the listener to rotate (a WinStations key such as RDP-Tcp-Admin; default RDP-Tcp)", listenerName);
  withOptions(rotate, [configOption(), backendOption(), xrdpIniOption(), stateDirOption(), logDirOption(), ...rotationOptions(), timeoutOption(), warnDaysOption(), jsonOption()])
    .addHelpText(
      "after",
      `
Examples:
  sudo rdpcert rotate --dry-run
  sudo rdpcert rotate --yes --reason "expires in 9 days"
  sudo rdpcert rotate --yes --name rdp01.example.com --name rdp01 --ip 192.0.2.10
  sudo rdpcert rotate --yes --restart-command "systemctl restart xrdp" --verify-timeout 30000 --json

Outcomes: rotated, not-needed, planned (--dry-run), refused, busy, rolled-back, rollback-failed,
handed-off (Windows, from inside an RDP session: the rotation runs as a one-off SYSTEM task).

Exit codes:
  0  rotated, not needed, or planned (--dry-run)
  2  rolled back (the old certificate is in place again) or rollback failed
     (the output names the backup to restore with 'rdpcert backups restore ID')
  3  refused (CA-issued without --force, listener down, cannot inspect, a problem a new
     certificate does not fix), another rotation holds the lock, or bad usage`,
    )
    .action(async (opts: RotateFlags, command: Command) => {
      process.exitCode = await runRotate(opts, command);
    });
}

async function runRotate(opts: RotateFlags, command: Command): Promise<number> {
  const dryRun = opts.dryRun === true;
  const json = opts.json === true;
  const names = requestedNames(opts.name, opts.ip);
  if (!dryRun && !opts.yes && !process.stdin.isTTY) {
    throw new UsageError("rotate changes the listener's certificate: pass --yes to confirm (or --dry-run to see the plan)");
  }
  const { configFor } = await import("../config-flags");
  const config = await configFor(command);
  const { withCommandLog } = await import("../../app/command-log");
  // Every change, typed or scheduled, goes to the log file (issue 23; --log-dir / logDir); a dry run changes nothing.
  return withCommandLog(config, { dryRun, json }, (log) => rotateWith(config, opts, names, log));
}

async function rotateWith(config: Awaited<ReturnType<typeof import("../config-flags").configFor>>, opts: RotateFlags, names: RequestedNames, log: ((level: "info" | "warn" | "error", message: string) => void) | undefined): Promise<number> {
  const dryRun = opts.dryRun === true;
  const json = opts.json === true;
  const app = await import("../../app/rotate");
  const { jsonText, terminalText } = await import("../../core/terminal-safe");
  const { exitCodeForRotation, rotationJson, renderRotationText } = await import("../render/rotate-render");
  const session = await app.rotationSession(config, {
    force: opts.force === true,
    reason: opts.reason ?? null,
    log,
    requestedNames: names,
    inSession: opts.inSession === true,
    ...(opts.listener ? { listener: opts.listener } : {}),
  });
  if (!session.ok) {
    process.stdout.write(json ? `${jsonText({ schema: "rdpcert.rotate/v1", outcome: "refused", exitCode: 3, reason: session.reason, fix: session.fix })}\n` : terminalText(`refused  ${session.reason}\n  fix: ${session.fix}\n`));
    return ExitCode.UNKNOWN;
  }
  const write = (result: Awaited<ReturnType<typeof app.runRotation>>): number => {
    const code = exitCodeForRotation(result);
    process.stdout.write(json ? `${jsonText(rotationJson(result, code, dryRun, new Date()), 2)}\n` : terminalText(renderRotationText(result, dryRun)));
    return code;
  };
  const handOff = app.mustHandOff(session);
  if (handOff && !dryRun) {
    // Interactive: the plan first (what the SYSTEM task will do), then the hand-off.
    if (!opts.yes) {
      const decision = await app.decide(session);
      if (decision.reason !== handOff) return write(await app.runRotation(session, true));
      if (!(await confirmPlan(decision.plan, "Hand this rotation to a SYSTEM task now?", terminalText))) {
        process.stderr.write("rdpcert: nothing changed\n");
        return ExitCode.OK;
      }
    }
    const handed = await app.handOffRotation(config, { force: opts.force === true, reason: opts.reason ?? null, ...(opts.listener ? { listener: opts.listener } : {}) });
    if (!handed.ok) {
      process.stderr.write(terminalText(`rdpcert: ${handOff}; handing the rotation to a SYSTEM task failed: ${handed.reason}\n`));
      return ExitCode.UNKNOWN;
    }
    const text =
      `handed-off  ${handOff}.\n` +
      `  The rotation now runs as the SYSTEM task ${handed.task}; this session may disconnect for a moment.\n` +
      `  Check the result: rdpcert status   (or Get-ScheduledTaskInfo -TaskName ${handed.task}, and the log in the log dir)\n` +
      `  To rotate from this session anyway: rdpcert rotate --in-session --yes\n`;
    process.stdout.write(json ? `${jsonText({ schema: "rdpcert.rotate/v1", outcome: "handed-off", exitCode: 0, reason: handOff, task: handed.task })}\n` : terminalText(text));
    return ExitCode.OK;
  }
  if (!dryRun && !opts.yes) {
    const decision = await app.decide(session);
    if (decision.kind !== "rotate") return write(await app.runRotation(session, true));
    if (!(await confirmPlan(decision.plan, "Rotate the listener certificate now?", terminalText))) {
      process.stderr.write("rdpcert: nothing changed\n");
      return ExitCode.OK;
    }
  }
  return write(await app.runRotation(session, dryRun));
}
