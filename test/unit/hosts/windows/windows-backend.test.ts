import { join } from "node:path";
import type { CommandOptions, CommandResult, CommandRunner } from "../../../../src/hosts/command-runner";
import { JSON_MARKER, encodedBootstrap } from "../../../../src/hosts/windows/powershell";
import { createWindowsBackend } from "../../../../src/hosts/windows/windows-backend";
import { certValid } from "../../../helpers/certs";
import { base64OfPem, inspectDoc, ps51Json, thumbprintOfPem } from "./inspect-output";

/**
 * The backend as status and doctor use it: capability, then inspect through
 * an injected runner that answers as Windows PowerShell 5.1 would.
 */
const INSPECT = join(__dirname, "..", "..", "..", "..", "src", "hosts", "windows", "scripts", "inspect.ps1");
const NOW = new Date("2023-11-20T12:00:00Z");

function backendAnswering(reply: Partial<CommandResult>) {
  const calls: { file: string; args: readonly string[]; options: CommandOptions }[] = [];
  const runner: CommandRunner = async (file, args, options) => {
    calls.push({ file, args, options });
    const result = { exitCode: 0, stdout: "", stderr: "", timedOut: false, spawnError: null, ...reply };
    // bootstrap.ps1 prints the marker line before the script's document.
    return result.stdout ? { ...result, stdout: `\r\n${JSON_MARKER}\r\n${result.stdout}` } : result;
  };
  return { backend: createWindowsBackend({ runner, platform: "win32", timeoutMs: 45_000, now: () => NOW }), calls };
}

describe("Windows backend: capability", () => {
  it.each<[NodeJS.Platform, string]>([
    ["linux", "the Windows backend needs Windows PowerShell (powershell.exe); this host runs linux"],
    ["darwin", "the Windows backend needs Windows PowerShell (powershell.exe); this host runs darwin"],
  ])("is unavailable on %s, and says why", async (platform, reason) => {
    expect(await createWindowsBackend({ platform }).capability()).toEqual({ available: false, reason });
  });

  it("is available on win32 without running anything", async () => {
    const { backend, calls } = backendAnswering({});
    expect(backend.kind).toBe("windows");
    expect(await backend.capability()).toEqual({ available: true });
    expect(calls).toEqual([]);
  });
});

describe("Windows backend: inspect", () => {
  const pem = certValid(-10, 170, "WIN-RDP01").certPem;

  it("runs inspect.ps1 once: powershell.exe, exact argv, the parameters as JSON on stdin, the configured timeout", async () => {
    const { backend, calls } = backendAnswering({ stdout: ps51Json(inspectDoc({ pem })) });
    expect((await backend.inspect()).ok).toBe(true);
    expect(calls).toEqual([
      {
        file: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        args: ["-NoProfile", "-NonInteractive", "-NoLogo", "-ExecutionPolicy", "Bypass", "-EncodedCommand", encodedBootstrap()],
        options: { input: JSON.stringify({ script: INSPECT, input: { terminalName: "RDP-tcp", eventDays: 30 } }), timeoutMs: 45_000 },
      },
    ]);
  });

  it("maps a whole 5.1 answer, BOM, CRLF, \\/Date\\/ and lone objects included", async () => {
    const thumbprint = thumbprintOfPem(pem);
    const stdout =
      `\uFEFF{"schema":2,"terminalName":"RDP-tcp","eventDays":30,"tsSetting":{"terminalName":"RDP-Tcp","sslCertificateSha1Hash":"${thumbprint}","securityLayer":1,"userAuthenticationRequired":0},` +
      `"tsSettingError":null,"tsSettingErrorCategory":null,"portNumber":3390,"certificate":{"store":"Remote Desktop","thumbprint":"${thumbprint}","rawData":"${base64OfPem(pem)}",` +
      `"hasPrivateKey":true,"privateKeyOpens":true,"privateKeyError":null,"keyProvider":"CAPI","keyPath":null},` +
      `"services":{"name":"TermService","status":"Running","startType":"Manual"},` +
      `"events":{"id":1056,"provider":"Microsoft-Windows-TerminalServices-RemoteConnectionManager","count":1,"newest":"\\/Date(1700000000000)\\/","message":"A new self signed certificate to be used for RD Session Host Server authentication on SSL connections has been generated."},` +
      `"firewall":{"rules":3,"enabled":3},"errors":[]}\r\n`;
    const outcome = await backendAnswering({ stdout }).backend.inspect();
    expect(outcome).toMatchObject({
      ok: true,
      inspection: {
        listener: { address: null, port: 3390, securityLayer: "negotiate", nla: false },
        certificate: { state: "present", location: `Cert:\\LocalMachine\\Remote Desktop\\${thumbprint}` },
        key: { state: "ok" },
        issuance: "self-signed",
        configuredThumbprint: thumbprint,
        findings: [{ severity: "info", code: "event-1056", message: expect.stringContaining("newest 2023-11-14T22:13:20Z, 5 days ago"), fix: null }],
      },
    });
  });

  it.each<[string, Partial<CommandResult>, { reason: string; fix: string | null }]>([
    [
      "WMI access denied (exit 1, error record)",
      {
        exitCode: 1,
        stderr:
          "Get-CimInstance : Access denied \r\nAt C:\\rdpcert\\inspect.ps1:12 char:5\r\n+ ...\r\n    + CategoryInfo          : PermissionDenied: (root\\cimv2\\TerminalServices:String) [Get-CimInstance], CimException\r\n    + FullyQualifiedErrorId : HRESULT 0x80041003,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand\r\n",
      },
      { reason: "inspect.ps1 failed (exit 1): Get-CimInstance : Access denied", fix: "run from an elevated prompt (Administrator)" },
    ],
    [
      "a localized denial, known by its category",
      {
        exitCode: 1,
        stderr: "Get-CimInstance : Zugriff verweigert \r\n    + CategoryInfo          : PermissionDenied: (:) [Get-CimInstance], CimException\r\n",
      },
      { reason: "inspect.ps1 failed (exit 1): Get-CimInstance : Zugriff verweigert", fix: "run from an elevated prompt (Administrator)" },
    ],
    [
      "a missing powershell.exe",
      { exitCode: null, spawnError: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe: ENOENT" },
      { reason: "cannot start C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe (ENOENT)", fix: expect.stringContaining("by absolute path") },
    ],
    ["a timeout", { exitCode: null, timedOut: true }, { reason: "inspect.ps1 did not finish within 45000 ms", fix: expect.stringContaining("WMI") }],
    ["empty output", { stdout: "" }, { reason: "inspect.ps1 printed nothing", fix: null }],
    [
      "output that is not JSON",
      { stdout: "Windows PowerShell\r\nCopyright (C) Microsoft Corporation.\r\n" },
      { reason: "inspect.ps1 printed something that is not JSON: Windows PowerShell Copyright (C) Microsoft Corporation.", fix: null },
    ],
    [
      "a failure that is not a denial",
      { exitCode: 1, stderr: "eventDays must be between 1 and 366\r\nAt C:\\rdpcert\\inspect.ps1:27 char:50\r\n" },
      { reason: "inspect.ps1 failed (exit 1): eventDays must be between 1 and 366", fix: null },
    ],
  ])("%s: no inspection, a one-line reason and the fitting fix", async (_, reply, expected) => {
    expect(await backendAnswering(reply).backend.inspect()).toEqual({ ok: false, ...expected });
  });

  it("WMI denied inside the document (the script caught it): no inspection, elevate", async () => {
    const stdout =
      '{"schema":2,"tsSetting":null,"tsSettingError":"Access denied ","tsSettingErrorCategory":"PermissionDenied","services":[],"events":[],"errors":[]}\r\n';
    expect(await backendAnswering({ stdout }).backend.inspect()).toEqual({
      ok: false,
      reason: "cannot read WMI Win32_TSGeneralSetting (RDP-tcp): Access denied",
      fix: "run from an elevated prompt (Administrator)",
    });
  });
});
