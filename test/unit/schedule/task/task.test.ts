import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLParser } from "fast-xml-parser";
import type { CommandRunner } from "../../../../src/hosts/command-runner";
import { calendarFromCron } from "../../../../src/schedule/task/cron-daily";
import { installSystemd, removeSystemd, systemdQuote, systemdUnits } from "../../../../src/schedule/task/systemd";
import { EVENT_SOURCE_SCRIPT, installWindowsTask, removeWindowsTask, taskXml, taskXmlBytes, windowsQuote } from "../../../../src/schedule/task/windows-task";

const daily = { hour: 3, minute: 0, weekdays: null };
const command = { node: process.execPath, cli: join(__dirname, "main.js"), configPath: "/etc/rdpcert/odd name %h $x.json" };

function recordingRunner(exitCode = 0): { runner: CommandRunner; calls: { file: string; args: readonly string[]; input?: string }[] } {
  const calls: { file: string; args: readonly string[]; input?: string }[] = [];
  const runner: CommandRunner = async (file, args, options) => {
    calls.push({ file, args, input: options.input });
    return { exitCode, stdout: "", stderr: exitCode ? "Access is denied.\r\n" : "", timedOut: false, spawnError: null };
  };
  return { runner, calls };
}

describe("calendarFromCron", () => {
  it("maps daily and weekly forms exactly, and refuses the rest with a reason", () => {
    expect(calendarFromCron("0 3 * * *")).toEqual({ ok: true, time: daily });
    expect(calendarFromCron("30 2 * * 1,5,7")).toEqual({ ok: true, time: { hour: 2, minute: 30, weekdays: [0, 1, 5] } });
    expect(calendarFromCron("*/5 * * * *")).toMatchObject({ ok: false, reason: expect.stringContaining("use rdpcert schedule") });
    expect(calendarFromCron("0 25 * * *").ok).toBe(false);
  });
});

describe("systemd units", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "rdpcert-units-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const verify = (files: string[]) => spawnSync("systemd-analyze", ["verify", ...files], { encoding: "utf8" });

  it("pass systemd-analyze verify, with Persistent=true and RandomizedDelaySec", () => {
    const weekly = calendarFromCron("15 4 * * 0");
    if (!weekly.ok) throw new Error(weekly.reason);
    expect(weekly.time).toEqual({ hour: 4, minute: 15, weekdays: [0] });
    const units = systemdUnits({ ...command, cli: join(dir, "main.js") }, weekly.time, 45);
    writeFileSync(join(dir, "main.js"), "");
    writeFileSync(join(dir, "rdpcert.service"), units.service);
    writeFileSync(join(dir, "rdpcert.timer"), units.timer);
    const result = verify([join(dir, "rdpcert.service"), join(dir, "rdpcert.timer")]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(units.timer).toContain("OnCalendar=Sun *-*-* 04:15:00\nRandomizedDelaySec=45min\nPersistent=true\n");
    expect(units.service).toContain(`ExecStart=${process.execPath} ${join(dir, "main.js")} run --config "/etc/rdpcert/odd name %%h $$x.json"\n`);
  });

  it("the check is real: a unit with a broken calendar fails verification", () => {
    const units = systemdUnits(command, daily, 30);
    writeFileSync(join(dir, "rdpcert.timer"), units.timer.replace("*-*-* 03:00:00", "every day at 3"));
    writeFileSync(join(dir, "rdpcert.service"), units.service);
    expect(verify([join(dir, "rdpcert.timer")]).status).not.toBe(0);
  });

  it("quotes ExecStart words only when needed", () => {
    expect(systemdQuote("/usr/bin/node")).toBe("/usr/bin/node");
    expect(systemdQuote('a "b"\\c')).toBe('"a \\"b\\"\\\\c"');
  });

  it("install writes both units 0644, then daemon-reload and enable --now; remove undoes it", async () => {
    const { runner, calls } = recordingRunner();
    const steps = await installSystemd(runner, dir, systemdUnits(command, daily, 30));
    expect(steps.every((s) => s.ok)).toBe(true);
    expect(calls.map((c) => [c.file, ...c.args])).toEqual([
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", "rdpcert.timer"],
    ]);
    expect(readFileSync(join(dir, "rdpcert.timer"), "utf8")).toContain("Persistent=true");
    const removal = recordingRunner();
    await removeSystemd(removal.runner, dir);
    expect(removal.calls.map((c) => [c.file, ...c.args])).toEqual([
      ["systemctl", "disable", "--now", "rdpcert.timer"],
      ["systemctl", "daemon-reload"],
    ]);
    expect(existsSync(join(dir, "rdpcert.timer"))).toBe(false);
  });

  it("stops at the first failing systemctl step and says why", async () => {
    const { runner, calls } = recordingRunner(1);
    const steps = await installSystemd(runner, dir, systemdUnits(command, daily, 30));
    expect(calls).toHaveLength(1);
    expect(steps.at(-1)).toEqual({ ok: false, did: "systemctl daemon-reload", reason: "Access is denied." });
  });
});

describe("Windows task", () => {
  const winCommand = {
    node: "C:\\Program Files\\nodejs\\node.exe",
    cli: "C:\\Program Files\\rdpcert\\dist\\src\\cli\\main.js",
    configPath: "C:\\ProgramData\\rdpcert\\config.json",
  };

  it("XML parses and carries SYSTEM, highest privileges, RandomDelay, StartWhenAvailable and the run command", () => {
    const xml = taskXml(winCommand, { hour: 3, minute: 5, weekdays: null }, 30);
    const task = new XMLParser({ ignoreAttributes: false }).parse(xml).Task;
    expect(task["@_xmlns"]).toBe("http://schemas.microsoft.com/windows/2004/02/mit/task");
    expect(task.Principals.Principal).toMatchObject({ UserId: "S-1-5-18", RunLevel: "HighestAvailable" });
    expect(task.Triggers.CalendarTrigger).toMatchObject({ StartBoundary: "2026-01-01T03:05:00", RandomDelay: "PT30M", ScheduleByDay: { DaysInterval: 1 } });
    expect(task.Settings).toMatchObject({ StartWhenAvailable: true, MultipleInstancesPolicy: "IgnoreNew" });
    expect(task.Actions.Exec.Command).toBe('"C:\\Program Files\\nodejs\\node.exe"');
    expect(task.Actions.Exec.Arguments).toBe('"C:\\Program Files\\rdpcert\\dist\\src\\cli\\main.js" run --config C:\\ProgramData\\rdpcert\\config.json');
    const weekly = new XMLParser().parse(taskXml(winCommand, { hour: 1, minute: 0, weekdays: [1, 3] }, 0)).Task;
    expect(weekly.Triggers.CalendarTrigger.ScheduleByWeek.DaysOfWeek).toEqual({ Monday: "", Wednesday: "" });
  });

  it("is written as UTF-16 LE with a byte-order mark, as schtasks.exe expects", () => {
    const bytes = taskXmlBytes("<?xml?>");
    expect([...bytes.subarray(0, 4)]).toEqual([0xff, 0xfe, 0x3c, 0x00]);
  });

  it("quotes arguments by the Windows command-line rules", () => {
    expect(windowsQuote("plain")).toBe("plain");
    expect(windowsQuote("C:\\a b\\")).toBe('"C:\\a b\\\\"');
    expect(windowsQuote('say "hi"')).toBe('"say \\"hi\\""');
  });

  it("registers with schtasks.exe /Create /XML and the event source with a constant script, data on stdin", async () => {
    const { runner, calls } = recordingRunner();
    let written: Buffer | null = null;
    const steps = await installWindowsTask(runner, "C:\\ProgramData\\rdpcert\\rdpcert-task.xml", (_p, b) => (written = b), taskXml(winCommand, daily, 30));
    expect(steps.every((s) => s.ok)).toBe(true);
    expect(written).not.toBeNull();
    expect(calls).toEqual([
      {
        file: "C:\\Windows\\System32\\schtasks.exe",
        args: ["/Create", "/TN", "rdpcert", "/XML", "C:\\ProgramData\\rdpcert\\rdpcert-task.xml", "/F"],
        input: undefined,
      },
      {
        file: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        args: ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", EVENT_SOURCE_SCRIPT],
        input: '{"source":"rdpcert"}',
      },
    ]);
    const removal = recordingRunner();
    await removeWindowsTask(removal.runner);
    expect(removal.calls.map((c) => [c.file, ...c.args])).toEqual([["C:\\Windows\\System32\\schtasks.exe", "/Delete", "/TN", "rdpcert", "/F"]]);
  });

  it("reports a failed registration with schtasks' message", async () => {
    const { runner } = recordingRunner(1);
    const steps = await installWindowsTask(runner, "x.xml", () => undefined, taskXml(winCommand, daily, 30));
    expect(steps.at(-1)).toEqual({ ok: false, did: "schtasks.exe /Create", reason: "Access is denied." });
  });
});

describe("rdpcert task install --print (the built CLI)", () => {
  it("prints the units and the commands, and writes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "rdpcert-task-"));
    const out = execFileSync(process.execPath, [join(__dirname, "../../../../dist/src/cli/main.js"), "task", "install", "--print", "--unit-dir", dir], {
      encoding: "utf8",
    });
    expect(out).toContain(`# ${join(dir, "rdpcert.timer")}`);
    expect(out).toContain("OnCalendar=*-*-* 03:00:00");
    expect(out).toContain("systemctl daemon-reload && systemctl enable --now rdpcert.timer");
    expect(existsSync(join(dir, "rdpcert.timer"))).toBe(false);
    rmSync(dir, { recursive: true });
  });
});

describe("task install on Windows", () => {
  it("creates the state dir it writes the task XML into", async () => {
    const { mkdtempSync, existsSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { taskAction } = await import("../../../../src/app/task");
    const { defaultConfig } = await import("../../../../src/core/config");
    const dir = mkdtempSync(join(tmpdir(), "rdpcert-task-"));
    const write = process.stdout.write;
    try {
      const stateDir = join(dir, "not", "yet", "there");
      process.stdout.write = (() => true) as typeof process.stdout.write;
      // schtasks.exe cannot run here: the install fails after writing the XML, which is what this pins.
      await taskAction(
        { ...defaultConfig(), stateDir },
        { action: "install", print: false, configPath: join(dir, "config.json"), unitDir: dir, platform: "win32" },
      );
      expect(existsSync(join(stateDir, "rdpcert-task.xml"))).toBe(true);
    } finally {
      process.stdout.write = write;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
