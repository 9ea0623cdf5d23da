import { X509Certificate } from "node:crypto";
import * as tls from "node:tls";
import { clientDoctorCommand } from "../../../src/cli/commands/doctor";
import type { CommandOptions, CommandRunner } from "../../../src/hosts/command-runner";
import { JSON_MARKER } from "../../../src/hosts/windows/powershell";
import { certValid } from "../../helpers/certs";
import { type HostileListener, confirmBytes, hostileListener, onRequest } from "../../helpers/hostile";

/**
 * `doctor --client HOST` on Windows (issue 25): mstsc's CertHash, as client.ps1 reads it,
 * against what the listener presents now. The listener is a loopback RDP listener
 * (Connection Confirm selecting TLS, then a real TLS handshake); PowerShell is a fake runner.
 */
describe("doctor --client on Windows: mstsc's pin against the listener", () => {
  const pair = certValid(-1, 30, "rdp-win");
  const sha1 = new X509Certificate(pair.certPem).fingerprint.replace(/:/g, "");
  let listener: HostileListener;
  beforeAll(async () => {
    listener = await hostileListener((s) =>
      onRequest(s, () => {
        s.write(confirmBytes(2, 1));
        s.removeAllListeners("data");
        new tls.TLSSocket(s, { isServer: true, key: pair.keyPem, cert: pair.certPem }).on("error", () => undefined);
      }),
    );
  });
  afterAll(() => listener.close());

  function client(certHash: string | null): CommandRunner {
    return async (_file: string, _args: readonly string[], _options: CommandOptions) => ({
      exitCode: 0,
      stdout: `${JSON_MARKER}\n${JSON.stringify({ defaultRdp: null, cache: null, server: { key: "HKCU:\\Software\\Microsoft\\Terminal Server Client\\Servers\\x", certHash, usernameHint: "" }, actions: [] })}`,
      stderr: "",
      timedOut: false,
      spawnError: null,
    });
  }

  async function doctor(certHash: string | null): Promise<{ code: number; out: string }> {
    let out = "";
    const spy = jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      out += chunk.toString();
      return true;
    });
    try {
      const code = await clientDoctorCommand({
        host: `127.0.0.1:${listener.port}`,
        fix: false,
        json: false,
        platform: "win32",
        runner: client(certHash),
        timeoutMs: 5000,
      });
      return { code, out };
    } finally {
      spy.mockRestore();
    }
  }

  it("a CertHash of another certificate: exit 2, the mstsc store named as disagreeing", async () => {
    const { code, out } = await doctor("0102030405060708090A0B0C0D0E0F1011121314");
    expect(code).toBe(2);
    expect(out).toMatch(/^\[FAIL\] mstsc CertHash +pins ANOTHER certificate \(0102030405060708090a0b0c0d0e0f1011121314\)$/m);
    expect(out).toContain("mstsc CertHash disagrees with the listener");
  });

  it("the CertHash of the presented certificate: exit 0, ok; none stored: no pin", async () => {
    const same = await doctor(sha1);
    expect(same.code).toBe(0);
    expect(same.out).toMatch(/^\[ ok \] mstsc CertHash +pins the certificate presented now$/m);
    const none = await doctor(null);
    expect(none.code).toBe(0);
    expect(none.out).toMatch(/^\[none\] mstsc CertHash +no pin for this listener$/m);
  });
});
