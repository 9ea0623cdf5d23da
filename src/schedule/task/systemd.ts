import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { CommandRunner } from "../../hosts/command-runner";
import { writeFileAtomic } from "../../hosts/local/atomic-write";
import { type CalendarTime, onCalendar } from "./cron-daily";

export const SERVICE_NAME = "rdpcert.service";
export const TIMER_NAME = "rdpcert.timer";
export const DEFAULT_UNIT_DIR = "/etc/systemd/system";

export interface TaskCommand {
  /** Absolute path of node, and of rdpcert's main.js. */
  readonly node: string;
  readonly cli: string;
  readonly configPath: string;
}

/** systemd's ExecStart quoting: double quotes, with `\`, `"`, `%` and `$` escaped. */
export function systemdQuote(arg: string): string {
  const escaped = arg.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%").replace(/\$/g, "$$$$");
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) && !arg.includes("%") ? arg : `"${escaped}"`;
}

export function systemdUnits(command: TaskCommand, time: CalendarTime, jitterMinutes: number): { service: string; timer: string } {
  const exec = [command.node, command.cli, "run", "--config", command.configPath].map(systemdQuote).join(" ");
  const service = `# Written by rdpcert task install; remove with: rdpcert task remove
[Unit]
Description=rdpcert: check, renew and verify the RDP listener certificate
Wants=network-online.target
After=network-online.target xrdp.service

[Service]
Type=oneshot
ExecStart=${exec}
# 1 is WARNING (logged); 2 CRITICAL and 3 UNKNOWN mark the unit failed, where admins look.
SuccessExitStatus=1
TimeoutStartSec=15min
`;
  const timer = `# Written by rdpcert task install; remove with: rdpcert task remove
[Unit]
Description=Daily rdpcert run

[Timer]
OnCalendar=${onCalendar(time)}
RandomizedDelaySec=${jitterMinutes}min
Persistent=true

[Install]
WantedBy=timers.target
`;
  return { service, timer };
}

/** sd_booted(3): systemd is PID 1 exactly when /run/systemd/system exists. */
export function systemdRunning(runDir = "/run/systemd/system"): boolean {
  return existsSync(runDir);
}

export type TaskStep = { readonly ok: true; readonly did: string } | { readonly ok: false; readonly did: string; readonly reason: string };

async function systemctl(runner: CommandRunner, args: string[]): Promise<TaskStep> {
  const did = `systemctl ${args.join(" ")}`;
  const r = await runner("systemctl", args, { timeoutMs: 60_000 });
  if (r.exitCode === 0) return { ok: true, did };
  return { ok: false, did, reason: (r.spawnError ?? r.stderr.trim().split("\n")[0]) || `exit ${r.exitCode}` };
}

export async function installSystemd(runner: CommandRunner, unitDir: string, units: { service: string; timer: string }): Promise<TaskStep[]> {
  writeFileAtomic(join(unitDir, SERVICE_NAME), units.service, { mode: 0o644 });
  writeFileAtomic(join(unitDir, TIMER_NAME), units.timer, { mode: 0o644 });
  const steps: TaskStep[] = [{ ok: true, did: `wrote ${join(unitDir, SERVICE_NAME)} and ${join(unitDir, TIMER_NAME)}` }];
  for (const args of [["daemon-reload"], ["enable", "--now", TIMER_NAME]]) {
    const step = await systemctl(runner, args);
    steps.push(step);
    if (!step.ok) break;
  }
  return steps;
}

export async function removeSystemd(runner: CommandRunner, unitDir: string): Promise<TaskStep[]> {
  const steps: TaskStep[] = [];
  if (existsSync(join(unitDir, TIMER_NAME))) steps.push(await systemctl(runner, ["disable", "--now", TIMER_NAME]));
  for (const name of [TIMER_NAME, SERVICE_NAME]) {
    if (existsSync(join(unitDir, name))) {
      rmSync(join(unitDir, name));
      steps.push({ ok: true, did: `removed ${join(unitDir, name)}` });
    }
  }
  steps.push(await systemctl(runner, ["daemon-reload"]));
  return steps;
}

export function showSystemd(unitDir: string): string | null {
  const read = (name: string): string | null => (existsSync(join(unitDir, name)) ? readFileSync(join(unitDir, name), "utf8") : null);
  const service = read(SERVICE_NAME);
  const timer = read(TIMER_NAME);
  if (service === null && timer === null) return null;
  return `# ${join(unitDir, SERVICE_NAME)}\n${service ?? "(missing)\n"}\n# ${join(unitDir, TIMER_NAME)}\n${timer ?? "(missing)\n"}`;
}
