import type { CommandRunner } from "../../hosts/command-runner";
import { SCHTASKS, WINDOWS_POWERSHELL } from "../../hosts/windows/system-paths";
import { type CalendarTime, pad, weekdayNames } from "./cron-daily";
import type { TaskCommand, TaskStep } from "./systemd";

export const TASK_NAME = "rdpcert";

const xmlEscape = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");

/** Windows command-line quoting (CommandLineToArgvW rules) for the task's Arguments. */
export function windowsQuote(arg: string): string {
  if (arg !== "" && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === "\\") backslashes++;
    else if (ch === '"') {
      out += "\\".repeat(backslashes * 2 + 1) + '"';
      backslashes = 0;
    } else {
      out += "\\".repeat(backslashes) + ch;
      backslashes = 0;
    }
  }
  return `${out}${"\\".repeat(backslashes * 2)}"`;
}

/**
 * The Task Scheduler definition: SYSTEM (S-1-5-18) with highest privileges,
 * a calendar trigger with RandomDelay, StartWhenAvailable so a missed run
 * happens at the next boot, one instance at a time. The command path is
 * quoted: node usually lives under "C:\Program Files".
 */
export function taskXml(command: TaskCommand, time: CalendarTime, jitterMinutes: number): string {
  const start = `2026-01-01T${pad(time.hour)}:${pad(time.minute)}:00`;
  const schedule = time.weekdays
    ? `<ScheduleByWeek><WeeksInterval>1</WeeksInterval><DaysOfWeek>${weekdayNames(time)
        .map((d) => `<${d} />`)
        .join("")}</DaysOfWeek></ScheduleByWeek>`
    : "<ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay>";
  const args = [command.cli, "run", "--config", command.configPath].map(windowsQuote).join(" ");
  return `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>rdpcert: check, renew and verify the RDP listener certificate. Remove with: rdpcert task remove</Description>
    <URI>\\${TASK_NAME}</URI>
  </RegistrationInfo>
  <Triggers>
    <CalendarTrigger>
      <StartBoundary>${start}</StartBoundary>
      <Enabled>true</Enabled>
      <RandomDelay>PT${jitterMinutes}M</RandomDelay>
      ${schedule}
    </CalendarTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>S-1-5-18</UserId>
      <RunLevel>HighestAvailable</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <StartWhenAvailable>true</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>
    <ExecutionTimeLimit>PT1H</ExecutionTimeLimit>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>${xmlEscape(windowsQuote(command.node))}</Command>
      <Arguments>${xmlEscape(args)}</Arguments>
    </Exec>
  </Actions>
</Task>
`;
}

/** schtasks.exe reads the XML file as UTF-16 with a byte-order mark, as it writes it. */
export function taskXmlBytes(xml: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, "utf16le")]);
}

export const EVENT_SOURCE_SCRIPT =
  "$p = [Console]::In.ReadToEnd() | ConvertFrom-Json; if (-not [System.Diagnostics.EventLog]::SourceExists($p.source)) { New-EventLog -LogName Application -Source $p.source }";

export async function installWindowsTask(
  runner: CommandRunner,
  xmlPath: string,
  writeXml: (path: string, bytes: Buffer) => void,
  xml: string,
): Promise<TaskStep[]> {
  writeXml(xmlPath, taskXmlBytes(xml));
  const steps: TaskStep[] = [{ ok: true, did: `wrote ${xmlPath}` }];
  const create = await runner(SCHTASKS(), ["/Create", "/TN", TASK_NAME, "/XML", xmlPath, "/F"], { timeoutMs: 60_000 });
  steps.push(
    create.exitCode === 0
      ? { ok: true, did: `schtasks.exe /Create /TN ${TASK_NAME}` }
      : { ok: false, did: "schtasks.exe /Create", reason: (create.spawnError ?? create.stderr.trim()) || `exit ${create.exitCode}` },
  );
  if (!steps.at(-1)!.ok) return steps;
  const source = await runner(WINDOWS_POWERSHELL(), ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", EVENT_SOURCE_SCRIPT], {
    input: JSON.stringify({ source: "rdpcert" }),
    timeoutMs: 60_000,
  });
  steps.push(
    source.exitCode === 0
      ? { ok: true, did: "registered the Application event log source rdpcert" }
      : { ok: false, did: "New-EventLog -Source rdpcert", reason: (source.spawnError ?? source.stderr.trim().split("\n")[0]) || `exit ${source.exitCode}` },
  );
  return steps;
}

export async function removeWindowsTask(runner: CommandRunner): Promise<TaskStep[]> {
  const r = await runner(SCHTASKS(), ["/Delete", "/TN", TASK_NAME, "/F"], { timeoutMs: 60_000 });
  return [
    r.exitCode === 0
      ? { ok: true, did: `schtasks.exe /Delete /TN ${TASK_NAME}` }
      : { ok: false, did: "schtasks.exe /Delete", reason: (r.spawnError ?? r.stderr.trim()) || `exit ${r.exitCode}` },
  ];
}

export async function showWindowsTask(runner: CommandRunner): Promise<string | null> {
  const r = await runner(SCHTASKS(), ["/Query", "/TN", TASK_NAME, "/XML"], { timeoutMs: 60_000 });
  return r.exitCode === 0 ? r.stdout : null;
}
