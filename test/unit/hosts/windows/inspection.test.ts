import { assess } from "../../../../src/core/assess";
import { DEFAULT_POLICY } from "../../../../src/core/policy";
import type { HostInspection, InspectOutcome } from "../../../../src/hosts/host-backend";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { INSPECT_SCHEMA, inspectionFromScript } from "../../../../src/hosts/windows/inspection";
import { caIssued, certValid } from "../../../helpers/certs";
import { base64OfPem, inspectDoc, ps51Json, thumbprintOfPem } from "./inspect-output";

/**
 * The mapping from inspect.ps1's document to the host contract, fed the text
 * 5.1 prints (through JSON.parse, as runScript does) and a fixed clock.
 */
const NOW = new Date("2023-11-20T12:00:00Z");
const selfSigned = certValid(-10, 170, "WIN-RDP01.corp.example").certPem;

function map(doc: unknown): InspectOutcome {
  return inspectionFromScript(JSON.parse(typeof doc === "string" ? doc : ps51Json(doc)), NOW);
}

function ok(outcome: InspectOutcome): HostInspection {
  if (!outcome.ok) throw new Error(`expected an inspection, got: ${outcome.reason}`);
  return outcome.inspection;
}

describe("inspectionFromScript", () => {
  it("a healthy self-signed certificate in Remote Desktop", () => {
    const inspection = ok(map(inspectDoc({ pem: selfSigned })));
    const thumbprint = thumbprintOfPem(selfSigned);
    expect(inspection).toMatchObject({
      backend: "windows",
      source: "WMI Win32_TSGeneralSetting (RDP-tcp)",
      listener: { address: null, port: 3389, securityLayer: "tls", nla: true },
      certificate: { state: "present", location: `Cert:\\LocalMachine\\Remote Desktop\\${thumbprint}` },
      key: { state: "ok", reason: null },
      issuance: "self-signed",
      configuredThumbprint: thumbprint,
      findings: [],
    });
    if (inspection.certificate.state !== "present") throw new Error("certificate not present");
    expect(inspection.certificate.der.toString("base64")).toBe(base64OfPem(selfSigned));
  });

  it("a CA-issued certificate in My, its key located in MachineKeys", () => {
    const pem = caIssued(-30, 300).certPem;
    const keyPath = "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys\\6de9cb26d2b98c01ec4e9e8b34824aa2_8b8f1c1e-0e9b";
    const inspection = ok(map(inspectDoc({ pem, store: "My", keyPath, securityLayer: 1 })));
    expect(inspection.issuance).toBe("ca-issued");
    expect(inspection.certificate.location).toBe(`Cert:\\LocalMachine\\My\\${thumbprintOfPem(pem)}`);
    expect(inspection.key).toEqual({ state: "ok", location: keyPath, reason: null });
    expect(inspection.listener.securityLayer).toBe("negotiate");
  });

  it("a configured thumbprint, in lower case, that names no installed certificate: the silent fallback", () => {
    const hash = "ab12".repeat(10);
    const inspection = ok(map(inspectDoc({ pem: null, hash })));
    expect(inspection.configuredThumbprint).toBe(hash.toUpperCase());
    expect(inspection.certificate).toEqual({
      state: "missing",
      location: `Cert:\\LocalMachine\\My\\${hash.toUpperCase()}`,
      reason: `SSLCertificateSHA1Hash names ${hash.toUpperCase()}, which is in neither Remote Desktop nor My: Windows silently falls back to a self-signed certificate`,
      fix: expect.stringContaining("rdpcert rotate"),
    });
    expect(inspection.key.state).toBe("unknown");
    expect(inspection.issuance).toBe("unknown");
  });

  it("Windows' own key that NETWORK SERVICE cannot read: unreadable, and the fix is what rdpcert can do (rotate: a new key comes with a correct ACL), then the ACL", () => {
    const inspection = ok(map(inspectDoc({ pem: selfSigned, privateKeyOpens: false, privateKeyError: "Keyset does not exist\r\n" })));
    const location = `Cert:\\LocalMachine\\Remote Desktop\\${thumbprintOfPem(selfSigned)}`;
    expect(inspection.key).toMatchObject({
      state: "unreadable",
      location,
      reason: expect.stringMatching(/NETWORK SERVICE \(S-1-5-20\).*cannot read/),
      replaceable: true,
    });
    expect(inspection.key.fix).toMatch(/^rdpcert rotate/);
    expect(inspection.key.fix).toContain("S-1-5-20");
    const assessment = assess({ ok: true, inspection }, null, DEFAULT_POLICY, new Date());
    expect(assessment.problems.find((p) => p.code === "key-unreadable")?.fixedByReplacement).toBe(true);
  });

  it("a CA-issued key that does not open, with its file known: the fix is the icacls command for that file", () => {
    const pem = caIssued(-30, 300).certPem;
    const keyPath = "C:\\ProgramData\\Microsoft\\Crypto\\Keys\\d8c0f1";
    const inspection = ok(map(inspectDoc({ pem, store: "My", privateKeyOpens: false, privateKeyError: "Access is denied.", keyPath })));
    expect(inspection.key.state).toBe("unreadable");
    expect(inspection.key.fix).toContain(`icacls "${keyPath}" /grant *S-1-5-20:R`);
    expect(inspection.key.fix).not.toContain("rdpcert rotate");
  });

  it("a certificate without a private key is missing its key; one whose key was not checked is unknown, not ok", () => {
    expect(ok(map(inspectDoc({ pem: selfSigned, hasPrivateKey: false, privateKeyOpens: null }))).key).toMatchObject({
      state: "missing",
      fix: expect.stringContaining("rdpcert rotate"),
    });
    expect(ok(map(inspectDoc({ pem: selfSigned, privateKeyOpens: null, privateKeyError: "the private key is neither RSA nor ECDSA" }))).key).toMatchObject({
      state: "unknown",
      reason: "the private key is neither RSA nor ECDSA",
    });
  });

  it("raw data that is not a certificate is present (core/assess calls it corrupt) with issuance unknown", () => {
    const doc = inspectDoc({ pem: selfSigned });
    (doc.certificate as Record<string, unknown>).rawData = Buffer.from("not DER").toString("base64");
    const inspection = ok(map(doc));
    expect(inspection.certificate.state).toBe("present");
    expect(inspection.issuance).toBe("unknown");
  });

  it("TermService stopped, given as a lone object: critical, listener down, Start-Service TermService", () => {
    const inspection = ok(map(inspectDoc({ pem: selfSigned, services: { name: "TermService", status: "Stopped", startType: "Manual" } })));
    expect(inspection.findings).toEqual([
      { severity: "critical", code: "service-termservice-stopped", message: "TermService is Stopped: the listener is down", fix: "Start-Service TermService" },
    ]);
  });

  it("a disabled SessionEnv is a warning whose fix re-enables it; a missing service has no fix", () => {
    const services = [
      { name: "TermService", status: "Running", startType: "Manual" },
      { name: "SessionEnv", status: "Stopped", startType: "Disabled" },
      { name: "UmRdpService", status: "Missing", startType: null },
    ];
    expect(ok(map(inspectDoc({ pem: selfSigned, services }))).findings).toEqual([
      {
        severity: "warn",
        code: "service-sessionenv-stopped",
        message: "SessionEnv is Stopped (Disabled)",
        fix: "Set-Service SessionEnv -StartupType Manual; Start-Service SessionEnv",
      },
      { severity: "warn", code: "service-umrdpservice-missing", message: "UmRdpService is Missing", fix: null },
    ]);
  });

  it("events 1058 and 36870 (its data names the RDP key) with count, newest time (from \\/Date\\/) and first message line, each with a fix", () => {
    const events = [
      {
        id: 1058,
        provider: "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
        count: 3,
        newest: new Date(1700000000000),
        message: "The RD Session Host Server has failed to replace the expired self signed certificate.\r\nThe relevant status code was Object already exists.",
      },
      {
        id: 36870,
        provider: "Schannel",
        count: 12,
        newest: new Date(1700000500000),
        message:
          "A fatal error occurred when attempting to access the TLS server credential private key. The error code returned from the cryptographic module is 0x8009030D.",
        data: ["0x8009030D", "f3a1_machineguid"],
      },
    ];
    const text = ps51Json(inspectDoc({ pem: selfSigned, events, keyPath: "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys\\f3a1_machineguid" }));
    expect(text).toContain('"newest":"\\/Date(1700000000000)\\/"');
    const findings = ok(map(text)).findings;
    expect(findings).toEqual([
      {
        severity: "critical",
        code: "event-1058",
        message:
          'event 1058 (3 times, newest 2023-11-14T22:13:20Z, 5 days ago): Windows failed to replace the expired self-signed certificate - "The RD Session Host Server has failed to replace the expired self signed certificate."',
        fix: expect.stringContaining("rdpcert rotate"),
      },
      {
        severity: "warn",
        code: "event-36870",
        message: expect.stringMatching(/^event 36870 \(12 times, newest 2023-11-14T22:21:40Z, 5 days ago\): Schannel cannot access/),
        fix: expect.stringMatching(/MachineKeys.*S-1-5-20/),
      },
    ]);
  });

  it("Schannel 36870 names no key (windows-evidence/02): this listener's own (0x8009030D, state 10001, data Type/ErrorCode/ErrorStatus) is not downgraded; one whose SSPI client process is another program is a note", () => {
    // windows-evidence/02 2.9 (Microsoft's sample text) and 2.4 (a real capture, Windows Admin Center).
    const own = {
      id: 36870,
      provider: "Schannel",
      count: 3,
      newest: new Date(1700000500000),
      message:
        "A fatal error occurred when attempting to access the TLS server credential private key. The error code returned from the cryptographic module is 0x8009030D.  \r\nThe internal error state is 10001.",
      data: ["server", "0x8009030d", "10001"],
    };
    const wac = {
      id: 36870,
      provider: "Schannel",
      count: 1,
      newest: new Date(1700000500000),
      message:
        "A fatal error occurred when attempting to access the TLS server credential private key. The error code returned from the cryptographic module is 0x8009030D. The internal error state is 10001.\r\nThe SSPI client process is WindowsAdminCenter (PID: 3380).",
      data: [],
    };
    const [ownFinding] = ok(map(ps51Json(inspectDoc({ pem: selfSigned, events: [own] })))).findings;
    expect(ownFinding).toMatchObject({ severity: "warn", code: "event-36870", fix: expect.stringMatching(/rdpcert rotate/) });
    expect(ownFinding!.message).not.toMatch(/another TLS server/);
    const [wacFinding] = ok(map(ps51Json(inspectDoc({ pem: selfSigned, events: [wac] })))).findings;
    expect(wacFinding).toEqual({
      severity: "info",
      code: "event-36870",
      message: expect.stringMatching(/for another TLS server \(the SSPI client process is WindowsAdminCenter\)/),
      fix: null,
    });
  });

  it("template events 1064/1065 are critical with the AD CS fix, 1063 a note", () => {
    const events = [
      { id: 1063, count: 1, newest: new Date(1700000000000), message: "installed" },
      { id: 1065, count: 1, newest: new Date(1700000000000), message: "expired" },
    ];
    const findings = ok(map(inspectDoc({ pem: selfSigned, events }))).findings;
    expect(findings.map((f) => [f.code, f.severity])).toEqual([
      ["event-1063", "info"],
      ["event-1065", "critical"],
    ]);
    expect(findings[1]!.fix).toMatch(/certutil -pulse/);
  });

  it("events 1057 and 1051 are a failure and a fallback; an unknown id still shows", () => {
    const events = [
      { id: 1057, count: 1, newest: new Date(1700000000000), message: "The RD Session Host Server has failed to create a new self signed certificate." },
      { id: 1051, count: 2, newest: new Date(1700000000000), message: "" },
      { id: 1099, count: 1, newest: null, message: "something new" },
    ];
    const findings = ok(map(inspectDoc({ pem: selfSigned, events }))).findings;
    expect(findings.map((f) => [f.code, f.severity])).toEqual([
      ["event-1057", "critical"],
      ["event-1051", "warn"],
      ["event-1099", "warn"],
    ]);
    expect(findings[0]!.message).toContain("(once, newest 2023-11-14T22:13:20Z, 5 days ago)");
    expect(findings[1]!.fix).toContain("rdpcert rotate");
    expect(findings[2]!.message).toBe('event 1099 (once): a Remote Desktop certificate event - "something new"');
  });

  it("a single 1056 event given as a lone object is an info finding with its date", () => {
    const text = ps51Json(inspectDoc({ pem: selfSigned })).replace(
      '"events":[]',
      '"events":{"id":1056,"provider":"Microsoft-Windows-TerminalServices-RemoteConnectionManager","count":1,"newest":"\\/Date(1700438400000)\\/","message":"A new self signed certificate to be used for RD Session Host Server authentication on SSL connections has been generated."}',
    );
    expect(ok(map(text)).findings).toEqual([
      {
        severity: "info",
        code: "event-1056",
        message:
          'event 1056 (once, newest 2023-11-20T00:00:00Z, today): Windows created a new self-signed Remote Desktop certificate - "A new self signed certificate to be used for RD Session Host Server authentication on SSL connections has been generated."',
        fix: null,
      },
    ]);
  });

  it("a 1058 followed by a newer 1056 is resolved: info, no fix; an older 1056 resolves nothing", () => {
    const failed = { id: 1058, count: 2, newest: new Date("2023-11-10T00:00:00Z"), message: "failed" };
    const later = ok(
      map(inspectDoc({ pem: selfSigned, events: [failed, { id: 1056, count: 1, newest: new Date("2023-11-12T00:00:00Z"), message: "created" }] })),
    ).findings[0]!;
    expect(later).toMatchObject({
      code: "event-1058",
      severity: "info",
      fix: null,
      message: expect.stringContaining("since resolved: Windows created a new certificate on 2023-11-12T00:00:00Z"),
    });
    const earlier = ok(
      map(inspectDoc({ pem: selfSigned, events: [failed, { id: 1056, count: 1, newest: new Date("2023-11-01T00:00:00Z"), message: "created" }] })),
    ).findings[0]!;
    expect(earlier).toMatchObject({ code: "event-1058", severity: "critical" });
  });

  it("per-part errors do not lose the rest: an unreadable event log and a missing PortNumber are findings, the port defaults to 3389", () => {
    const doc = inspectDoc({
      pem: selfSigned,
      portNumber: null,
      errors: [
        { part: "portNumber", message: "Property PortNumber does not exist at path HKEY_LOCAL_MACHINE\\SYSTEM\\...\\RDP-tcp.", category: "InvalidArgument" },
        { part: "events:Schannel", message: "Attempted to perform an unauthorized operation.", category: "NotSpecified" },
      ],
    });
    delete doc.portNumber;
    const inspection = ok(map(doc));
    expect(inspection.listener.port).toBe(3389);
    expect(inspection.key.state).toBe("ok");
    expect(inspection.findings.map((f) => [f.code, f.severity])).toEqual([
      ["port-unreadable", "warn"],
      ["events-unreadable", "info"],
    ]);
    expect(inspection.findings[1]!.message).toBe("cannot read the System event log (Schannel): Attempted to perform an unauthorized operation.");
  });

  it("a lone error object (5.1's one-element array) is still read", () => {
    const doc = inspectDoc({
      pem: selfSigned,
      errors: {
        part: "service:TermService",
        message: "Cannot open Service Control Manager on computer '.'. This operation might require other privileges.",
        category: "PermissionDenied",
      },
    });
    expect(ok(map(doc)).findings).toEqual([
      {
        severity: "warn",
        code: "service-termservice-unreadable",
        message: "cannot read service:TermService: Cannot open Service Control Manager on computer '.'. This operation might require other privileges.",
        fix: "run from an elevated prompt (Administrator)",
      },
    ]);
  });

  it("a certificate store that cannot be read makes the certificate unreadable, not missing", () => {
    const doc = inspectDoc({ pem: null, errors: [{ part: "certificate", message: "Access is denied.", category: "PermissionDenied" }] });
    expect(ok(map(doc)).certificate).toMatchObject({
      state: "unreadable",
      reason: "cannot read the certificate store: Access is denied.",
      fix: "run from an elevated prompt (Administrator)",
    });
  });

  it("a missing SecurityLayer is unknown, not RDP; SecurityLayer 0 is a critical finding", () => {
    expect(ok(map(inspectDoc({ pem: selfSigned, securityLayer: null }))).listener.securityLayer).toBe("unknown");
    const rdp = ok(map(inspectDoc({ pem: selfSigned, securityLayer: 0 })));
    expect(rdp.listener.securityLayer).toBe("rdp");
    expect(rdp.findings.map((f) => f.code)).toEqual(["security-layer-rdp"]);
  });

  it("a non-standard port is read from PortNumber; a nonsense one falls back to 3389 with a finding", () => {
    expect(ok(map(inspectDoc({ pem: selfSigned, portNumber: 3390 }))).listener.port).toBe(3390);
    const nonsense = ok(map(inspectDoc({ pem: selfSigned, portNumber: 70000 })));
    expect(nonsense.listener.port).toBe(3389);
    expect(nonsense.findings.map((f) => f.code)).toEqual(["port-unreadable"]);
  });

  it("disabled Remote Desktop firewall rules are critical, fixed by the locale-independent group id", () => {
    const doc = inspectDoc({ pem: selfSigned });
    doc.firewall = { rules: 3, enabled: 0 };
    expect(ok(map(doc)).findings).toEqual([
      {
        severity: "critical",
        code: "firewall-rules-disabled",
        message: "all 3 inbound Remote Desktop firewall rules are disabled",
        fix: 'Enable-NetFirewallRule -Group "@FirewallAPI.dll,-28752"',
      },
    ]);
  });

  it("WMI access denied: no inspection, and the fix is to elevate", () => {
    const text =
      '{"schema":2,"terminalName":"RDP-tcp","eventDays":30,"tsSetting":null,"tsSettingError":"Access denied ","tsSettingErrorCategory":"PermissionDenied","certificate":null,"services":{"name":"TermService","status":"Running","startType":"Manual"},"events":[],"errors":[]}\r\n';
    expect(map(text)).toEqual({
      ok: false,
      reason: "cannot read WMI Win32_TSGeneralSetting (RDP-tcp): Access denied",
      fix: "run from an elevated prompt (Administrator)",
    });
  });

  it("WMI denied in another language is recognised by its category", () => {
    const text = '{"schema":2,"tsSetting":null,"tsSettingError":"Zugriff verweigert ","tsSettingErrorCategory":"PermissionDenied"}';
    expect(map(text)).toMatchObject({ ok: false, fix: "run from an elevated prompt (Administrator)" });
  });

  it("another WMI failure, or no RDP-tcp listener at all, is no inspection with its own fix", () => {
    expect(map('{"schema":2,"tsSetting":null,"tsSettingError":"Invalid namespace ","tsSettingErrorCategory":"MetadataError"}')).toMatchObject({
      ok: false,
      reason: "cannot read WMI Win32_TSGeneralSetting (RDP-tcp): Invalid namespace",
      fix: expect.stringContaining("Get-CimInstance"),
    });
    expect(map('{"schema":2,"tsSetting":null}')).toMatchObject({
      ok: false,
      reason: "WMI Win32_TSGeneralSetting has no RDP-tcp listener (is Remote Desktop enabled?)",
    });
  });

  it("a document of another schema (1, a later one, none, or not a number) is refused in one line naming both schemas, never read", () => {
    const current = inspectDoc({ pem: selfSigned });
    expect(ok(map(current)).backend).toBe("windows");
    for (const [schema, said] of [
      [1, "schema 1"],
      [3, "schema 3"],
      [undefined, "no schema number"],
      ["2", "no schema number"],
      [null, "no schema number"],
    ] as const) {
      const outcome = map({ ...current, schema });
      expect(outcome).toEqual({
        ok: false,
        reason: `inspect.ps1 answered with ${said}; this rdpcert reads schema 2, so its scripts come from another version`,
        fix: "reinstall rdpcert: the scripts ship with it (dist/src/hosts/windows/scripts)",
      });
      if (!outcome.ok) expect(outcome.reason).not.toContain("\n");
    }
  });

  it("the schema the parser reads is the one inspect.ps1 writes, and the one the test documents carry", () => {
    const script = readFileSync(join(__dirname, "../../../../src/hosts/windows/scripts/inspect.ps1"), "utf8");
    expect([...script.matchAll(/^\s*schema = (\d+)\s*$/gm)].map((m) => Number(m[1]))).toEqual([INSPECT_SCHEMA]);
    expect(script).toContain(`# Contract (schema ${INSPECT_SCHEMA})`);
    expect(inspectDoc({ pem: null }).schema).toBe(INSPECT_SCHEMA);
  });

  it("a document that is not an object is no inspection", () => {
    expect(map("[1,2]")).toMatchObject({ ok: false, reason: "inspect.ps1 answered with something other than a JSON object" });
    expect(map("null")).toMatchObject({ ok: false });
  });

  it("a thumbprint that is not 40 hex digits is not passed on as one", () => {
    const inspection = ok(map(inspectDoc({ pem: null, hash: "not-a-thumbprint" })));
    expect(inspection.configuredThumbprint).toBeNull();
    expect(inspection.certificate).toMatchObject({ state: "unreadable", reason: 'SSLCertificateSHA1Hash is "not-a-thumbprint", not a 40-digit thumbprint' });
  });
});

describe("inspectionFromScript: schema 2 (binding, key folders, NETWORK SERVICE, listeners, firewall)", () => {
  const selfSigned = certValid(-10, 170, "WIN-RDP01").certPem;
  const base = (): Record<string, unknown> => inspectDoc({ pem: selfSigned });

  it("a Group Policy template binding (type 2) is said to be managed by AD CS, and left alone", () => {
    const doc = base();
    (doc.tsSetting as Record<string, unknown>).sslCertificateSha1HashType = 2;
    const finding = ok(map(doc)).findings.find((f) => f.code === "binding-group-policy");
    expect(finding).toMatchObject({ severity: "info", message: expect.stringMatching(/leave it alone/), fix: expect.stringMatching(/certutil -pulse/) });
  });

  it("key folders: the default ACL (no SYSTEM entry, KB 278381) is no finding; one where SYSTEM's token cannot create files is critical, and the fix restores the default, never Administrators Full Control on every key", () => {
    const clean = { ...base(), keyFolders: [{ path: "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys", windowsCanCreate: true }] };
    expect(ok(map(clean)).findings.filter((f) => f.code === "key-folder-acl")).toEqual([]);
    const doc = {
      ...base(),
      keyFolders: [
        { path: "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys", windowsCanCreate: false },
        { path: "C:\\ProgramData\\Microsoft\\Crypto\\Keys", windowsCanCreate: true },
      ],
    };
    const findings = ok(map(doc)).findings.filter((f) => f.code === "key-folder-acl");
    expect(findings).toEqual([
      {
        severity: "critical",
        code: "key-folder-acl",
        message: expect.stringMatching(/MachineKeys lets neither SYSTEM, Administrators nor Everyone create files/),
        fix: expect.stringMatching(/icacls ".*MachineKeys" \/grant \*S-1-1-0:\(R,W\) \*S-1-5-32-544:F /),
      },
    ]);
    expect(findings[0]!.fix).not.toMatch(/\(OI\)|\(CI\)/);
  });

  it("a key file NETWORK SERVICE cannot read is unreadable, named by its path; a key that could not be checked is unknown, never unreadable", () => {
    const keyPath = "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys\\f3a1_machineguid";
    const doc = base();
    Object.assign(doc.certificate as Record<string, unknown>, { privateKeyOpens: false, keyPath });
    expect(ok(map(doc)).key).toMatchObject({
      state: "unreadable",
      location: keyPath,
      reason: expect.stringMatching(/NETWORK SERVICE \(S-1-5-20\).*cannot read the key file/),
    });
    Object.assign(doc.certificate as Record<string, unknown>, {
      privateKeyOpens: null,
      keyPath: null,
      privateKeyError: "RSACertificateExtensions (.NET 4.6) is not available: the key could not be checked",
    });
    expect(ok(map(doc)).key).toMatchObject({ state: "unknown", reason: expect.stringMatching(/could not be checked/) });
  });

  it("lists other listeners, and an admin's own rule for the port makes disabled group rules a note", () => {
    const doc = {
      ...base(),
      listeners: [
        { name: "RDP-Tcp", port: 3389 },
        { name: "RDP-Tcp-Admin", port: 3390 },
      ],
      firewall: { rules: 2, enabled: 0, portRules: 1 },
    };
    const findings = ok(map(doc)).findings;
    expect(findings.find((f) => f.code === "other-listener")?.message).toBe(
      "another listener: RDP-Tcp-Admin on port 3390 (not judged here: this report is about RDP-tcp)",
    );
    expect(findings.find((f) => f.code === "firewall-rules-disabled")?.severity).toBe("info");
  });
});
