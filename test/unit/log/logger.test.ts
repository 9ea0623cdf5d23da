import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommandRunner } from "../../../src/hosts/command-runner";
import { EVENT_LOG_SCRIPT, LOG_FILE, createLog, redact } from "../../../src/log/logger";
import { certValid } from "../../helpers/certs";

describe("logging", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "rdpcert-log-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("redacts private keys and passwords from any message", () => {
    const keyPem = certValid(-1, 10).keyPem.trim();
    expect(redact(`oops ${keyPem} tail`)).toBe("oops [private key redacted] tail");
    expect(redact('export {"password":"hunter2","pfx":"MIIK..."}')).toBe('export {"password":[redacted],"pfx":[redacted]}');
  });

  it("writes JSON lines carrying the run id, and never a private key", async () => {
    const keyPem = certValid(-1, 10).keyPem.trim();
    const log = createLog({ logDir: dir, console: false, runId: "run-42" });
    log.log("info", "rotated: old A -> new B");
    log.log("error", `failed with ${keyPem}`);
    await log.close();
    const lines = readFileSync(join(dir, LOG_FILE), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines.map((l) => [l.level, l.runId, l.message])).toEqual([
      ["info", "run-42", "rotated: old A -> new B"],
      ["error", "run-42", "failed with [private key redacted]"],
    ]);
    expect(readFileSync(join(dir, LOG_FILE), "utf8")).not.toContain("PRIVATE KEY");
  });

  it("rotates the file by size and keeps a bounded number of files", async () => {
    const log = createLog({ logDir: dir, console: false, runId: "r", maxFileBytes: 2048, maxFiles: 3 });
    for (let i = 0; i < 200; i++) log.log("info", `line ${i} ${"x".repeat(40)}`);
    await log.close();
    const files = readdirSync(dir).sort();
    expect(files).toEqual([LOG_FILE, `${LOG_FILE}.1`, `${LOG_FILE}.2`]);
    for (const f of files) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(2048);
    // The newest lines are in rdpcert.log itself, in order, none lost within the kept files.
    const kept = [...files].reverse().flatMap((f) =>
      readFileSync(join(dir, f), "utf8")
        .trim()
        .split("\n")
        .map((l) => Number(/line (\d+)/.exec((JSON.parse(l) as { message: string }).message)![1])),
    );
    expect(kept.at(-1)).toBe(199);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 200 - kept.length + i));
  });

  it("sends warnings and errors (not info) to the Windows Application log with a constant script, the message on stdin", async () => {
    const calls: { file: string; args: readonly string[]; input?: string }[] = [];
    const runner: CommandRunner = async (file, args, options) => {
      calls.push({ file, args, input: options.input });
      return { exitCode: 0, stdout: "", stderr: "", timedOut: false, spawnError: null };
    };
    const log = createLog({ console: false, eventLog: { runner }, runId: "r1" });
    log.log("info", "all fine");
    log.log("warn", "expires in 9 days");
    log.log("error", "rollback failed; $(Remove-Item C:\\ -Recurse)");
    await log.close();
    expect(calls).toHaveLength(2);
    expect(calls[0]).toEqual({
      file: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
      args: ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", EVENT_LOG_SCRIPT],
      input: JSON.stringify({ source: "rdpcert", entryType: "Warning", eventId: 1001, message: "[r1] expires in 9 days" }),
    });
    expect(JSON.parse(calls[1]!.input!)).toMatchObject({ entryType: "Error", eventId: 1002, message: "[r1] rollback failed; $(Remove-Item C:\\ -Recurse)" });
    expect(calls[1]!.args.join(" ")).not.toContain("Remove-Item");
  });

  it("registers its event source at first use, and reports a failure to write the event log once, never swallowed", async () => {
    expect(EVENT_LOG_SCRIPT).toMatch(/SourceExists\(\$e\.source\)\) \{ New-EventLog -LogName Application -Source \$e\.source \}; Write-EventLog/);
    const reported: string[] = [];
    const runner: CommandRunner = async () => ({
      exitCode: 1,
      stdout: "",
      stderr: "New-EventLog : Requested registry access is not allowed.\r\nAt line:1 char:1\r\n",
      timedOut: false,
      spawnError: null,
    });
    const log = createLog({ console: false, eventLog: { runner, reportFailure: (line) => reported.push(line) }, runId: "r2" });
    log.log("warn", "one");
    log.log("error", "two");
    await log.close();
    expect(reported).toEqual([
      "rdpcert: cannot write to the Windows event log (New-EventLog : Requested registry access is not allowed.); the log file still has every line, and further event log failures are not repeated",
    ]);
  });
});

describe("the log file is never written through a link (issue 19)", () => {
  it("rdpcert.log planted as a link: the target is unchanged, one warning, the work goes on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rdpcert-log-link-"));
    const target = join(dir, "victim");
    writeFileSync(target, "untouched\n");
    symlinkSync(target, join(dir, LOG_FILE));
    const log = createLog({ logDir: dir, console: false, runId: "r" });
    log.log("info", "a line");
    await log.close();
    expect(readFileSync(target, "utf8")).toBe("untouched\n");
    expect(log.warnings()).toEqual([expect.stringContaining("it is a link, which rdpcert never writes its log through (ELOOP)")]);
  });
});
