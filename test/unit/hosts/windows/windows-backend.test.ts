import { X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { CommandOptions, CommandResult, CommandRunner } from "../../../../src/hosts/command-runner";
import type { HostInspection } from "../../../../src/hosts/host-backend";
import { createWindowsBackend } from "../../../../src/hosts/windows/windows-backend";
import { asArray, errorRecordLine, parsePsDate } from "../../../../src/hosts/windows/powershell";
import { caIssued, certValid } from "../../../helpers/certs";

/**
 * The Windows backend cannot run here. These tests feed it output shaped
 * exactly as Windows PowerShell 5.1 writes it (ConvertTo-Json -Compress:
 * "\/Date(ms)\/" dates, a lone object where an array was meant, missing
 * properties) and assert the exact executable, argv and stdin.
 */
const SCRIPTS = join(__dirname, "..", "..", "..", "..", "src", "hosts", "windows", "scripts");
const ARGS = (script: string) => ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", join(SCRIPTS, script)];

interface Call {
  file: string;
  args: readonly string[];
  input: unknown;
}

function runnerFrom(handler: (script: string, params: Record<string, unknown>) => Partial<CommandResult> | string): { runner: CommandRunner; calls: Call[] } {
  const calls: Call[] = [];
  const runner: CommandRunner = async (file: string, args: readonly string[], options: CommandOptions) => {
    const params = JSON.parse(options.input ?? "{}") as Record<string, unknown>;
    calls.push({ file, args, input: params });
    const script = (args.at(-1) ?? "").split(/[\\/]/).pop()!;
    const out = handler(script, params);
    return { exitCode: 0, stdout: "", stderr: "", timedOut: false, spawnError: null, ...(typeof out === "string" ? { stdout: out } : out) };
  };
  return { runner, calls };
}

const b64 = (pem: string): string => Buffer.from(new X509Certificate(pem).raw).toString("base64");
const thumb = (pem: string): string => new X509Certificate(pem).fingerprint.replace(/:/g, "");

/** inspect.ps1's answer for a host, as 5.1's ConvertTo-Json -Compress writes it. */
function inspectJson(o: { pem?: string; store?: string; hash?: string; opens?: boolean; hasKey?: boolean; services?: string; events?: string; extra?: string } = {}): string {
  const pem = o.pem ?? certValid(-10, 170, "WIN-RDP01.corp.example").certPem;
  const hash = o.hash ?? thumb(pem);
  const cert = o.store === "none" ? "null" : `{"store":"${o.store ?? "Remote Desktop"}","thumbprint":"${thumb(pem)}","rawData":"${b64(pem)}","hasPrivateKey":${o.hasKey ?? true},"privateKeyOpens":${o.opens ?? true},"privateKeyError":${o.opens === false ? '"Keyset does not exist"' : "null"}}`;
  const services = o.services ?? '[{"name":"TermService","status":"Running","startType":"Manual"},{"name":"SessionEnv","status":"Running","startType":"Manual"},{"name":"UmRdpService","status":"Running","startType":"Manual"}]';
  return `{"schema":1,"tsSetting":{"terminalName":"RDP-Tcp","sslCertificateSha1Hash":"${hash}","securityLayer":2,"userAuthenticationRequired":1},"tsSettingError":null,"portNumber":3389,"portError":null,"certificate":${cert},"certificateError":null,"services":${services},"events":${o.events ?? "[]"},"eventsError":null,"firewall":{"rules":3,"enabled":3},"firewallError":null${o.extra ?? ""}}\r\n`;
}

async function inspect(stdout: string | Partial<CommandResult>) {
  const { runner, calls } = runnerFrom(() => stdout);
  const backend = createWindowsBackend({ runner, platform: "win32" });
  return { outcome: await backend.inspect(), calls };
}

function ok(outcome: Awaited<ReturnType<typeof inspect>>["outcome"]): HostInspection {
  if (!outcome.ok) throw new Error(`expected an inspection, got: ${outcome.reason}`);
  return outcome.inspection;
}

describe("Windows backend: the PowerShell boundary", () => {
  it("runs inspect.ps1 with Windows PowerShell, exact argv, parameters as JSON on stdin", async () => {
    const { calls } = await inspect(inspectJson());
    expect(calls).toEqual([{ file: "powershell.exe", args: ARGS("inspect.ps1"), input: { terminalName: "RDP-tcp", eventDays: 30 } }]);
    expect(existsSync(calls[0]!.args.at(-1)!)).toBe(true);
  });

  it("cannot run on Linux, and says why", async () => {
    expect(await createWindowsBackend({ platform: "linux" }).capability()).toEqual({ available: false, reason: "the Windows backend needs Windows PowerShell (powershell.exe); this host runs linux" });
  });

  it("copes with a UTF-8 BOM and CRLF", async () => {
    expect(ok((await inspect(`\uFEFF${inspectJson()}`)).outcome).listener.port).toBe(3389);
  });

  it.each([
    [{ stdout: "" }, "inspect.ps1 printed nothing"],
    [{ stdout: "WARNING: something\r\n" }, "inspect.ps1 printed something that is not JSON: WARNING: something"],
    [{ exitCode: null, timedOut: true }, "inspect.ps1 did not finish within 60000 ms"],
    [{ exitCode: null, spawnError: "powershell.exe: ENOENT" }, "cannot start powershell.exe: powershell.exe: ENOENT"],
    [
      {
        exitCode: 1,
        stderr:
          "Get-CimInstance : Access denied \r\nAt C:\\Program Files\\rdpcert\\dist\\src\\hosts\\windows\\scripts\\inspect.ps1:12 char:5\r\n+     $setting = Get-CimInstance -Namespace 'root\\cimv2\\TerminalServices' ...\r\n+     ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\r\n    + CategoryInfo          : PermissionDenied: (root\\cimv2\\TerminalServices:String) [Get-CimInstance], CimException\r\n    + FullyQualifiedErrorId : HRESULT 0x80041003,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand\r\n",
      },
      "inspect.ps1 failed (exit 1): Get-CimInstance : Access denied",
    ],
  ])("turns %j into a one-line reason", async (result, reason) => {
    const { outcome } = await inspect(result);
    expect(outcome).toMatchObject({ ok: false, reason });
  });

  it("an access-denied failure says to elevate", async () => {
    const { outcome } = await inspect({ exitCode: 1, stderr: "Get-CimInstance : Access denied \r\nAt line:1 char:1\r\n" });
    expect(outcome).toMatchObject({ ok: false, fix: "run from an elevated prompt (Run as Administrator)" });
  });

  it("reads 5.1 dates, lone objects where arrays were meant, and error records", () => {
    expect(parsePsDate("/Date(1700000000000)/")?.toISOString()).toBe("2023-11-14T22:13:20.000Z");
    expect(parsePsDate("/Date(1700000000000+0100)/")?.toISOString()).toBe("2023-11-14T22:13:20.000Z");
    expect(parsePsDate("2023-11-14T22:13:20Z")?.getTime()).toBe(1700000000000);
    expect(parsePsDate(42)).toBeNull();
    expect(asArray({ a: 1 })).toEqual([{ a: 1 }]);
    expect(asArray(undefined)).toEqual([]);
    expect(errorRecordLine("\r\nRemove-Item : Cannot find path\r\nAt line:3 char:1\r\n")).toBe("Remove-Item : Cannot find path");
  });
});

describe("Windows backend: the inspection", () => {
  it("a healthy self-signed certificate in Remote Desktop", async () => {
    const pem = certValid(-10, 170, "WIN-RDP01").certPem;
    const inspection = ok((await inspect(inspectJson({ pem }))).outcome);
    expect(inspection).toMatchObject({
      backend: "windows",
      listener: { address: null, port: 3389, securityLayer: "tls", nla: true },
      certificate: { state: "present", location: `Cert:\\LocalMachine\\Remote Desktop\\${thumb(pem)}` },
      key: { state: "ok" },
      issuance: "self-signed",
      configuredThumbprint: thumb(pem),
      findings: [],
    });
    if (inspection.certificate.state === "present") expect(inspection.certificate.der.toString("base64")).toBe(b64(pem));
  });

  it("a CA-issued certificate in My", async () => {
    const pem = caIssued(-30, 300).certPem;
    const inspection = ok((await inspect(inspectJson({ pem, store: "My" }))).outcome);
    expect(inspection.issuance).toBe("ca-issued");
    expect(inspection.certificate.location).toBe(`Cert:\\LocalMachine\\My\\${thumb(pem)}`);
  });

  it("a configured thumbprint that names no installed certificate (the silent fallback)", async () => {
    const hash = "ab".repeat(20);
    const inspection = ok((await inspect(inspectJson({ store: "none", hash }))).outcome);
    expect(inspection.configuredThumbprint).toBe(hash.toUpperCase());
    expect(inspection.certificate).toMatchObject({ state: "missing", reason: expect.stringContaining("in neither Remote Desktop nor My: Windows silently falls back") });
  });

  it("a private key that does not open (MachineKeys ACL), and one that is missing", async () => {
    const unreadable = ok((await inspect(inspectJson({ opens: false }))).outcome);
    expect(unreadable.key).toMatchObject({ state: "unreadable", reason: expect.stringContaining("Keyset does not exist"), fix: expect.stringContaining("S-1-5-20") });
    const missing = ok((await inspect(inspectJson({ hasKey: false, opens: false }))).outcome);
    expect(missing.key.state).toBe("missing");
  });

  it("TermService stopped, given as a lone object, is a critical finding", async () => {
    const inspection = ok((await inspect(inspectJson({ services: '{"name":"TermService","status":"Stopped","startType":"Manual"}' }))).outcome);
    expect(inspection.findings).toEqual([{ severity: "critical", code: "service-termservice-stopped", message: "TermService is Stopped: the listener is down", fix: "Start-Service TermService" }]);
  });

  it("events 1058 and 36870 with their count, newest time (\\/Date\\/) and message", async () => {
    const events = '[{"id":1058,"count":3,"newest":"\\/Date(1700000000000)\\/","message":"The RD Session Host Server has failed to replace the expired self signed certificate.\\r\\nThe relevant status code was Object already exists."},{"id":36870,"count":12,"newest":"\\/Date(1700000500000)\\/","message":"A fatal error occurred when attempting to access the TLS server credential private key. The error code returned from the cryptographic module is 0x8009030D."}]';
    const inspection = ok((await inspect(inspectJson({ events }))).outcome);
    expect(inspection.findings.map((f) => [f.code, f.severity])).toEqual([
      ["event-1058", "critical"],
      ["event-36870", "critical"],
    ]);
    expect(inspection.findings[0]!.message).toBe(
      'event 1058 x3, newest 2023-11-14T22:13:20.000Z: Windows failed to replace the expired self-signed certificate ("The RD Session Host Server has failed to replace the expired self signed certificate.")',
    );
  });

  it("a single event given as a lone object, a missing PortNumber, disabled firewall rules", async () => {
    const json = inspectJson({ events: '{"id":1056,"count":1,"newest":"\\/Date(1700000000000)\\/","message":"A new self signed certificate was created."}' })
      .replace('"portNumber":3389,', "")
      .replace('"firewall":{"rules":3,"enabled":3}', '"firewall":{"rules":3,"enabled":0}');
    const inspection = ok((await inspect(json)).outcome);
    expect(inspection.listener.port).toBe(3389);
    expect(inspection.findings.map((f) => f.code)).toEqual(["event-1056", "firewall-rules-disabled"]);
  });

  it("no RDP-tcp setting (WMI denied) is UNKNOWN with the reason", async () => {
    const json = '{"schema":1,"tsSetting":null,"tsSettingError":"Access denied ","services":{"name":"TermService","status":"Running","startType":"Manual"},"events":[]}';
    expect((await inspect(json)).outcome).toEqual({ ok: false, reason: "cannot read Win32_TSGeneralSetting: Access denied ", fix: "run from an elevated prompt (Run as Administrator)" });
  });
});
