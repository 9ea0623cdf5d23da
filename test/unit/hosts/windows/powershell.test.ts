import { existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { CommandOptions, CommandResult, CommandRunner } from "../../../../src/hosts/command-runner";
import { systemExecutable } from "../../../../src/hosts/windows/system-paths";
import {
  JSON_MARKER,
  asArray,
  encodedBootstrap,
  errorRecordCategory,
  errorRecordLine,
  parsePsDate,
  runScript,
  windowsPowerShell,
} from "../../../../src/hosts/windows/powershell";

/**
 * The PowerShell boundary: the exact command, and every way Windows
 * PowerShell 5.1's answer can arrive (shapes written to 5.1's rules; no
 * Windows host here).
 */
const SCRIPTS = join(__dirname, "..", "..", "..", "..", "src", "hosts", "windows", "scripts");
const POWERSHELL_EXE = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
/** What bootstrap.ps1 prints before the script's document. */
const M = `\r\n${JSON_MARKER}\r\n`;

/** An error record exactly as 5.1 writes an uncaught Get-CimInstance failure to stderr. */
const ACCESS_DENIED_RECORD =
  "Get-CimInstance : Access denied \r\n" +
  "At C:\\Program Files\\rdpcert\\dist\\src\\hosts\\windows\\scripts\\inspect.ps1:12 char:5\r\n" +
  "+     $setting = Get-CimInstance -Namespace 'root\\cimv2\\TerminalServices' ...\r\n" +
  "+     ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\r\n" +
  "    + CategoryInfo          : PermissionDenied: (root\\cimv2\\TerminalServices:String) [Get-CimInstance], CimException\r\n" +
  "    + FullyQualifiedErrorId : HRESULT 0x80041003,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand\r\n";

function fakeRunner(reply: Partial<CommandResult>): { runner: CommandRunner; calls: { file: string; args: readonly string[]; options: CommandOptions }[] } {
  const calls: { file: string; args: readonly string[]; options: CommandOptions }[] = [];
  const runner: CommandRunner = async (file, args, options) => {
    calls.push({ file, args, options });
    return { exitCode: 0, stdout: "", stderr: "", timedOut: false, spawnError: null, ...reply };
  };
  return { runner, calls };
}

describe("runScript", () => {
  it("runs powershell.exe by absolute path with the bootstrap as -EncodedCommand, the script and its parameters as JSON on stdin, and the timeout", async () => {
    const { runner, calls } = fakeRunner({ stdout: `${M}{"schema":1}\r\n` });
    const result = await runScript(runner, "inspect.ps1", { terminalName: "RDP-tcp", eventDays: 30 }, 12_345);
    expect(result).toEqual({ ok: true, json: { schema: 1 } });
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.file).toBe(POWERSHELL_EXE);
    expect(call.args).toEqual(["-NoProfile", "-NonInteractive", "-NoLogo", "-ExecutionPolicy", "Bypass", "-EncodedCommand", encodedBootstrap()]);
    const envelope = JSON.parse(call.options.input!) as { script: string; input: unknown };
    expect(envelope).toEqual({ script: join(SCRIPTS, "inspect.ps1"), input: { terminalName: "RDP-tcp", eventDays: 30 } });
    expect(isAbsolute(envelope.script)).toBe(true);
    expect(existsSync(envelope.script)).toBe(true);
    expect(call.options.timeoutMs).toBe(12_345);
  });

  it("the encoded command is bootstrap.ps1 itself, as UTF-16LE base64 (no execution policy applies to it)", () => {
    const text = Buffer.from(encodedBootstrap(), "base64").toString("utf16le");
    expect(text).toContain("[Console]::InputEncoding = $utf8");
    expect(text).toContain(JSON_MARKER);
    // Windows caps a command line at 32767 characters.
    expect(encodedBootstrap().length).toBeLessThan(20_000);
  });

  it.each<[string, NodeJS.ProcessEnv, string]>([
    ["64-bit Node", { SystemRoot: "D:\\WINDOWS" }, "D:\\WINDOWS\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"],
    [
      "32-bit Node on 64-bit Windows (Sysnative)",
      { SystemRoot: "C:\\Windows", PROCESSOR_ARCHITEW6432: "AMD64" },
      "C:\\Windows\\Sysnative\\WindowsPowerShell\\v1.0\\powershell.exe",
    ],
    ["no SystemRoot, windir set", { windir: "C:\\Win\\" }, "C:\\Win\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"],
    ["neither", {}, POWERSHELL_EXE],
  ])("starts powershell.exe by absolute path: %s", (_, env, file) => {
    expect(windowsPowerShell(env).file).toBe(file);
  });

  it("passes hostile parameter text only as JSON data, never into the argv", async () => {
    const { runner, calls } = fakeRunner({ stdout: `${M}{}` });
    const hostile = "RDP-tcp'; Remove-Item C:\\ -Recurse; '";
    await runScript(runner, "inspect.ps1", { terminalName: hostile }, 1000);
    expect(calls[0]!.args.some((a) => a.includes("Remove-Item"))).toBe(false);
    expect(JSON.parse(calls[0]!.options.input!).input).toEqual({ terminalName: hostile });
  });

  it("runs another PowerShell when given one (the tests' pwsh)", async () => {
    const { runner, calls } = fakeRunner({ stdout: `${M}{}` });
    await runScript({ runner, launcher: { file: "/opt/pwsh", args: ["-File", "x.ps1"] } }, "inspect.ps1", {}, 1000);
    expect(calls[0]!.file).toBe("/opt/pwsh");
    expect(calls[0]!.args).toEqual(["-File", "x.ps1"]);
  });

  it.each<[string, Partial<CommandResult>, unknown]>([
    ["a UTF-8 BOM and CRLF", { stdout: `\uFEFF${M}{"a":[1,2]}\r\n` }, { a: [1, 2] }],
    ["an indented document (ConvertTo-Json without -Compress)", { stdout: `${M}{\r\n    "a":  [\r\n              1\r\n          ]\r\n}\r\n` }, { a: [1] }],
    [
      "WARNING lines every 2 s (Restart-Service) before the marker, even JSON-looking ones",
      {
        stdout: `WARNING: Waiting for service 'Remote Desktop Services (TermService)' to stop...\r\nWARNING: Waiting for service 'Remote Desktop Services (TermService)' to stop...\r\n{"not":"this"}\r\n${M}{"a":1}\r\n`,
      },
      { a: 1 },
    ],
    [
      "non-ASCII escaped by the script, whatever the console code page",
      { stdout: `${M}{"m":"Zertifikat f\\u00fcr \\u0027RDP\\u0027"}\r\n` },
      { m: "Zertifikat für 'RDP'" },
    ],
    ["UTF-8 non-ASCII (the bootstrap sets the output encoding)", { stdout: `${M}{"m":"certificat expiré"}\n` }, { m: "certificat expiré" }],
    [
      "an error record on stderr from a non-terminating error, exit 0",
      { stdout: `${M}{"a":1}`, stderr: "Get-WinEvent : The RPC server is unavailable\r\nAt line:1 char:1\r\n" },
      { a: 1 },
    ],
  ])("accepts %s", async (_, reply, json) => {
    const { runner } = fakeRunner(reply);
    expect(await runScript(runner, "inspect.ps1", {}, 1000)).toEqual({ ok: true, json });
  });

  it.each<[string, Partial<CommandResult>, { failure: string; reason: string; category: string | null }]>([
    [
      "spawn ENOENT",
      { exitCode: null, spawnError: `${POWERSHELL_EXE}: ENOENT` },
      { failure: "spawn", reason: `cannot start ${POWERSHELL_EXE} (ENOENT)`, category: null },
    ],
    [
      "a timeout",
      { exitCode: null, timedOut: true, stdout: '{"schema":1' },
      { failure: "timeout", reason: "inspect.ps1 did not finish within 1000 ms", category: null },
    ],
    [
      "exit 1 with a 5.1 error record",
      { exitCode: 1, stderr: ACCESS_DENIED_RECORD },
      { failure: "exit", reason: "inspect.ps1 failed (exit 1): Get-CimInstance : Access denied", category: "PermissionDenied" },
    ],
    [
      "exit 1 with the record as CLIXML",
      {
        exitCode: 1,
        stderr:
          '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">terminalName must be 1 to 32 letters, digits, # or -_x000D__x000A_</S><S S="Error">At C:\\rdpcert\\inspect.ps1:24 char:63_x000D__x000A_</S><S S="Error">    + CategoryInfo          : OperationStopped: (terminalName mu...its, # or -:String) [], RuntimeException_x000D__x000A_</S></Objs>',
      },
      { failure: "exit", reason: "inspect.ps1 failed (exit 1): terminalName must be 1 to 32 letters, digits, # or -", category: "OperationStopped" },
    ],
    ["exit 1 and no stderr", { exitCode: 1 }, { failure: "exit", reason: "inspect.ps1 failed (exit 1)", category: null }],
    ["killed without an exit code", { exitCode: null }, { failure: "exit", reason: "inspect.ps1 failed (no exit code)", category: null }],
    ["empty output", { stdout: "\r\n" }, { failure: "empty", reason: "inspect.ps1 printed nothing", category: null }],
    ["only a BOM", { stdout: "\uFEFF" }, { failure: "empty", reason: "inspect.ps1 printed nothing", category: null }],
    [
      "empty output with an error on stderr",
      { stderr: "Out-Default : The handle is invalid.\r\nAt line:1 char:1\r\n" },
      { failure: "empty", reason: "inspect.ps1 printed nothing (stderr: Out-Default : The handle is invalid.)", category: null },
    ],
    [
      "output without the marker line",
      { stdout: 'WARNING: something\r\n{"a":1}\r\n' },
      { failure: "not-json", reason: `inspect.ps1 printed no "${JSON_MARKER}" line: WARNING: something {"a":1}`, category: null },
    ],
    ["the marker and nothing after it", { stdout: M }, { failure: "empty", reason: "inspect.ps1 printed nothing", category: null }],
    [
      "text after the marker that is not JSON",
      { stdout: `${M}WARNING: something\r\nelse\r\n` },
      { failure: "not-json", reason: "inspect.ps1 printed something that is not JSON: WARNING: something else", category: null },
    ],
    [
      "a truncated document",
      { stdout: `${M}{"schema":1,"services":[` },
      { failure: "not-json", reason: 'inspect.ps1 printed something that is not JSON: {"schema":1,"services":[', category: null },
    ],
  ])("turns %s into a typed failure with a one-line reason", async (_, reply, expected) => {
    const { runner } = fakeRunner(reply);
    const result = await runScript(runner, "inspect.ps1", {}, 1000);
    expect(result).toEqual({ ok: false, ...expected });
    if (!result.ok) expect(result.reason).not.toMatch(/[\r\n]/);
  });
});

describe("errorRecordLine and errorRecordCategory", () => {
  it("take the message and the category of a 5.1 error record, skipping its position lines", () => {
    expect(errorRecordLine(ACCESS_DENIED_RECORD)).toBe("Get-CimInstance : Access denied");
    expect(errorRecordCategory(ACCESS_DENIED_RECORD)).toBe("PermissionDenied");
  });

  it("find the message of a parse error, which 5.1 writes after its position lines", () => {
    const parseError =
      "At C:\\x\\inspect.ps1:40 char:3\r\n+   }\r\n+   ~\r\nUnexpected token '}' in expression or statement.\r\n    + CategoryInfo          : ParserError: (:) [], ParseException\r\n";
    expect(errorRecordLine(parseError)).toBe("Unexpected token '}' in expression or statement.");
    expect(errorRecordCategory(parseError)).toBe("ParserError");
  });

  it("keep plain text, and give nothing for nothing", () => {
    expect(errorRecordLine("\r\n  plain failure  \r\nsecond line")).toBe("plain failure");
    expect(errorRecordLine("")).toBe("");
    expect(errorRecordCategory("plain")).toBeNull();
  });
});

describe("asArray", () => {
  it("copes with 5.1's lone object, null, a missing property, and a real array", () => {
    expect(asArray({ name: "TermService" })).toEqual([{ name: "TermService" }]);
    expect(asArray(null)).toEqual([]);
    expect(asArray(undefined)).toEqual([]);
    expect(asArray([1, 2])).toEqual([1, 2]);
    expect(asArray("x")).toEqual(["x"]);
  });
});

describe("parsePsDate", () => {
  it.each<[string, unknown, string | null]>([
    ["5.1's form after JSON.parse", JSON.parse('"\\/Date(1700000000000)\\/"'), "2023-11-14T22:13:20.000Z"],
    ["with a zone suffix (the milliseconds stay UTC)", "/Date(1700000000000+0100)/", "2023-11-14T22:13:20.000Z"],
    ["with a negative zone suffix", "/Date(1700000000000-0500)/", "2023-11-14T22:13:20.000Z"],
    ["before 1970", "/Date(-86400000)/", "1969-12-31T00:00:00.000Z"],
    ["the raw text, escapes and all", "\\/Date(1700000000000)\\/", "2023-11-14T22:13:20.000Z"],
    [
      "5.1's object form for a date with ETS properties",
      { value: "/Date(1700000000000)/", DisplayHint: 2, DateTime: "Tuesday, November 14, 2023 11:13:20 PM" },
      "2023-11-14T22:13:20.000Z",
    ],
    ["ISO 8601 with an offset (PowerShell 7)", "2023-11-14T23:13:20.000+01:00", "2023-11-14T22:13:20.000Z"],
    ["ISO 8601 in UTC", "2023-11-14T22:13:20Z", "2023-11-14T22:13:20.000Z"],
    ["a number", 1700000000000, null],
    ["null", null, null],
    ["a date that is not a date", "/Date(abc)/", null],
    ["an out-of-range one", "/Date(99999999999999999)/", null],
    ["a loose string Date.parse would accept", "1", null],
    ["an impossible ISO date", "2023-13-45T00:00:00Z", null],
  ])("reads %s", (_, input, iso) => {
    expect(parsePsDate(input)?.toISOString() ?? null).toBe(iso);
  });
});

describe("system-paths: Windows programs by absolute path", () => {
  it.each<[string, NodeJS.ProcessEnv, string]>([
    ["schtasks.exe", { SystemRoot: "C:\\Windows" }, "C:\\Windows\\System32\\schtasks.exe"],
    ["icacls.exe", { SystemRoot: "C:\\Windows", PROCESSOR_ARCHITEW6432: "AMD64" }, "C:\\Windows\\Sysnative\\icacls.exe"],
  ])("%s", (name, env, path) => {
    expect(systemExecutable(name, env)).toBe(path);
  });
});
