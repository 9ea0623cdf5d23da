import type { Command } from "commander";
import { isIP } from "node:net";
import type { RequestedNames } from "../../app/rotate";
import { type ChangeLog, type EffectiveConfig, confirmPlan, requireYesOffTerminal, runLoggedChange } from "../confirm";
import { ExitCode, UsageError } from "../exit-codes";
import {
  backendOption,
  listenerPortOption,
  collect,
  configOption,
  jsonOption,
  listenerName,
  logDirOption,
  postHookOption,
  rotationOptions,
  stateDirOption,
  timeoutOption,
  warnDaysOption,
  withOptions,
  xrdpIniOption,
  grdOptions,
} from "../options";

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
  stage?: boolean;
  activate?: boolean;
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
    .option(
      "--name <dns>",
      "xrdp: a DNS name for the new certificate (repeat for more; the first is the CN). Default: the old certificate's names",
      collect,
      [],
    )
    .option("--ip <address>", "xrdp: an IP address for the new certificate's subjectAltName (repeat for more)", collect, [])
    .option("--stage", "xrdp: make the next pair and its pin bundle in the state dir without serving it (give clients its pin, then --activate)")
    .option("--activate", "switch to exactly the staged pair, verified on the wire; a staged pair is activated once")
    .option("--in-session", "Windows: rotate from inside an RDP session instead of handing the rotation to a SYSTEM task")
    .option("--listener <name>", "Windows: the listener to rotate (a WinStations key such as RDP-Tcp-Admin; default RDP-Tcp)", listenerName);
  withOptions(rotate, [
    configOption(),
    backendOption(),
    listenerPortOption(),
    xrdpIniOption(),
    ...grdOptions(),
    stateDirOption(),
    logDirOption(),
    ...rotationOptions(),
    postHookOption(),
    timeoutOption(),
    warnDaysOption(),
    jsonOption(),
  ])
    .addHelpText(
      "after",
      `
Examples:
  sudo rdpcert rotate --dry-run
  sudo rdpcert rotate --yes --reason "expires in 9 days"
  sudo rdpcert rotate --yes --name rdp01.example.com --name rdp01 --ip 192.0.2.10
  sudo rdpcert rotate --yes --restart-command "systemctl restart xrdp" --verify-timeout 30000 --json
  sudo rdpcert rotate --stage            (then give clients the pin in /var/lib/rdpcert/staged/)
  sudo rdpcert rotate --activate --yes --post-hook "/usr/local/sbin/publish-pins.sh --web /var/www/html/rdp-pins"
  sudo rdpcert rotate --yes --backend gnome-remote-desktop --grd-user alice --key-bits 4096

Outcomes: rotated, not-needed, planned (--dry-run), refused, busy, rolled-back, rollback-failed,
staged (--stage), deployed (--activate: the staged pair is presented),
handed-off (Windows, from inside an RDP session: the rotation runs as a one-off SYSTEM task).

Exit codes:
  0  rotated, not needed, or planned (--dry-run)
  1  rotated and verified (the new certificate stays), but the post-change hook failed
  2  rolled back (the old certificate is in place again) or rollback failed
     (the output names the backup to restore with 'rdpcert backups restore ID')
  3  --stage or --activate refused (a pair is already staged; nothing is staged, e.g. a second
     --activate; the staged pair expired), or
     refused (CA-issued without --force, listener down, cannot inspect, a problem a new
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
  if (opts.stage && opts.activate) throw new UsageError("--stage and --activate contradict each other: stage first, activate later");
  if (opts.activate && names) throw new UsageError("--activate puts exactly the staged pair in place: --name and --ip go with --stage");
  // --stage serves nothing new: no confirmation needed.
  if (!opts.stage) requireYesOffTerminal({ dryRun, yes: opts.yes }, "rotate");
  return runLoggedChange(command, { dryRun, json }, (config, log) => rotateWith(config, opts, names, log));
}

async function rotateWith(config: EffectiveConfig, opts: RotateFlags, names: RequestedNames, log: ChangeLog): Promise<number> {
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
  const hooks = await import("../../app/post-change");
  const untrustedHook = session.ok ? hooks.untrustedPostChange(config) : null;
  if (!session.ok || untrustedHook) {
    const reason = session.ok ? untrustedHook! : session.reason;
    const fix = session.ok ? hooks.POST_CHANGE_TRUST_FIX : session.fix;
    process.stdout.write(
      json
        ? `${jsonText({ schema: "rdpcert.rotate/v1", outcome: "refused", exitCode: 3, reason, fix })}\n`
        : terminalText(`refused  ${reason}\n  fix: ${fix}\n`),
    );
    return ExitCode.UNKNOWN;
  }
  const write = async (result: Awaited<ReturnType<typeof app.runRotation>>, extra: object = {}): Promise<number> => {
    // After a verified change only: the pin bundle, then the post-change hook (docs/hooks-and-staging.md).
    const after = dryRun ? null : await hooks.afterVerifiedChange(config, session.ctx.backend, result, session.ctx.log);
    const code = hooks.exitCodeAfterHook(exitCodeForRotation(result), after?.hook ?? null);
    const warnings = [...(result.warnings ?? []), ...hooks.afterChangeWarnings(after)];
    process.stdout.write(
      json
        ? `${jsonText({ ...rotationJson(result, code, dryRun, new Date()), warnings, postChange: hooks.postChangeJson(after?.hook ?? null), ...extra }, 2)}\n`
        : terminalText(`${renderRotationText(result, dryRun)}${warnings.map((w) => `warning: ${w}\n`).join("")}`),
    );
    return code;
  };
  if (opts.stage || opts.activate) {
    const { stageCommand } = await import("../stage-command");
    return stageCommand(session, opts.stage ? "stage" : "activate", { dryRun, json, force: opts.force === true, yes: opts.yes === true, write });
  }
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
    const handed = await app.handOffRotation(config, {
      force: opts.force === true,
      reason: opts.reason ?? null,
      ...(opts.listener ? { listener: opts.listener } : {}),
    });
    if (!handed.ok) {
      process.stderr.write(terminalText(`rdpcert: ${handOff}; handing the rotation to a SYSTEM task failed: ${handed.reason}\n`));
      return ExitCode.UNKNOWN;
    }
    const text =
      `handed-off  ${handOff}.\n` +
      `  The rotation now runs as the SYSTEM task ${handed.task}; this session may disconnect for a moment.\n` +
      `  Check the result: rdpcert status   (or Get-ScheduledTaskInfo -TaskName ${handed.task}, and the log in the log dir)\n` +
      `  To rotate from this session anyway: rdpcert rotate --in-session --yes\n`;
    process.stdout.write(
      json ? `${jsonText({ schema: "rdpcert.rotate/v1", outcome: "handed-off", exitCode: 0, reason: handOff, task: handed.task })}\n` : terminalText(text),
    );
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
