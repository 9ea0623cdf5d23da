import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_POLICY } from "../../../../src/core/policy";
import { assess } from "../../../../src/core/assess";
import { type CommandRunner, runCommand } from "../../../../src/hosts/command-runner";
import { StateDir } from "../../../../src/hosts/local/state-dir";
import { type PowerShellLauncher, encodedBootstrap } from "../../../../src/hosts/windows/powershell";
import { createWindowsBackend } from "../../../../src/hosts/windows/windows-backend";
import type { Prober } from "../../../../src/probe/prober";
import type { SuppliedCertificate } from "../../../../src/hosts/host-backend";
import { type RotationSettings, deploy, recoverInterrupted, rotate } from "../../../../src/rotation/rotate";
import { materialFor } from "../../../../src/app/deploy";
import type { Session } from "../../../../src/app/session";
import { defaultConfig } from "../../../../src/core/config";
import { checkMaterial, readPfx } from "../../../../src/core/deploy-input";
import { caIssued } from "../../../helpers/certs";
import { makeTestCa } from "../../../helpers/test-ca";
import { presentedBy } from "../../../helpers/fakes";
import { pwshPath } from "../../../helpers/pwsh";

/**
 * The Node backend end to end through a real PowerShell: the production
 * runner (runCommand) starts pwsh, which loads the Windows host model
 * (test/windows/WindowsModel.ps1) from a state file and runs exactly the
 * -EncodedCommand Windows would get (bootstrap.ps1), which reads the
 * { script, input } envelope from stdin and runs the real script. The stdin
 * and stdout contract is exercised, not asserted; the rotation state machine
 * (src/rotation/rotate.ts) drives the real scripts. The prober presents what
 * the model says the listener serves (Get-ModelPresented).
 */
const WINDOWS_TESTS = join(__dirname, "..", "..", "..", "windows");

/** The parts of the model's state file (Export-WindowsModel) the tests read. */
interface ModelState {
  SelfSignedThumbprint: string;
  Presented: { kind: string; rawData?: string };
  Listeners: Record<string, { HashType: number; RegistryHash: string | null }>;
  Services: Record<string, { Status: string }>;
  Certificates: { Thumbprint: string; Store: string; HasPrivateKey: boolean; KeyProvider: string; KeyAcl: string[] }[];
  Events: { Id: number; ProviderName: string; TimeCreated: string; Message: string; LogName: string; Data: string[] }[];
  Violations: string[];
}

interface Run {
  script: string;
  input: Record<string, unknown>;
  args: readonly string[];
}

function modelHost(scenarios: string[] = []) {
  // A non-ASCII directory: the state file path goes through argv and the model reads it as UTF-8.
  const dir = mkdtempSync(join(tmpdir(), "rdpcert-winmodel-é-"));
  const state = join(dir, "state.json");
  execFileSync(pwshPath(), ["-NoProfile", "-NonInteractive", "-File", join(WINDOWS_TESTS, "new-model.ps1"), state, ...scenarios], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const launcher: PowerShellLauncher = {
    file: pwshPath(),
    args: ["-NoProfile", "-NonInteractive", "-File", join(WINDOWS_TESTS, "with-model.ps1"), state, encodedBootstrap()],
  };
  const runs: Run[] = [];
  const runner: CommandRunner = async (file, args, options) => {
    const envelope = JSON.parse(options.input ?? "{}") as { script: string; input: Record<string, unknown> };
    runs.push({ script: envelope.script.split(/[\\/]/).pop()!, input: envelope.input, args });
    return runCommand(file, args, options);
  };
  const model = (): ModelState => JSON.parse(readFileSync(state, "utf8").replace(/^\uFEFF/, "")) as ModelState;
  const presented: Prober = async () => {
    const p = model().Presented;
    if (p.kind === "tls") return presentedBy(`-----BEGIN CERTIFICATE-----\n${p.rawData!.replace(/.{64}/g, "$&\n")}\n-----END CERTIFICATE-----\n`);
    if (p.kind === "down") return presentedBy(null, { kind: "connect-refused", message: "connection refused (nothing listens)" });
    // The prober's own words for a reset during the X.224 exchange (src/probe/prober.ts).
    if (p.kind === "reset")
      return presentedBy(null, { kind: "protocol-error", message: "the listener reset the connection during negotiation (after 0 bytes)" });
    return presentedBy(null, { kind: "tls-handshake-failed", message: "TLS handshake failed", reason: "alert" });
  };
  /** Changes the model between two scripts, as Windows changes under a running deploy. */
  const edit = (change: (state: Record<string, unknown>) => void): void => {
    const current = JSON.parse(readFileSync(state, "utf8").replace(/^\uFEFF/, "")) as Record<string, unknown>;
    change(current);
    writeFileSync(state, JSON.stringify(current));
  };
  return { dir, state, launcher, runner, runs, model, presented, edit, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const settings: RotationSettings = {
  spec: { keyBits: 2048, validityDays: 180, names: ["host01"] },
  restart: { enabled: true, command: null, timeoutMs: 60_000 },
  verifyTimeoutMs: 2000,
  probeTimeoutMs: 1000,
  policy: DEFAULT_POLICY,
  keepBackups: 5,
  force: false,
  reason: null,
};

function contextFor(host: ReturnType<typeof modelHost>, prober: Prober = host.presented) {
  return {
    backend: createWindowsBackend({
      runner: host.runner,
      launcher: host.launcher,
      platform: "win32",
      sessionName: "Console",
      timeoutMs: 60_000,
      restartWaits: { serviceSeconds: 20, certificateSeconds: 1 },
    }),
    store: new StateDir(join(host.dir, "rdpcert-state")),
    prober,
    now: () => new Date(),
    sleep: async () => undefined,
    fault: () => undefined,
    log: () => undefined,
  };
}

describe("Windows backend through pwsh against the Windows host model", () => {
  let host: ReturnType<typeof modelHost>;
  afterEach(() => host.cleanup());

  it("inspects the default host: the envelope on stdin, the JSON after the marker, Windows' own certificate readable by NETWORK SERVICE", async () => {
    host = modelHost();
    const outcome = await contextFor(host).backend.inspect();
    if (!outcome.ok) throw new Error(outcome.reason);
    const m = host.model();
    expect(outcome.inspection.configuredThumbprint).toBe(m.SelfSignedThumbprint);
    expect(outcome.inspection.certificate.state).toBe("present");
    expect(outcome.inspection.issuance).toBe("self-signed");
    expect(outcome.inspection.key.state).toBe("ok");
    expect(outcome.inspection.listener.port).toBe(3389);
    expect(outcome.inspection.findings.filter((f) => f.severity !== "info")).toEqual([]);
    expect(host.runs.map((r) => r.script)).toEqual(["inspect.ps1"]);
    expect(host.runs[0]!.input).toEqual({ terminalName: "RDP-tcp", eventDays: 30 });
  });

  it("a healthy Server 2022 host inspected by an admin: Windows' own key does not open for that account, judged by its ACL, never corrupt; the default MachineKeys ACL is no finding", async () => {
    host = modelHost();
    const outcome = await contextFor(host).backend.inspect();
    if (!outcome.ok) throw new Error(outcome.reason);
    expect(outcome.inspection.key.state).toBe("ok");
    expect(outcome.inspection.key.reason).toMatch(/judged by the key file's ACL .*not Administrators/);
    expect(outcome.inspection.findings.map((f) => f.code)).not.toContain("key-folder-acl");
    const assessment = assess(
      outcome,
      await host.presented({ input: "127.0.0.1:3389", host: "127.0.0.1", port: 3389 }, { timeoutMs: 1000 }),
      DEFAULT_POLICY,
      new Date(),
    );
    expect(assessment.status).toBe("OK");
  });

  describe("rollback and recovery judged by what is served (issue 20)", () => {
    it("a rollback where nothing was changed restarts nothing (a restart is itself a change), and the old state is served again", async () => {
      host = modelHost(["expired", "key-folders-broken"]);
      const old = host.model().SelfSignedThumbprint;
      const result = await rotate(contextFor(host), { ...settings, force: true }, { dryRun: false });
      expect(result.outcome).toBe("rolled-back");
      expect(host.runs.map((r) => r.script).filter((s) => s === "restart.ps1")).toEqual([]);
      expect(result.steps.find((s) => s.step === "verify-old")?.detail).toBe("old state presented again");
      expect(host.model().SelfSignedThumbprint).toBe(old);
    }, 180_000);

    it("recovery of a rotation interrupted after the removal: Windows' key was not exportable, Windows issued a valid new certificate: rolled-back, not rollback-failed", async () => {
      host = modelHost(["expiring"]);
      const ctx = contextFor(host);
      await expect(
        rotate(
          {
            ...ctx,
            fault: (point: string) => {
              if (point === "after-replace") throw new Error("killed");
            },
          },
          settings,
          { dryRun: false },
        ),
      ).rejects.toThrow("killed");
      const recovered = await recoverInterrupted(contextFor(host), settings);
      expect(recovered?.outcome).toBe("rolled-back");
      expect(recovered?.reason).toMatch(/cannot be put back.*the listener presents [0-9A-F]{40}, valid, with the binding as before/);
    }, 180_000);

    it("recovery inside an RDP session is deferred (status hands it to a SYSTEM task): nothing restarted, the journal left open", async () => {
      host = modelHost(["expiring"]);
      await expect(
        rotate(
          {
            ...contextFor(host),
            fault: (point: string) => {
              if (point === "after-replace") throw new Error("killed");
            },
          },
          settings,
          { dryRun: false },
        ),
      ).rejects.toThrow("killed");
      const runsBefore = host.runs.length;
      const inSession = {
        ...contextFor(host),
        backend: createWindowsBackend({ runner: host.runner, launcher: host.launcher, platform: "win32", sessionName: "RDP-Tcp#3" }),
      };
      const recovered = await recoverInterrupted(inSession, settings);
      expect(recovered?.outcome).toBe("deferred");
      expect(host.runs.length).toBe(runsBefore);
      expect(new StateDir(join(host.dir, "rdpcert-state")).readJournal()).not.toBeNull();
    }, 180_000);
  });

  describe("the seed case: mstsc 0x904/0x7 because Windows' own key will not open (issue 20)", () => {
    it("inspection: CORRUPT with its cause (Schannel 36870 0x8009030D, internal state 10001, read as possibly this listener's), a new certificate fixes it", async () => {
      host = modelHost(["key-broken"]);
      const outcome = await contextFor(host).backend.inspect();
      if (!outcome.ok) throw new Error(outcome.reason);
      expect(outcome.inspection.key.state).toBe("corrupt");
      expect(outcome.inspection.key.reason).toMatch(
        /Schannel logged event 36870 once since the certificate was issued \(0x8009030D, internal error state 10001/,
      );
      const event = outcome.inspection.findings.find((f) => f.code === "event-36870")!;
      expect(event.severity).toBe("warn");
      expect(event.message).not.toMatch(/another TLS server/);
      const assessment = assess(
        outcome,
        await host.presented({ input: "127.0.0.1:3389", host: "127.0.0.1", port: 3389 }, { timeoutMs: 1000 }),
        DEFAULT_POLICY,
        new Date(),
      );
      expect(assessment.status).toBe("CORRUPT");
      expect(assessment.health).toBe("critical");
      expect(assessment.problems.find((p) => p.code === "key-corrupt")).toMatchObject({
        fixedByReplacement: true,
        fix: expect.stringMatching(/^rdpcert rotate/),
      });
      expect(assessment.problems.find((p) => p.code === "handshake-failed")).toMatchObject({ verdict: "CORRUPT", fixedByReplacement: true });
    });

    it("rotate: deletes the certificate and its key file, restarts SessionEnv, Windows re-issues, verified by handshake", async () => {
      host = modelHost(["key-broken"]);
      const old = host.model().SelfSignedThumbprint;
      const result = await rotate(contextFor(host), settings, { dryRun: false });
      expect([result.outcome, result.reason]).toEqual(["rotated", `the listener presents the new certificate ${host.model().SelfSignedThumbprint}`]);
      expect(result.newThumbprint).not.toBe(old);
      expect(result.steps.find((s) => s.step === "replace")?.detail).toMatch(
        /removed Cert:\\LocalMachine\\Remote Desktop\\[0-9A-F]{40}, removed C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys\\f686aace6942fb7f7ceb231212eef4a4_/,
      );
      expect(result.steps.find((s) => s.step === "restart")?.detail).toBe("restarted SessionEnv");
      expect(host.model().Presented.kind).toBe("tls");
      expect(host.model().Violations).toEqual([]);
    }, 180_000);

    it("a connection reset during the X.224 exchange does not block the repair when the host's evidence explains it; without that evidence it is DOWN and refused", async () => {
      host = modelHost(["key-broken", "wire-reset"]);
      const result = await rotate(contextFor(host), settings, { dryRun: false });
      expect(result.outcome).toBe("rotated");
      expect(result.assessment?.problems.find((p) => p.code === "negotiation-dropped")).toMatchObject({ verdict: "CORRUPT", fixedByReplacement: true });
      host.cleanup();
      host = modelHost(["wire-reset"]);
      const reset: Prober = async () =>
        presentedBy(null, { kind: "protocol-error", message: "the listener reset the connection during negotiation (after 0 bytes)" });
      const refused = await rotate(contextFor(host, reset), settings, { dryRun: false });
      expect(refused.outcome).toBe("refused");
      expect(refused.reason).toMatch(/the listener is down/);
    }, 180_000);

    it("run as SYSTEM (which may read the key): the key that will not open is corrupt by itself, without any event", async () => {
      host = modelHost(["as-system"]);
      host.edit((s) => {
        const certs = s.Certificates as { Store: string; KeyBroken: boolean }[];
        certs.find((c) => c.Store === "Remote Desktop")!.KeyBroken = true;
      });
      const outcome = await contextFor(host).backend.inspect();
      if (!outcome.ok) throw new Error(outcome.reason);
      expect(outcome.inspection.key).toMatchObject({
        state: "corrupt",
        reason: expect.stringMatching(/exists but will not open, although this account may read .*Key not valid for use in specified state/),
      });
      expect(outcome.inspection.findings.map((f) => f.code)).not.toContain("event-36870");
    });

    it("a custom certificate whose CNG key will not open: CORRUPT, and not replaced by rotate (a CA-issued certificate is never deleted)", async () => {
      host = modelHost(["key-broken-cng"]);
      const outcome = await contextFor(host).backend.inspect();
      if (!outcome.ok) throw new Error(outcome.reason);
      expect(outcome.inspection.key).toMatchObject({ state: "corrupt", replaceable: false });
      expect(outcome.inspection.key.location).toMatch(/^Cert:\\LocalMachine\\My\\/);
    });

    it("an expired certificate: rotated and verified", async () => {
      host = modelHost(["expired"]);
      const old = host.model().SelfSignedThumbprint;
      const result = await rotate(contextFor(host), settings, { dryRun: false });
      expect(result.outcome).toBe("rotated");
      expect(result.newThumbprint).not.toBe(old);
      expect(result.steps.find((s) => s.step === "verify")?.ok).toBe(true);
    }, 180_000);
  });

  it("carries non-ASCII event messages through UTF-8 both ways", async () => {
    host = modelHost(["event-non-ascii"]);
    const outcome = await contextFor(host).backend.inspect();
    if (!outcome.ok) throw new Error(outcome.reason);
    expect(outcome.inspection.findings.find((f) => f.code === "event-1058")?.message).toContain("certificat expiré — état : accès refusé");
  });

  it("rotates an expiring certificate: backup without a PFX (not exportable), remove with its key, SessionEnv only, verified and configured", async () => {
    host = modelHost(["expiring"]);
    const old = host.model().SelfSignedThumbprint;
    const result = await rotate(contextFor(host), settings, { dryRun: false });
    expect(result.reason).toMatch(/presents the new certificate/);
    expect(result.outcome).toBe("rotated");
    const m = host.model();
    expect(result.oldThumbprint).toBe(old);
    expect(result.newThumbprint).toBe(m.SelfSignedThumbprint);
    expect(result.newThumbprint).not.toBe(old);
    expect(host.runs.map((r) => r.script).filter((s) => s !== "inspect.ps1")).toEqual(["backup.ps1", "remove.ps1", "restart.ps1"]);
    expect(result.steps.find((s) => s.step === "restart")?.detail).toBe("restarted SessionEnv");
    expect(m.Services.TermService!.Status).toBe("Running");
    expect(m.Violations).toEqual([]);
    const backup = new StateDir(join(host.dir, "rdpcert-state")).loadBackup(result.backupId!)!;
    expect(backup.items.map((i) => i.role)).toEqual(["thumbprint", "certificate"]);
    expect(backup.extra).toMatchObject({ pfxUnavailable: expect.stringMatching(/not valid for use/), binding: { hashType: 1, registryHashPresent: false } });
    const password = host.runs.find((r) => r.script === "backup.ps1")!.input.password as string;
    for (const run of host.runs) expect(run.args.join(" ")).not.toContain(password);
  });

  it("when only a TermService restart issues the certificate: UmRdpService stopped first, no hang, bounded", async () => {
    host = modelHost(["expiring", "issues-on-termservice"]);
    const result = await rotate(contextFor(host), settings, { dryRun: false });
    expect(result.outcome).toBe("rotated");
    expect(result.steps.find((s) => s.step === "restart")?.detail).toBe("restarted SessionEnv, then TermService");
    expect(host.model().Services.UmRdpService!.Status).toBe("Running");
  });

  it("a dangling configured thumbprint: cleared, SessionEnv suffices, verified as a valid certificate with a clean binding", async () => {
    host = modelHost(["dangling"]);
    const before = host.model().SelfSignedThumbprint;
    const result = await rotate(contextFor(host), settings, { dryRun: false });
    expect([result.outcome, result.reason]).toEqual(["rotated", `the listener presents the new certificate ${before}`]);
    expect(result.steps.find((s) => s.step === "verify")?.detail).toMatch(/^a valid certificate presented/);
    const m = host.model();
    expect(m.Listeners["RDP-Tcp"]!.RegistryHash).toBeNull();
    expect(m.Listeners["RDP-Tcp"]!.HashType).toBe(1);
    // Windows' own certificate was valid all along: the same one, not "a different one than before".
    expect(result.newThumbprint).toBe(before);
    expect(result.steps.find((s) => s.step === "replace")?.detail).toMatch(/cleared SSLCertificateSHA1Hash/);
    expect(result.steps.find((s) => s.step === "restart")?.detail).toBe("restarted SessionEnv");
    expect(host.runs.find((r) => r.script === "restart.ps1")!.input).toMatchObject({ expectNewCertificate: false });
  });

  it("refuses to delete while the key folders' ACL keeps Windows from issuing a new certificate, and says how to fix it", async () => {
    host = modelHost(["expiring", "key-folders-broken"]);
    const old = host.model().SelfSignedThumbprint;
    const outcome = await contextFor(host).backend.inspect();
    if (!outcome.ok) throw new Error(outcome.reason);
    expect(outcome.inspection.findings.find((f) => f.code === "key-folder-acl")?.severity).toBe("critical");
    const result = await rotate(contextFor(host), { ...settings, force: true }, { dryRun: false });
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(/nothing removed \(key-folders-acl\).*S-1-1-0:\(R,W\)/);
    expect(host.model().Certificates.map((c) => c.Thumbprint)).toContain(old);
  });

  it("rolls back a non-exportable certificate as 'a valid certificate is presented and the binding is as before', not rollback-failed", async () => {
    host = modelHost(["expiring"]);
    // From the removal until the rollback starts the listener does not answer (a firewall change
    // racing the rotation): verification fails, and the old certificate cannot be re-imported (no PFX).
    let blocked = false;
    const wrapped: CommandRunner = async (file, args, options) => {
      if ((options.input ?? "").includes("remove.ps1")) blocked = true;
      if ((options.input ?? "").includes("restore.ps1")) blocked = false;
      return host.runner(file, args, options);
    };
    const slow: Prober = async (target, o) =>
      blocked ? presentedBy(null, { kind: "connect-timeout", message: "TCP connect timed out" }) : host.presented(target, o);
    const ctx = {
      ...contextFor(host, slow),
      backend: createWindowsBackend({
        runner: wrapped,
        launcher: host.launcher,
        platform: "win32",
        sessionName: "Console",
        restartWaits: { serviceSeconds: 20, certificateSeconds: 1 },
      }),
    };
    const result = await rotate(ctx, { ...settings, verifyTimeoutMs: 300 }, { dryRun: false });
    expect(result.outcome).toBe("rolled-back");
    expect(result.steps.find((s) => s.step === "verify-old")?.detail).toMatch(
      /cannot be put back.*a valid certificate is presented with the binding as before/,
    );
    const m = host.model();
    expect(m.Listeners["RDP-Tcp"]!.HashType).toBe(1);
    expect(m.Listeners["RDP-Tcp"]!.RegistryHash).toBeNull();
  });

  it("another listener (its own WinStations key and port) is listed, and inspected when named (--listener)", async () => {
    host = modelHost(["second-listener"]);
    const main = await contextFor(host).backend.inspect();
    if (!main.ok) throw new Error(main.reason);
    expect(main.inspection.findings.find((f) => f.code === "other-listener")?.message).toMatch(/^another listener: RDP-Tcp-Admin on port 3390/);
    const other = await createWindowsBackend({ runner: host.runner, launcher: host.launcher, platform: "win32", listener: "RDP-Tcp-Admin" }).inspect();
    if (!other.ok) throw new Error(other.reason);
    expect(other.inspection.listener.port).toBe(3390);
    expect(host.runs.at(-1)!.input).toEqual({ terminalName: "RDP-Tcp-Admin", eventDays: 30 });
    expect(() => createWindowsBackend({ runner: host.runner, launcher: host.launcher, listener: "RDP'; x" })).toThrow(/not a WinStations name/);
  });

  it("a Group Policy template binding (type 2): status says AD CS manages it, and rotate leaves it alone even with --force", async () => {
    host = modelHost(["group-policy-template"]);
    const installed = (): string[] => host.model().Certificates.map((c) => `${c.Store}\\${c.Thumbprint}`);
    const before = installed();
    const outcome = await contextFor(host).backend.inspect();
    if (!outcome.ok) throw new Error(outcome.reason);
    expect(outcome.inspection.findings.find((f) => f.code === "binding-group-policy")?.message).toMatch(/Group Policy template .*leave it alone/);
    const result = await rotate(contextFor(host), { ...settings, force: true }, { dryRun: false });
    // Refused up front: nothing backed up, removed or restarted, and no advice to pass --force.
    expect(result.outcome).toBe("refused");
    expect(result.reason).toMatch(/Group Policy template .*nor restarts SessionEnv/);
    expect(result.fix).toMatch(/certutil -pulse/);
    expect(result.fix).not.toMatch(/--force/);
    expect(host.runs.map((r) => r.script).filter((s) => s !== "inspect.ps1")).toEqual([]);
    const unforced = await rotate(contextFor(host), settings, { dryRun: false });
    expect([unforced.outcome, unforced.fix]).toEqual(["refused", result.fix]);
    expect(installed()).toEqual(before);
    expect(host.model().Services.SessionEnv!.Status).toBe("Running");
    expect(host.model().Listeners["RDP-Tcp"]!.HashType).toBe(2);
  });

  it("a TermService stuck in StopPending: the restart step fails with the fix, through the bootstrap, instead of waiting for ever", async () => {
    host = modelHost(["expiring", "termservice-hangs"]);
    const result = await rotate(contextFor(host), settings, { dryRun: false });
    expect(result.outcome).not.toBe("rotated");
    expect(result.steps.find((s) => s.step === "restart")?.detail).toMatch(
      /^restarted SessionEnv; TermService did not stop within 20 s \(stuck in StopPending\): end its process/,
    );
    expect(host.model().Violations).toEqual([]);
  });

  describe("deploy (issue 13)", () => {
    const pair = caIssued(-1, 90, "rdp.example.test");
    const der = Buffer.from(new X509Certificate(pair.certPem).raw);
    const certificate: SuppliedCertificate = {
      origin: "--pfx rdp.pfx",
      chain: [der],
      keyPem: pair.keyPem,
      thumbprint: new X509Certificate(pair.certPem).fingerprint.replace(/:/g, ""),
      names: ["DNS:rdp.example.test"],
      notAfter: new Date(new X509Certificate(pair.certPem).validTo),
    };
    const scripts = () => host.runs.map((r) => r.script).filter((s) => s !== "inspect.ps1");

    it.each([
      ["a CAPI key (MachineKeys)", [] as string[], "CAPI"],
      ["a CNG key (Crypto\\Keys)", ["pfx-cng"], "CNG"],
    ])(
      "deploys a PFX built in Node with %s: imported into My, NETWORK SERVICE on that key, bound through CIM, no restart, verified",
      async (_name, scenarios, provider) => {
        host = modelHost(scenarios);
        const before = host.model();
        const result = await deploy(contextFor(host), settings, certificate, { dryRun: false, removeOld: false });
        expect([result.outcome, result.reason]).toEqual(["deployed", `the listener presents ${certificate.thumbprint} from --pfx rdp.pfx`]);
        const m = host.model();
        const mine = m.Certificates.find((c) => c.Thumbprint === certificate.thumbprint)!;
        expect([mine.Store, mine.HasPrivateKey, mine.KeyProvider]).toEqual(["My", true, provider]);
        expect(mine.KeyAcl).toContain("S-1-5-20:R");
        expect(m.Listeners["RDP-Tcp"]).toMatchObject({ HashType: 3, RegistryHash: certificate.thumbprint });
        expect(scripts()).toEqual(["backup.ps1", "deploy.ps1", "events.ps1"]);
        expect(m.Services).toEqual(before.Services);
        // Windows' own certificate stays (no --remove-old).
        expect(m.Certificates.some((c) => c.Thumbprint === before.SelfSignedThumbprint)).toBe(true);
        const sent = host.runs.find((r) => r.script === "deploy.ps1")!;
        expect(sent.input.password).toEqual(expect.any(String));
        for (const run of host.runs) expect(run.args.join(" ")).not.toContain(sent.input.password as string);
        expect(m.Violations).toEqual([]);
      },
    );

    it("a fallback event after the handshake rolls back: the default binding exactly (no registry value, type 1), the imported certificate removed", async () => {
      host = modelHost();
      const wrapped: CommandRunner = async (file, args, options) => {
        const answer = await host.runner(file, args, options);
        if ((options.input ?? "").includes("deploy.ps1")) {
          host.edit((s) => {
            (s.Events as unknown[]).push({
              LogName: "System",
              ProviderName: "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
              Id: 1059,
              TimeCreated: new Date().toISOString(),
              Message: "fell back to the self-signed certificate",
              Data: [],
            });
          });
        }
        return answer;
      };
      const ctx = {
        ...contextFor(host),
        backend: createWindowsBackend({
          runner: wrapped,
          launcher: host.launcher,
          platform: "win32",
          sessionName: "Console",
          restartWaits: { serviceSeconds: 20, certificateSeconds: 1 },
        }),
      };
      const result = await deploy(ctx, settings, certificate, { dryRun: false, removeOld: false });
      expect(result.outcome).toBe("rolled-back");
      expect(result.reason).toMatch(/fell back from the configured certificate.*event 1059/);
      const m = host.model();
      expect(m.Listeners["RDP-Tcp"]).toMatchObject({ HashType: 1, RegistryHash: null });
      expect(m.Certificates.some((c) => c.Thumbprint === certificate.thumbprint)).toBe(false);
      expect(host.runs.find((r) => r.script === "restore.ps1")!.input).toMatchObject({ removeDeployed: certificate.thumbprint });
      expect(m.Violations).toEqual([]);
    });

    it("rolls a custom binding back to its exact registry value (type 3) when the listener does not present the new certificate", async () => {
      host = modelHost(["custom-binding"]);
      const old = host.model().Listeners["RDP-Tcp"]!.RegistryHash!;
      // The listener keeps presenting the old certificate (a stale connection cache, a proxy in front).
      const stale: Prober = async (target, o) =>
        host.model().Listeners["RDP-Tcp"]!.RegistryHash === certificate.thumbprint
          ? presentedBy(null, { kind: "connect-timeout", message: "TCP connect timed out" })
          : host.presented(target, o);
      const result = await deploy(contextFor(host, stale), { ...settings, verifyTimeoutMs: 300 }, certificate, { dryRun: false, removeOld: false });
      expect(result.outcome).toBe("rolled-back");
      const m = host.model();
      expect(m.Listeners["RDP-Tcp"]).toMatchObject({ HashType: 3, RegistryHash: old });
      expect(m.Certificates.some((c) => c.Thumbprint === certificate.thumbprint)).toBe(false);
      expect(m.Certificates.some((c) => c.Thumbprint === old && c.Store === "My")).toBe(true);
    });

    it("a deploy rolled back on an expired self-signed host: the rollback's SessionEnv restart lets Windows renew, which is reported as such, never as ROLLBACK FAILED (issue 20)", async () => {
      host = modelHost(["expired"]);
      const old = host.model().SelfSignedThumbprint;
      const stale: Prober = async (target, o) =>
        host.model().Listeners["RDP-Tcp"]!.RegistryHash === certificate.thumbprint
          ? presentedBy(null, { kind: "connect-timeout", message: "TCP connect timed out" })
          : host.presented(target, o);
      const result = await deploy(contextFor(host, stale), { ...settings, verifyTimeoutMs: 300 }, certificate, { dryRun: false, removeOld: false });
      expect(result.outcome).toBe("rolled-back");
      const m = host.model();
      expect(m.SelfSignedThumbprint).not.toBe(old);
      expect(result.steps.find((s) => s.step === "verify-old")?.detail).toBe(
        `Windows issued a certificate of its own on the restart (it renews an expired one): ${m.SelfSignedThumbprint} is presented, valid, with the binding as before`,
      );
      expect(m.Listeners["RDP-Tcp"]).toMatchObject({ HashType: 1, RegistryHash: null });
    }, 180_000);

    it("--remove-old after verification removes the previous certificate from My with its key, and never the new one", async () => {
      host = modelHost(["custom-binding"]);
      const old = host.model().Listeners["RDP-Tcp"]!.RegistryHash!;
      const result = await deploy(contextFor(host), settings, certificate, { dryRun: false, removeOld: true });
      expect(result.outcome).toBe("deployed");
      expect(scripts()).toEqual(["backup.ps1", "deploy.ps1", "events.ps1", "remove-old.ps1"]);
      const m = host.model();
      expect(m.Certificates.some((c) => c.Thumbprint === old)).toBe(false);
      expect(m.Certificates.find((c) => c.Thumbprint === certificate.thumbprint)?.Store).toBe("My");
      expect(m.Violations).toEqual([]);
    });

    it("--thumbprint: candidates lists the certificate in My, and deploying it grants NETWORK SERVICE and binds it, with no PFX", async () => {
      host = modelHost(["my-candidate"]);
      const backend = contextFor(host).backend;
      const found = await backend.rotation!.candidates!();
      if (!found.ok) throw new Error(found.reason);
      expect(found.value).toHaveLength(1);
      const candidate = found.value[0]!;
      expect([candidate.keyPem, candidate.names, candidate.origin]).toEqual([null, [], `LocalMachine\\My\\${candidate.thumbprint}`]);
      const result = await deploy(contextFor(host), settings, candidate, { dryRun: false, removeOld: false });
      expect(result.outcome).toBe("deployed");
      expect(host.runs.find((r) => r.script === "deploy.ps1")!.input).toMatchObject({ pfx: null, password: null });
      const m = host.model();
      expect(m.Certificates.find((c) => c.Thumbprint === candidate.thumbprint)!.KeyAcl).toContain("S-1-5-20:R");
      expect(m.Listeners["RDP-Tcp"]!.RegistryHash).toBe(candidate.thumbprint);
    });

    it("--thumbprint of a certificate not in My: deploy.ps1 refuses, nothing is bound, and the rollback restarts nothing", async () => {
      host = modelHost();
      const result = await deploy(contextFor(host), settings, { ...certificate, keyPem: null }, { dryRun: false, removeOld: false });
      expect(result.outcome).toBe("rolled-back");
      expect(result.reason).toMatch(/not bound \(not-in-my\)/);
      expect(scripts()).toEqual(["backup.ps1", "deploy.ps1", "restore.ps1"]);
      expect(host.model().Listeners["RDP-Tcp"]).toMatchObject({ HashType: 1, RegistryHash: null });
    });

    // docs/commands/deploy.md's Windows recipes through the application layer (app/deploy.ts), as the CLI runs them.
    const checked = (material: Parameters<typeof checkMaterial>[0]) => {
      const outcome = checkMaterial(material, { now: new Date(), hostNames: ["rdp.example.test"], requireCompleteChain: false, roots: [] });
      if (!outcome.ok) throw new Error(outcome.reason);
      return outcome;
    };

    it("recipe: win-acme's {CertThumbprint} (and AD CS after certreq -accept): deploy --thumbprint finds the certificate in My, checks it, binds it", async () => {
      host = modelHost(["my-candidate"]);
      const ctx = contextFor(host);
      const session = { ok: true, config: defaultConfig(), ctx, settings } as Extract<Session, { ok: true }>;
      const listed = await ctx.backend.rotation!.candidates!();
      if (!listed.ok) throw new Error(listed.reason);
      const thumbprint = listed.value[0]!.thumbprint;
      const material = await materialFor({ kind: "thumbprint", thumbprint: thumbprint.toLowerCase() }, session);
      expect([material.origin, material.keyPem]).toEqual([`LocalMachine\\My\\${thumbprint}`, null]);
      const result = await deploy(ctx, settings, checked(material).certificate, { dryRun: false, removeOld: false });
      expect([result.outcome, host.model().Listeners["RDP-Tcp"]!.RegistryHash]).toEqual(["deployed", thumbprint]);
      await expect(materialFor({ kind: "thumbprint", thumbprint: "00".repeat(20) }, session)).rejects.toThrow(
        "no certificate 0000000000000000000000000000000000000000 with a private key is in LocalMachine\\My",
      );
    });

    it("recipe: Posh-ACME's PFX with its password piped in: read with node-forge, checked, imported and bound (the password never on a command line)", async () => {
      host = modelHost();
      const ca = makeTestCa(join(host.dir, "ca"));
      const leaf = ca.issue("rdp.example.test");
      const pfxPath = join(host.dir, "fullchain.pfx");
      execFileSync("openssl", ["pkcs12", "-export", "-in", leaf.fullchainPath, "-inkey", leaf.keyPath, "-out", pfxPath, "-passout", "pass:poshacme"]);
      const material = readPfx(readFileSync(pfxPath), "poshacme", `--pfx ${pfxPath}`);
      const result = await deploy(contextFor(host), settings, checked(material).certificate, { dryRun: false, removeOld: false });
      const thumbprint = new X509Certificate(leaf.certPem).fingerprint.replace(/:/g, "");
      expect([result.outcome, host.model().Listeners["RDP-Tcp"]!.RegistryHash]).toEqual(["deployed", thumbprint]);
      for (const run of host.runs) expect(run.args.join(" ")).not.toContain("poshacme");
    });

    it("refuses a Group Policy template binding before changing anything", async () => {
      host = modelHost(["group-policy-template"]);
      const result = await deploy(contextFor(host), settings, certificate, { dryRun: false, removeOld: false });
      expect(result.outcome).toBe("refused");
      expect(result.reason).toMatch(/Group Policy certificate template/);
      expect(scripts()).toEqual([]);
      expect(host.model().Listeners["RDP-Tcp"]!.HashType).toBe(2);
    });
  });
});
