import { X509Certificate } from "node:crypto";
import type * as Forge from "node-forge";
import type { CommandResult, CommandRunner } from "../../../../src/hosts/command-runner";
import type { HostInspection, SuppliedCertificate } from "../../../../src/hosts/host-backend";
import { JSON_MARKER } from "../../../../src/hosts/windows/powershell";
import { createWindowsRotation, parseCandidates } from "../../../../src/hosts/windows/windows-rotation";
import { caIssued, certValid } from "../../../helpers/certs";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const forge = require("node-forge") as typeof Forge;

/**
 * The Windows half of `rdpcert deploy` at the PowerShell boundary: what each
 * step sends (the PFX and its password as data on stdin, never on argv) and
 * how it reads each answer. through-pwsh.test.ts drives the real scripts
 * against the Windows model.
 */
function answering(answers: Record<string, Partial<CommandResult>>) {
  const calls: { script: string; input: Record<string, unknown>; args: readonly string[]; stdin: string }[] = [];
  const runner: CommandRunner = async (_file, args, options) => {
    const envelope = JSON.parse(options.input ?? "{}") as { script: string; input: Record<string, unknown> };
    const script = envelope.script.split(/[\\/]/).pop()!;
    calls.push({ script, input: envelope.input, args, stdin: options.input ?? "" });
    const answer = { exitCode: 0, stdout: "{}", stderr: "", timedOut: false, spawnError: null, ...answers[script] };
    return { ...answer, stdout: `${JSON_MARKER}\r\n${answer.stdout}` };
  };
  return { runner, calls };
}

const issued = caIssued(-1, 90, "rdp.example.test");
const leaf = Buffer.from(new X509Certificate(issued.certPem).raw);
const root = Buffer.from(new X509Certificate(issued.caPem).raw);
const intermediatePair = certValid(-1, 90, "not-a-root");
const thumbprint = new X509Certificate(issued.certPem).fingerprint.replace(/:/g, "");
const selfThumb = "AB".repeat(20);

const supplied = (over: Partial<SuppliedCertificate> = {}): SuppliedCertificate => ({
  origin: "--pfx /tmp/rdp.pfx",
  chain: [leaf],
  keyPem: issued.keyPem,
  thumbprint,
  names: ["DNS:rdp.example.test"],
  notAfter: new Date(Date.now() + 90 * 86_400_000),
  ...over,
});

const inspection = (findings: HostInspection["findings"] = []): HostInspection => ({
  backend: "windows",
  source: "WMI",
  listener: { address: null, port: 3389, securityLayer: "negotiate", nla: true },
  certificate: { state: "present", der: root, location: `Cert:\\LocalMachine\\Remote Desktop\\${selfThumb}` },
  key: { state: "ok", location: null, reason: null },
  issuance: "self-signed",
  configuredThumbprint: selfThumb,
  findings,
});

const restart = { enabled: true, command: null, timeoutMs: 1000 };
const bound = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    thumbprint,
    imported: true,
    intermediatesAdded: [],
    keyFile: "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys\\abc_guid",
    keyProvider: "CAPI",
    granted: "granted",
    bound: true,
    hashType: 3,
    previous: { wmiHash: selfThumb, hashType: 1, registryHashPresent: false, registryHash: null },
    refused: null,
    fix: null,
    ...over,
  });
const steps = (runner: CommandRunner) => createWindowsRotation({ runner, timeoutMs: 5000, sessionName: "Console", inSession: false });

describe("Windows deploy steps", () => {
  it("refuses a binding a Group Policy template manages (HashType 2), and a certificate without bytes; deploys otherwise", () => {
    const { runner } = answering({});
    const policy = { severity: "info" as const, code: "binding-group-policy", message: "managed by a Group Policy template", fix: null };
    expect(steps(runner).refuseSupplied!(inspection([policy]), supplied())).toEqual({
      reason: expect.stringMatching(/Group Policy certificate template \(SSLCertificateSHA1HashType 2\).*fight/),
      fix: expect.stringContaining("certutil -pulse"),
    });
    expect(steps(runner).refuseSupplied!(inspection(), supplied({ chain: [] }))?.reason).toMatch(/no certificate bytes/);
    expect(steps(runner).refuseSupplied!(inspection(), supplied({ chain: [], keyPem: null }))).toBeNull();
    expect(steps(runner).refuseSupplied!(inspection(), supplied())).toBeNull();
  });

  it("describes the deploy without a secret: My, not Remote Desktop; NETWORK SERVICE on exactly that key; CIM; no restart", () => {
    const { runner } = answering({});
    const lines = steps(runner)
      .describe(inspection(), { kind: "supplied", certificate: supplied({ chain: [leaf, root] }), removeOld: false }, restart)
      .join("\n");
    expect(lines).toContain(`import ${thumbprint} (--pfx /tmp/rdp.pfx; DNS:rdp.example.test) with its private key into Cert:\\LocalMachine\\My`);
    expect(lines).toContain("NETWORK SERVICE (S-1-5-20) Read on exactly that certificate's key file");
    expect(lines).toContain(`Win32_TSGeneralSetting (RDP-Tcp).SSLCertificateSHA1Hash = ${thumbprint}`);
    expect(lines).toContain("restart nothing");
    expect(lines).not.toMatch(/PRIVATE KEY/);
    const byThumbprint = steps(runner).describe(
      inspection(),
      { kind: "supplied", certificate: supplied({ keyPem: null, origin: `LocalMachine\\My\\${thumbprint}` }), removeOld: false },
      restart,
    );
    expect(byThumbprint[1]).toBe(`use Cert:\\LocalMachine\\My\\${thumbprint} (DNS:rdp.example.test), which must hold its private key`);
  });

  it("replace builds a PFX that opens with the password it sends on stdin only, never on argv; roots are not sent as intermediates", async () => {
    const { runner, calls } = answering({ "deploy.ps1": { stdout: bound() } });
    const notRoot = Buffer.from(new X509Certificate(intermediatePair.certPem).raw);
    // certValid is self-signed too: only the CA-issued leaf stays, both self-signed ones are left out.
    const result = await steps(runner).replace(
      inspection(),
      { kind: "supplied", certificate: supplied({ chain: [leaf, notRoot, root] }), removeOld: false },
      new Date(),
    );
    expect(result).toEqual({
      ok: true,
      value: {
        thumbprint,
        written: [
          `imported ${thumbprint} into Cert:\\LocalMachine\\My`,
          "granted NETWORK SERVICE Read on C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys\\abc_guid",
          `bound RDP-Tcp to ${thumbprint} through CIM (was ${selfThumb}, SSLCertificateSHA1HashType 1)`,
        ],
      },
    });
    const input = calls[0]!.input as { thumbprint: string; pfx: string; password: string; intermediates: string[]; terminalName: string };
    expect(calls.map((c) => c.script)).toEqual(["deploy.ps1"]);
    expect(input.thumbprint).toBe(thumbprint);
    expect(input.terminalName).toBe("RDP-Tcp");
    expect(input.intermediates).toEqual([]);
    expect(input.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    for (const secret of [input.password, input.pfx, "PRIVATE KEY"]) expect(calls[0]!.args.join(" ")).not.toContain(secret);
    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(input.pfx, "base64").toString("binary"))), input.password);
    const cert = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!]![0]!.cert!;
    expect(cert.subject.getField("CN").value).toBe("rdp.example.test");
    expect(() =>
      forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(input.pfx, "base64").toString("binary"))), "guess"),
    ).toThrow();
    // Each deploy gets its own password.
    await steps(runner).replace(inspection(), { kind: "supplied", certificate: supplied(), removeOld: false }, new Date());
    expect(calls[1]!.input.password).not.toBe(input.password);
  });

  it("replace passes an intermediate (CA-issued, not self-signed) and, for --thumbprint, no PFX and no password", async () => {
    const inter = caIssued(-1, 90, "Issuing CA 2");
    const interDer = Buffer.from(new X509Certificate(inter.certPem).raw);
    const { runner, calls } = answering({ "deploy.ps1": { stdout: bound({ imported: false, granted: "already", intermediatesAdded: "ABCD" }) } });
    const result = await steps(runner).replace(
      inspection(),
      { kind: "supplied", certificate: supplied({ keyPem: null, chain: [leaf, interDer] }), removeOld: false },
      new Date(),
    );
    expect(calls[0]!.input).toMatchObject({ pfx: null, password: null, intermediates: [interDer.toString("base64")] });
    expect(result.ok && result.value.written.slice(0, 3)).toEqual([
      `used Cert:\\LocalMachine\\My\\${thumbprint}`,
      "added ABCD to Cert:\\LocalMachine\\CA",
      "NETWORK SERVICE already had Read on C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys\\abc_guid",
    ]);
  });

  it("a refusal or a binding that did not take is a failed replace, with the script's fix", async () => {
    const refused = answering({ "deploy.ps1": { stdout: bound({ refused: "not-in-my", fix: "import it into LocalMachine\\My", bound: false }) } });
    expect(
      await steps(refused.runner).replace(inspection(), { kind: "supplied", certificate: supplied({ keyPem: null }), removeOld: false }, new Date()),
    ).toEqual({ ok: false, reason: "not bound (not-in-my): import it into LocalMachine\\My" });
    const notBound = answering({ "deploy.ps1": { stdout: bound({ bound: false }) } });
    expect(await steps(notBound.runner).replace(inspection(), { kind: "supplied", certificate: supplied(), removeOld: false }, new Date())).toEqual({
      ok: false,
      reason: expect.stringMatching(/but RDP-Tcp does not report/),
    });
    const broken = answering({ "deploy.ps1": { exitCode: 1, stdout: "", stderr: "Import-PfxCertificate : The specified network password is not correct." } });
    expect(await steps(broken.runner).replace(inspection(), { kind: "supplied", certificate: supplied(), removeOld: false }, new Date())).toEqual({
      ok: false,
      reason: expect.stringContaining("network password is not correct"),
    });
    const badKey = answering({});
    expect(
      await steps(badKey.runner).replace(inspection(), { kind: "supplied", certificate: supplied({ keyPem: "not a key" }), removeOld: false }, new Date()),
    ).toEqual({ ok: false, reason: expect.stringMatching(/^cannot package --pfx \/tmp\/rdp.pfx for Windows/) });
    expect(badKey.calls).toEqual([]);
  });

  it("after a deploy the restart restarts nothing; after its rollback's restore it restarts as rotate does", async () => {
    const { runner, calls } = answering({
      "deploy.ps1": { stdout: bound() },
      "restore.ps1": { stdout: '{"certificateRestored":true}' },
      "restart.ps1": { stdout: `{"restarted":["SessionEnv"],"thumbprint":"${selfThumb}"}` },
    });
    const s = steps(runner);
    await s.replace(inspection(), { kind: "supplied", certificate: supplied(), removeOld: false }, new Date());
    expect(await s.restart(restart, selfThumb)).toEqual({ ok: true, value: { command: null } });
    expect(calls.map((c) => c.script)).toEqual(["deploy.ps1"]);
    await s.restore({
      backend: "windows",
      thumbprint: selfThumb,
      items: [],
      extra: { store: "Remote Desktop", thumbprint: selfThumb, binding: { hashType: 1, registryHashPresent: false } },
    });
    expect(await s.restart(restart, null)).toEqual({ ok: true, value: { command: "restarted SessionEnv" } });
    expect(calls.map((c) => c.script)).toEqual(["deploy.ps1", "restore.ps1", "restart.ps1"]);
    expect(calls[2]!.input).toMatchObject({ expectNewCertificate: false });
  });

  it("a later rotation by the same backend (run's daemon) restarts again; a deploy's rollback that rewrote nothing restarts nothing", async () => {
    const { runner, calls } = answering({
      "deploy.ps1": { stdout: bound() },
      "remove.ps1": { stdout: '{"removed":["x"]}' },
      "restart.ps1": { stdout: `{"restarted":["SessionEnv"],"thumbprint":"${selfThumb}"}` },
      "restore.ps1": { stdout: '{"certificateRestored":true,"bindingWritten":false,"imported":false}' },
    });
    const s = steps(runner);
    await s.replace(inspection(), { kind: "supplied", certificate: supplied(), removeOld: false }, new Date());
    await s.replace(inspection(), { kind: "self-signed", spec: { keyBits: 2048, validityDays: 180, names: [] } }, new Date());
    expect(await s.restart(restart, selfThumb)).toEqual({ ok: true, value: { command: "restarted SessionEnv" } });
    const deployBackup = {
      backend: "windows" as const,
      thumbprint: selfThumb,
      items: [],
      extra: { store: "Remote Desktop", thumbprint: selfThumb, binding: { hashType: 1 }, deploy: { thumbprint, presentBefore: false } },
    };
    await s.restore(deployBackup);
    expect(await s.restart(restart, null)).toEqual({ ok: true, value: { command: null } });
    // The same answer for a rotation's backup: nothing was changed back, so nothing restarts either (a restart would itself be a change: Windows renews an expired certificate on it).
    await s.restore({ ...deployBackup, extra: { store: "Remote Desktop", thumbprint: selfThumb, binding: { hashType: 1 } } });
    expect(await s.restart(restart, null)).toEqual({ ok: true, value: { command: null } });
    expect(calls.map((c) => c.script)).toEqual(["deploy.ps1", "remove.ps1", "restart.ps1", "restore.ps1", "restore.ps1"]);
  });

  it("confirm: a fallback event since the deploy started is a reason to roll back; none, or an unreadable log, is not", async () => {
    const since = new Date("2026-11-25T01:00:00.000Z");
    const fell = answering({
      "events.ps1": { stdout: '{"events":{"id":1059,"time":"2026-11-25T01:00:02Z","message":"could not use the configured certificate"}}' },
    });
    const replacement = { kind: "supplied" as const, certificate: supplied(), removeOld: false };
    expect(await steps(fell.runner).confirm!(inspection(), replacement, since)).toBe(
      "Windows logged that the listener fell back from the configured certificate to its self-signed one (event 1059 at 2026-11-25T01:00:02Z: could not use the configured certificate)",
    );
    expect(fell.calls[0]!.input).toEqual({ sinceMs: since.getTime() });
    expect(await steps(answering({ "events.ps1": { stdout: '{"events":[]}' } }).runner).confirm!(inspection(), replacement, since)).toBeNull();
    expect(
      await steps(answering({ "events.ps1": { exitCode: 1, stdout: "", stderr: "Get-WinEvent : Access denied" } }).runner).confirm!(
        inspection(),
        replacement,
        since,
      ),
    ).toBeNull();
    const rotation = answering({});
    expect(
      await steps(rotation.runner).confirm!(inspection(), { kind: "self-signed", spec: { keyBits: 2048, validityDays: 180, names: [] } }, since),
    ).toBeNull();
    expect(rotation.calls).toEqual([]);
  });

  it("candidates: certificates in My with a key, parsed in Node (names, notAfter, thumbprint), whatever shape 5.1 gave the list", async () => {
    const other = certValid(-1, 30, "other.example.test");
    const otherDer = Buffer.from(new X509Certificate(other.certPem).raw);
    const json = {
      certificates: [
        { thumbprint: thumbprint, rawData: leaf.toString("base64"), hasPrivateKey: true },
        { rawData: otherDer.toString("base64"), hasPrivateKey: false },
        { rawData: "bm90IGEgY2VydA==", hasPrivateKey: true },
      ],
    };
    const { runner, calls } = answering({ "candidates.ps1": { stdout: JSON.stringify(json) } });
    const result = await steps(runner).candidates!();
    expect(calls.map((c) => [c.script, c.input])).toEqual([["candidates.ps1", {}]]);
    expect(result).toEqual({
      ok: true,
      value: [
        {
          origin: `LocalMachine\\My\\${thumbprint}`,
          chain: [leaf],
          keyPem: null,
          thumbprint,
          names: ["DNS:rdp.example.test"],
          notAfter: new Date(new X509Certificate(issued.certPem).validTo),
        },
      ],
    });
    expect(parseCandidates({ certificates: { rawData: otherDer.toString("base64"), hasPrivateKey: true } }).map((c) => c.names)).toEqual([
      ["DNS:other.example.test", "DNS:localhost", "IP:127.0.0.1"],
    ]);
    expect(parseCandidates(null)).toEqual([]);
    expect(await steps(answering({ "candidates.ps1": { exitCode: 1, stdout: "" } }).runner).candidates!()).toEqual({
      ok: false,
      reason: expect.stringContaining("candidates.ps1 failed"),
    });
  });

  it("backs up whether My held the certificate before, and a rollback removes it only when the deploy imported it", async () => {
    const fresh = answering({
      "backup.ps1": {
        stdout: '{"rawData":"AAEC","pfx":null,"exportError":"not exportable","binding":{"hashType":1,"registryHashPresent":false},"deployPresent":false}',
      },
    });
    const backup = await steps(fresh.runner).collectBackup(inspection(), { kind: "supplied", certificate: supplied(), removeOld: false });
    if (!backup.ok) throw new Error(backup.reason);
    expect(fresh.calls[0]!.input).toMatchObject({ deployThumbprint: thumbprint });
    expect(backup.value.extra).toMatchObject({ deploy: { thumbprint, presentBefore: false } });
    const unclear = answering({ "backup.ps1": { stdout: '{"rawData":"AAEC","binding":null}' } });
    const kept = await steps(unclear.runner).collectBackup(inspection(), { kind: "supplied", certificate: supplied(), removeOld: false });
    expect(kept.ok && kept.value.extra).toMatchObject({ deploy: { thumbprint, presentBefore: true } });
    const rotating = answering({ "backup.ps1": { stdout: '{"rawData":"AAEC","binding":null}' } });
    await steps(rotating.runner).collectBackup(inspection());
    expect(rotating.calls[0]!.input).not.toHaveProperty("deployThumbprint");

    const restore = answering({
      "restore.ps1": { stdout: `{"certificateRestored":true,"removedDeployed":"Cert:\\\\LocalMachine\\\\My\\\\${thumbprint}","binding":{"hashType":1}}` },
    });
    const restored = await steps(restore.runner).restore(backup.value);
    expect(restore.calls[0]!.input).toMatchObject({ removeDeployed: thumbprint, binding: { hashType: 1, registryHashPresent: false } });
    expect(restored.ok && restored.value.restored).toEqual([
      `removed Cert:\\LocalMachine\\My\\${thumbprint} with its key (imported by the deploy)`,
      "the binding (no SSLCertificateSHA1Hash: Windows' own certificate)",
    ]);
    const heldBefore = answering({ "restore.ps1": { stdout: '{"certificateRestored":true}' } });
    await steps(heldBefore.runner).restore({ ...backup.value, extra: { ...backup.value.extra, deploy: { thumbprint, presentBefore: true } } });
    expect(heldBefore.calls[0]!.input).not.toHaveProperty("removeDeployed");
    const stillUsed = answering({ "restore.ps1": { stdout: '{"certificateRestored":true,"keptDeployed":"a listener still uses it"}' } });
    const kept2 = await steps(stillUsed.runner).restore(backup.value);
    expect(kept2.ok && kept2.value.restored[0]).toBe(`(kept ${thumbprint} in LocalMachine\\My: a listener still uses it)`);
  });

  it("removeOld: the previous certificate only, never the deployed one; one a listener still names is a warning", async () => {
    const backup = { backend: "windows" as const, thumbprint: selfThumb, items: [], extra: { store: "Remote Desktop", thumbprint: selfThumb } };
    const removed = answering({ "remove-old.ps1": { stdout: `{"removed":"Cert:\\\\LocalMachine\\\\Remote Desktop\\\\${selfThumb}","kept":null}` } });
    expect(await steps(removed.runner).removeOld!(backup, supplied())).toEqual({
      ok: true,
      value: { removed: [`Cert:\\LocalMachine\\Remote Desktop\\${selfThumb}`] },
    });
    expect(removed.calls[0]!.input).toEqual({ thumbprint: selfThumb, store: "Remote Desktop", keep: thumbprint });
    const used = answering({ "remove-old.ps1": { stdout: '{"removed":[],"kept":"a listener still uses it"}' } });
    expect(await steps(used.runner).removeOld!(backup, supplied())).toEqual({
      ok: false,
      reason: `Cert:\\LocalMachine\\Remote Desktop\\${selfThumb} was kept: a listener still uses it`,
    });
    const none = answering({});
    expect(await steps(none.runner).removeOld!({ ...backup, extra: { store: "My", thumbprint: thumbprint } }, supplied())).toEqual({
      ok: true,
      value: { removed: [] },
    });
    expect(await steps(none.runner).removeOld!({ ...backup, extra: { store: null, thumbprint: null } }, supplied())).toEqual({
      ok: true,
      value: { removed: [] },
    });
    expect(none.calls).toEqual([]);
  });
});
