import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_POLICY } from "../../../../src/core/policy";
import type { CommandOptions, CommandResult, CommandRunner } from "../../../../src/hosts/command-runner";
import { StateDir } from "../../../../src/hosts/local/state-dir";
import { createWindowsBackend } from "../../../../src/hosts/windows/windows-backend";
import { HANDOFF_TASK, handOffToSystemTask, insideRdpSession } from "../../../../src/hosts/windows/windows-rotation";
import type { Prober } from "../../../../src/probe/prober";
import { type RotationSettings, rotate } from "../../../../src/rotation/rotate";
import { certValid } from "../../../helpers/certs";
import { presentedBy } from "../../../helpers/fakes";

/**
 * A Windows host simulated at the PowerShell boundary: each script's answer is
 * what the real script prints for the host's state, and the state changes as
 * the real host's would (remove deletes, a restart makes Windows issue a new
 * self-signed certificate, restore re-imports the PFX). The rotation state
 * machine runs for real on top, with a real state dir.
 */
const thumb = (pem: string): string => new X509Certificate(pem).fingerprint.replace(/:/g, "");
const b64 = (pem: string): string => Buffer.from(new X509Certificate(pem).raw).toString("base64");
const SCRIPTS = join(__dirname, "..", "..", "..", "..", "src", "hosts", "windows", "scripts");

interface Call {
  script: string;
  args: readonly string[];
  params: Record<string, unknown>;
}

function simulatedWindows(options: { restartFails?: boolean; newCertValid?: boolean } = {}) {
  const oldPem = certValid(-170, 10, "WIN-RDP01").certPem;
  const store = new Map<string, string>([[thumb(oldPem), oldPem]]);
  let configured = thumb(oldPem);
  const calls: Call[] = [];
  const reply = (stdout: string): Partial<CommandResult> => ({ stdout: `${stdout}\r\n` });
  const runner: CommandRunner = async (file: string, args: readonly string[], o: CommandOptions) => {
    expect(file).toBe("powershell.exe");
    const script = args.at(-1)!.split(/[\\/]/).pop()!;
    expect(args).toEqual(["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", join(SCRIPTS, script)]);
    const params = JSON.parse(o.input ?? "{}") as Record<string, unknown>;
    calls.push({ script, args, params });
    let out: Partial<CommandResult>;
    switch (script) {
      case "inspect.ps1": {
        const pem = store.get(configured);
        const cert = pem ? `{"store":"Remote Desktop","thumbprint":"${configured}","rawData":"${b64(pem)}","hasPrivateKey":true,"privateKeyOpens":true,"privateKeyError":null}` : "null";
        out = reply(`{"schema":1,"tsSetting":{"terminalName":"RDP-Tcp","sslCertificateSha1Hash":"${configured}","securityLayer":1,"userAuthenticationRequired":1},"portNumber":3389,"certificate":${cert},"services":[{"name":"TermService","status":"Running","startType":"Manual"}],"events":[]}`);
        break;
      }
      case "backup.ps1":
        out = reply(`{"rawData":"${b64(store.get(params.thumbprint as string)!)}","pfx":"UEZYLWJ5dGVz","exportable":true,"exportError":null,"configuredThumbprint":"${configured}"}`);
        break;
      case "remove.ps1":
        store.delete(params.thumbprint as string);
        out = reply(`{"removed":"Cert:\\\\LocalMachine\\\\Remote Desktop\\\\${params.thumbprint as string}","clearedConfigured":false}`);
        break;
      case "restart.ps1":
        if (options.restartFails) {
          out = { exitCode: 1, stderr: "Restart-Service : Service 'Remote Desktop Configuration (SessionEnv)' cannot be stopped due to the following error: Cannot open SessionEnv service on computer '.'.\r\nAt line:1 char:1\r\n" };
        } else {
          if (!store.has(configured)) {
            const fresh = certValid(options.newCertValid === false ? -200 : 0, options.newCertValid === false ? -1 : 180, "WIN-RDP01").certPem;
            store.set(thumb(fresh), fresh);
            configured = thumb(fresh);
          }
          out = reply(`{"restarted":"SessionEnv","thumbprint":"${configured}"}`);
        }
        break;
      case "restore.ps1":
        store.set(params.thumbprint as string, oldPem);
        configured = params.configuredThumbprint as string;
        out = reply('{"imported":true,"configured":"' + configured + '"}');
        break;
      default:
        throw new Error(`unexpected script ${script}`);
    }
    return { exitCode: 0, stdout: "", stderr: "", timedOut: false, spawnError: null, ...out };
  };
  const prober: Prober = async () => presentedBy(store.get(configured) ?? null);
  return { runner, prober, calls, oldPem, configured: () => configured };
}

const settings: RotationSettings = {
  spec: { keyBits: 2048, validityDays: 180, names: ["win-rdp01"] },
  restart: { enabled: true, command: null, timeoutMs: 60_000 },
  verifyTimeoutMs: 2000,
  probeTimeoutMs: 1000,
  policy: DEFAULT_POLICY,
  keepBackups: 5,
  force: false,
  reason: null,
};

describe("Windows rotation through the PowerShell boundary", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "rdpcert-win-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const ctxFor = (sim: ReturnType<typeof simulatedWindows>, sessionName: string | null = "Console") => ({
    backend: createWindowsBackend({ runner: sim.runner, platform: "win32", sessionName }),
    store: new StateDir(join(dir, "state")),
    prober: sim.prober,
    now: () => new Date(),
    sleep: async () => undefined,
    fault: () => undefined,
    log: () => undefined,
  });

  it("backs up (PFX password on stdin only), removes the stale certificate, restarts SessionEnv, verifies the new one", async () => {
    const sim = simulatedWindows();
    const result = await rotate(ctxFor(sim), settings, { dryRun: false });
    expect(result.outcome).toBe("rotated");
    expect(result.oldThumbprint).toBe(thumb(sim.oldPem));
    expect(result.newThumbprint).toBe(sim.configured());
    expect(result.newThumbprint).not.toBe(result.oldThumbprint);
    expect(sim.calls.map((c) => c.script)).toEqual(["inspect.ps1", "backup.ps1", "remove.ps1", "restart.ps1", "inspect.ps1"]);
    const backup = sim.calls.find((c) => c.script === "backup.ps1")!;
    expect(backup.params).toEqual({ thumbprint: thumb(sim.oldPem), store: "Remote Desktop", password: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) });
    for (const call of sim.calls) expect(call.args.join(" ")).not.toContain(backup.params.password as string);
    expect(sim.calls.find((c) => c.script === "remove.ps1")!.params).toEqual({ thumbprint: thumb(sim.oldPem), store: "Remote Desktop", clearConfigured: false });
    expect(sim.calls.find((c) => c.script === "restart.ps1")!.params).toEqual({ oldThumbprint: thumb(sim.oldPem), waitSeconds: 30 });
    const saved = new StateDir(join(dir, "state")).loadBackup(result.backupId!)!;
    expect(saved.items.map((i) => i.role)).toEqual(["thumbprint", "certificate", "pfx"]);
    expect(saved.extra).toMatchObject({ pfxPassword: backup.params.password, store: "Remote Desktop" });
  });

  it("rolls back when SessionEnv cannot be restarted: re-imports the PFX with its password and sets the thumbprint again", async () => {
    const sim = simulatedWindows({ restartFails: true });
    const result = await rotate(ctxFor(sim), settings, { dryRun: false });
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toBe("restart.ps1 failed (exit 1): Restart-Service : Service 'Remote Desktop Configuration (SessionEnv)' cannot be stopped due to the following error: Cannot open SessionEnv service on computer '.'.");
    const password = sim.calls.find((c) => c.script === "backup.ps1")!.params.password;
    expect(sim.calls.find((c) => c.script === "restore.ps1")!.params).toEqual({
      store: "Remote Desktop",
      pfx: Buffer.from("PFX-bytes").toString("base64"),
      password,
      thumbprint: thumb(sim.oldPem),
      configuredThumbprint: thumb(sim.oldPem),
      importCertificate: true,
    });
    expect(sim.configured()).toBe(thumb(sim.oldPem));
  });

  it("rolls back when Windows issues a certificate that is not currently valid", async () => {
    const sim = simulatedWindows({ newCertValid: false });
    const result = await rotate(ctxFor(sim), settings, { dryRun: false });
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(/^verification failed: the new certificate is not currently valid/);
  });

  it("inside an RDP session it refuses to act in-process (the CLI hands off to a SYSTEM task)", async () => {
    const sim = simulatedWindows();
    const result = await rotate(ctxFor(sim, "RDP-Tcp#3"), settings, { dryRun: false });
    expect(result.outcome).toBe("refused");
    expect(result.reason).toMatch(/SESSIONNAME=RDP-Tcp#3/);
    expect(sim.calls.map((c) => c.script)).toEqual(["inspect.ps1"]);
    expect(insideRdpSession("RDP-Tcp#12")).toBe(true);
    expect(insideRdpSession("Console")).toBe(false);
    expect(insideRdpSession(null)).toBe(false);
    const inSession = createWindowsBackend({ runner: sim.runner, platform: "win32", sessionName: "RDP-Tcp#3", inSession: true });
    expect(inSession.rotation!.mustHandOff!()).toBeNull();
  });

  it("hands off to a one-off SYSTEM task with handoff.ps1: the command as data on stdin", async () => {
    const calls: { file: string; args: readonly string[]; input?: string }[] = [];
    const runner: CommandRunner = async (file, args, o) => {
      calls.push({ file, args, input: o.input });
      return { exitCode: 0, stdout: '{"taskName":"rdpcert-rotate-once","started":"2026-11-24T05:00:00Z"}', stderr: "", timedOut: false, spawnError: null };
    };
    const result = await handOffToSystemTask(runner, "C:\\Program Files\\nodejs\\node.exe", '"C:\\Program Files\\rdpcert\\main.js" rotate --yes --in-session');
    expect(result).toEqual({ ok: true, value: { task: HANDOFF_TASK } });
    expect(calls).toEqual([
      {
        file: "powershell.exe",
        args: ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", join(SCRIPTS, "handoff.ps1")],
        input: JSON.stringify({ taskName: "rdpcert-rotate-once", execute: "C:\\Program Files\\nodejs\\node.exe", arguments: '"C:\\Program Files\\rdpcert\\main.js" rotate --yes --in-session' }),
      },
    ]);
  });

  it("a configured thumbprint naming a missing certificate: cleared, and on rollback set again without importing anything", async () => {
    const calls: { script: string; params: Record<string, unknown> }[] = [];
    const dangling = "AB".repeat(20);
    const runner: CommandRunner = async (_file, args, o) => {
      const script = args.at(-1)!.split(/[\\/]/).pop()!;
      const params = JSON.parse(o.input ?? "{}") as Record<string, unknown>;
      calls.push({ script, params });
      const stdout =
        script === "inspect.ps1"
          ? `{"schema":1,"tsSetting":{"sslCertificateSha1Hash":"${dangling}","securityLayer":1,"userAuthenticationRequired":1},"portNumber":3389,"certificate":null,"services":[],"events":[]}`
          : script === "remove.ps1"
            ? '{"removed":[],"clearedConfigured":true}'
            : "{}";
      return { exitCode: script === "restart.ps1" ? 1 : 0, stdout, stderr: script === "restart.ps1" ? "Restart-Service : boom\r\n" : "", timedOut: false, spawnError: null };
    };
    const fallback = certValid(-1, 179, "WIN-FALLBACK").certPem;
    const ctx = { ...ctxFor(simulatedWindows()), backend: createWindowsBackend({ runner, platform: "win32", sessionName: "Console" }), prober: (async () => presentedBy(fallback)) as Prober };
    const result = await rotate(ctx, settings, { dryRun: false });
    expect(result.outcome).toBe("rolled-back");
    expect(calls.find((c) => c.script === "remove.ps1")!.params).toEqual({ thumbprint: null, store: null, clearConfigured: true });
    expect(calls.find((c) => c.script === "restore.ps1")!.params).toMatchObject({ configuredThumbprint: dangling, importCertificate: false });
  });

  it("never removes a certificate outside Remote Desktop", async () => {
    const sim = simulatedWindows();
    const backend = createWindowsBackend({ runner: sim.runner, platform: "win32", sessionName: "Console" });
    const outcome = await backend.inspect();
    if (!outcome.ok) throw new Error(outcome.reason);
    const inMy = { ...outcome.inspection, certificate: { ...outcome.inspection.certificate, location: `Cert:\\LocalMachine\\My\\${thumb(sim.oldPem)}` } };
    expect(await backend.rotation!.replace(inMy, settings.spec, new Date())).toEqual({ ok: false, reason: expect.stringContaining("is not in Remote Desktop") });
    expect(sim.calls.map((c) => c.script)).toEqual(["inspect.ps1"]);
  });
});
