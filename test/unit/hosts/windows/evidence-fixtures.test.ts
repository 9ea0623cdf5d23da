import { assess } from "../../../../src/core/assess";
import { DEFAULT_POLICY } from "../../../../src/core/policy";
import type { InspectOutcome } from "../../../../src/hosts/host-backend";
import { inspectionFromScript } from "../../../../src/hosts/windows/inspection";
import { insideRdpSession } from "../../../../src/hosts/windows/windows-rotation";
import { certValid } from "../../../helpers/certs";
import { inspectDoc, ps51Json } from "./inspect-output";

/**
 * Output published from real Windows hosts (the project's windows-evidence
 * folder), used verbatim as fixtures: the Node inspection accepts
 * each one and reaches the right verdict. Every fixture names its source.
 */
const now = new Date();
const map = (doc: unknown): InspectOutcome => inspectionFromScript(JSON.parse(ps51Json(doc)), now);
const ok = (outcome: InspectOutcome) => {
  if (!outcome.ok) throw new Error(outcome.reason);
  return outcome.inspection;
};
const selfSigned = certValid(-30, 150, "DESKTOP-C4EURVP").certPem;

/** windows-evidence/02 2.9: MicrosoftDocs/SupportArticles-docs event-id-troubleshoot-vm-rdp-connecton.md @ 1e37e72e (Microsoft's sample). */
const SCHANNEL_36870_DOC =
  "A fatal error occurred when attempting to access the TLS server credential private key. The error code returned from the cryptographic module is 0x8009030D.  \r\nThe internal error state is 10001.";
/** windows-evidence/02 2.4: github.com/microsoft/Windows-Admin-Center-Ideas-and-Feedback/issues/418 (a real host, a CNG key of another server). */
const SCHANNEL_36870_WAC =
  "A fatal error occurred when attempting to access the TLS server credential private key. The error code returned from the cryptographic module is 0x8009030D. The internal error state is 10001.\r\nThe SSPI client process is WindowsAdminCenter (PID: 3380).";
/** windows-evidence/02 2.9 (doc sample) and 2.7b (a real 2014 report): RemoteConnectionManager status strings. */
const RCM_1057_KEYSET =
  "The RD Session Host Server has failed to create a new self signed certificate to be used for RD Session Host Server authentication on TLS connections. The relevant status code was Keyset does not exist";
const RCM_1057_STATE =
  "The Terminal Server has failed to create a new self signed certificate to be used for Terminal Server authentication on SSL connections. The relevant status code was Key not valid for use in specified state";
const RCM_1058_DENIED =
  "The RD Session Host Server has failed to replace the expired self signed certificate used for RD Session Host Server authentication on TLS connections. The relevant status code was Access is denied.";
const RCM_1058_EXISTS =
  "RD Session host server has failed to create a new self-signed certificate to be used for RD Session host server authentication on TLS connections, the relevant status code was object already exists.";

const event = (id: number, message: string, provider = id === 36870 ? "Schannel" : "Microsoft-Windows-TerminalServices-RemoteConnectionManager") => ({
  id,
  provider,
  count: 4,
  newest: new Date(now.getTime() - 3600_000),
  message,
  data: [],
});

describe("windows-evidence fixtures through the Node inspection (issue 20)", () => {
  it("02 2.9: Microsoft's 36870 sample with a key this admin cannot open (Server 2019+) makes the key CORRUPT, with its cause; the failed handshake is explained and a new certificate fixes it", () => {
    const doc = inspectDoc({ pem: selfSigned, events: [event(36870, SCHANNEL_36870_DOC)] });
    Object.assign(doc.certificate as Record<string, unknown>, {
      keyOpened: false,
      privateKeyError: 'Exception getting "PrivateKey": "Keyset does not exist\r\n"',
      keyFileExists: true,
      keyAccess: { networkService: true, sessionEnv: true, system: true, caller: false },
    });
    const outcome = map(doc);
    expect(ok(outcome).key).toMatchObject({
      state: "corrupt",
      reason: expect.stringMatching(/36870 4 times .*0x8009030D, internal error state 10001.*from Windows Server 2019/),
    });
    const verdict = assess(
      outcome,
      {
        certificate: null,
        error: { kind: "tls-handshake-failed", message: "the listener closed the connection during the TLS handshake", reason: "closed" },
      } as never,
      DEFAULT_POLICY,
      now,
    );
    expect(verdict.status).toBe("CORRUPT");
    expect(verdict.problems.every((p) => p.fixedByReplacement)).toBe(true);
  });

  it("02 2.4: the Windows Admin Center capture is another TLS server's: a note, and Windows' own key (judged by its ACL) stays ok", () => {
    const doc = inspectDoc({ pem: selfSigned, events: [event(36870, SCHANNEL_36870_WAC)] });
    Object.assign(doc.certificate as Record<string, unknown>, {
      keyOpened: false,
      privateKeyError: "Keyset does not exist",
      keyFileExists: true,
      keyAccess: { networkService: true, sessionEnv: true, system: true, caller: false },
    });
    const inspection = ok(map(doc));
    expect(inspection.key.state).toBe("ok");
    expect(inspection.findings.find((f) => f.code === "event-36870")).toMatchObject({ severity: "info", message: expect.stringMatching(/WindowsAdminCenter/) });
  });

  it("01 1.7/1.8: CryptAcquireCertificatePrivateKey 0x80090016 for an elevated admin on a healthy 1903/1909 host is never corrupt: without host evidence it is judged by the ACL, or 'not checked'", () => {
    const doc = inspectDoc({ pem: selfSigned });
    Object.assign(doc.certificate as Record<string, unknown>, {
      keyOpened: false,
      privateKeyError: "CryptAcquireCertificatePrivateKey (0x80090016)",
      keyFileExists: true,
      keyAccess: { networkService: true, sessionEnv: true, system: true, caller: false },
    });
    expect(ok(map(doc)).key.state).toBe("ok");
    Object.assign(doc.certificate as Record<string, unknown>, { keyAccess: null, privateKeyOpens: null, keyFileExists: null });
    expect(ok(map(doc)).key).toMatchObject({ state: "unknown", reason: expect.stringMatching(/^not checked/) });
  });

  it("02 2.9, 2.7b: the RemoteConnectionManager status strings are critical findings with rdpcert's fix", () => {
    const events = [event(1057, RCM_1057_KEYSET), event(1058, RCM_1058_DENIED)];
    const findings = ok(map(inspectDoc({ pem: selfSigned, events }))).findings;
    expect(findings.map((f) => [f.code, f.severity])).toEqual([
      ["event-1057", "critical"],
      ["event-1058", "critical"],
    ]);
    for (const text of [RCM_1057_STATE, RCM_1058_EXISTS]) {
      const [finding] = ok(
        map(inspectDoc({ pem: selfSigned, events: [event(text.includes("replace") || text.includes("exists") ? 1058 : 1057, text)] })),
      ).findings;
      expect(finding!.message).toContain(text.slice(0, 40));
    }
  });

  it("04 4.1: the only full Win32_TSGeneralSetting capture (host AD2): HashType 1, TLS, NLA; its hash names no installed certificate here, which is said", () => {
    const doc = {
      ...inspectDoc({ pem: null }),
      tsSetting: {
        terminalName: "RDP-Tcp",
        sslCertificateSha1Hash: "696F767CD537FA3A172D11EF949C44779030464C",
        sslCertificateSha1HashType: 1,
        securityLayer: 2,
        userAuthenticationRequired: 1,
      },
      registryHashPresent: false,
    };
    const inspection = ok(map(doc));
    expect(inspection.configuredThumbprint).toBe("696F767CD537FA3A172D11EF949C44779030464C");
    expect(inspection.listener).toMatchObject({ securityLayer: "tls", nla: true });
    expect(inspection.certificate.state).toBe("missing");
  });

  it("04 4.3: 'Invalid namespace' (HRESULT 0x8004100e, a Home edition) is UNKNOWN with the WMI check as its fix, not an elevation hint", () => {
    const doc = { ...inspectDoc({ pem: selfSigned }), tsSetting: null, tsSettingError: "无效命名空间", tsSettingErrorCategory: "MetadataError" };
    const outcome = map(doc);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.fix).toMatch(/Get-CimInstance -Namespace root\\cimv2\\TerminalServices/);
  });

  it("05 5.8-5.11, 02 2.7: session names as qwinsta (rdp-tcp#0), tasklist and SESSIONNAME (RDP-Tcp#0) and RemoteConnectionManager (RDP-Tcp#47) print them are all RDP sessions; the listener and the console are not", () => {
    for (const name of ["rdp-tcp#0", "rdp-tcp#7", "RDP-Tcp#0", "RDP-Tcp#47"]) expect(insideRdpSession(name)).toBe(true);
    for (const name of ["rdp-tcp", "Console", "console", "services"]) expect(insideRdpSession(name)).toBe(false);
  });
});

describe("sessions of other listeners (issue 20)", () => {
  it("a session on a second listener is a session too (no capture: the '<listener>#<n>' pattern is assumed, see the README)", () => {
    expect(insideRdpSession("RDP-Tcp-Admin#1")).toBe(true);
    expect(insideRdpSession("rdp-tcp-admin#12")).toBe(true);
    expect(insideRdpSession("RDP-Tcp#")).toBe(false);
    expect(insideRdpSession(null)).toBe(false);
  });
});

describe("the RemoteConnectionManager/Operational channel and events 1052-1062 (issue 20)", () => {
  it("02 2.7: 'The server security layer detected an error (0x80090304)' from the Operational channel is a warning; its other errors are notes; 1052/1053/1054/1062 show with their own text", () => {
    const operational = (message: string) => ({
      id: 1,
      provider: "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
      log: "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
      count: 2,
      newest: new Date(now.getTime() - 60_000),
      message,
      data: [],
    });
    const events = [
      operational(
        "The server security layer detected an error (0x80090304) in the protocol stream and the client (Client IP:10.4.50.253) has been disconnected.",
      ),
      { ...operational("Something else went wrong."), id: 2 },
      event(1062, "A Remote Desktop certificate event text as Windows logged it."),
    ];
    const findings = ok(map(inspectDoc({ pem: selfSigned, events }))).findings;
    expect(findings.map((f) => [f.code, f.severity])).toEqual([
      ["event-operational-1", "warn"],
      ["event-operational-2", "info"],
      ["event-1062", "warn"],
    ]);
    expect(findings[2]!.message).toContain("A Remote Desktop certificate event text as Windows logged it.");
  });
});
