import { X509Certificate } from "node:crypto";
import type { CommandResult, CommandRunner } from "../../../../src/hosts/command-runner";
import type { HostInspection } from "../../../../src/hosts/host-backend";
import { JSON_MARKER, encodedBootstrap } from "../../../../src/hosts/windows/powershell";
import { createWindowsBackend } from "../../../../src/hosts/windows/windows-backend";
import { handOffArguments, handOffCommand } from "../../../../src/app/hand-off";
import { HANDOFF_TASK, createWindowsRotation, handOffToSystemTask, insideRdpSession } from "../../../../src/hosts/windows/windows-rotation";
import { certValid } from "../../../helpers/certs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_POLICY } from "../../../../src/core/policy";
import { StateDir } from "../../../../src/hosts/local/state-dir";
import { decideRotation } from "../../../../src/rotation/rotate";
import { presentedBy } from "../../../helpers/fakes";
import { inspectDoc } from "./inspect-output";
import { rdpcert } from "../../../helpers/cli";

/**
 * The Windows rotation steps at the PowerShell boundary: what each step sends
 * and how it reads each answer. The steps driving the real scripts against
 * the Windows model are in through-pwsh.test.ts.
 */
const POWERSHELL_EXE = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
const pem = certValid(-170, 10, "WIN-RDP01").certPem;
const thumb = new X509Certificate(pem).fingerprint.replace(/:/g, "");

function answering(answers: Record<string, Partial<CommandResult>>) {
  const calls: { script: string; input: Record<string, unknown>; file: string; args: readonly string[]; timeoutMs: number }[] = [];
  const runner: CommandRunner = async (file, args, options) => {
    const envelope = JSON.parse(options.input ?? "{}") as { script: string; input: Record<string, unknown> };
    const script = envelope.script.split(/[\\/]/).pop()!;
    calls.push({ script, input: envelope.input, file, args, timeoutMs: options.timeoutMs });
    const answer = { exitCode: 0, stdout: "{}", stderr: "", timedOut: false, spawnError: null, ...answers[script] };
    return { ...answer, stdout: `WARNING: noise\r\n${JSON_MARKER}\r\n${answer.stdout}` };
  };
  return { runner, calls };
}

const inspection = (location = `Cert:\\LocalMachine\\Remote Desktop\\${thumb}`): HostInspection => ({
  backend: "windows",
  source: "WMI",
  listener: { address: null, port: 3389, securityLayer: "negotiate", nla: true },
  certificate: { state: "present", der: Buffer.from(new X509Certificate(pem).raw), location },
  key: { state: "ok", location, reason: null },
  issuance: "self-signed",
  configuredThumbprint: thumb,
  findings: [],
});

const restart = { enabled: true, command: null, timeoutMs: 1000 };

describe("Windows rotation steps", () => {
  it("an RDP session's SESSIONNAME is RDP-Tcp#N: the rotation must hand off, unless --in-session", () => {
    expect(insideRdpSession("RDP-Tcp#12")).toBe(true);
    expect(insideRdpSession("Console")).toBe(false);
    expect(insideRdpSession(null)).toBe(false);
    const { runner } = answering({});
    expect(createWindowsBackend({ runner, platform: "win32", sessionName: "RDP-Tcp#3" }).rotation!.mustHandOff!()).toMatch(/SESSIONNAME=RDP-Tcp#3/);
    expect(createWindowsBackend({ runner, platform: "win32", sessionName: "RDP-Tcp#3", inSession: true }).rotation!.mustHandOff!()).toBeNull();
    // A deploy binds through CIM and restarts no service that carries the session: it runs in place.
    expect(
      createWindowsBackend({ runner, platform: "win32", sessionName: "RDP-Tcp#3" }).rotation!.mustHandOff!({
        kind: "supplied",
        certificate: { origin: "x", chain: [], keyPem: null, thumbprint: "A".repeat(40), names: [], notAfter: new Date() },
        removeOld: false,
      }),
    ).toBeNull();
  });

  it("inside an RDP session (a deploy and its rollback run there) restart.ps1 may not escalate to TermService; outside, or handed off (--in-session), it may (issue 20)", async () => {
    for (const [sessionName, inSession, allowed] of [
      ["rdp-tcp#3", false, false],
      ["RDP-Tcp-Admin#1", false, false],
      ["Console", false, true],
      ["RDP-Tcp#3", true, true],
    ] as const) {
      const { runner, calls } = answering({
        "restart.ps1": {
          stdout:
            '{"restarted":["SessionEnv"],"thumbprint":null,"failureEvents":[],"stuck":null,"fix":"TermService was not restarted: this runs inside an RDP session"}',
        },
      });
      const steps = createWindowsRotation({ runner, timeoutMs: 5000, sessionName, inSession });
      const restarted = await steps.restart(restart, null);
      expect(calls[0]!.input).toMatchObject({ allowTermService: allowed });
      expect(restarted).toEqual({ ok: false, reason: expect.stringMatching(/TermService was not restarted: this runs inside an RDP session/) });
    }
  });

  it("inside a session the rotation is refused for the hand-off with its plan, so that an interactive rotate shows the plan before handing off (issue 20)", async () => {
    const expiring = certValid(-170, 10, "WIN-RDP01").certPem;
    const { runner } = answering({ "inspect.ps1": { stdout: JSON.stringify(inspectDoc({ pem: expiring })) } });
    const dir = mkdtempSync(join(tmpdir(), "rdpcert-handoff-plan-"));
    try {
      const ctx = {
        backend: createWindowsBackend({ runner, platform: "win32", sessionName: "rdp-tcp#3" }),
        store: new StateDir(dir),
        prober: async () => presentedBy(expiring),
        now: () => new Date(),
        sleep: async () => undefined,
        fault: () => undefined,
        log: () => undefined,
      };
      const decision = await decideRotation(ctx, {
        spec: { keyBits: 2048, validityDays: 180, names: [] },
        restart,
        verifyTimeoutMs: 1000,
        probeTimeoutMs: 1000,
        policy: DEFAULT_POLICY,
        keepBackups: 5,
        force: false,
        reason: null,
      });
      expect(decision.kind).toBe("refused");
      expect(decision.reason).toMatch(/SESSIONNAME=rdp-tcp#3/);
      expect(decision.plan.join("\n")).toMatch(/remove .*Remote Desktop/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("backs up with the PFX password only on stdin, and keeps the binding as it was", async () => {
    const { runner, calls } = answering({
      "backup.ps1": {
        stdout: '{"rawData":"AAEC","pfx":"UEZY","exportable":true,"exportError":null,"binding":{"hashType":3,"registryHashPresent":true,"registryHash":"AB"}}',
      },
    });
    const steps = createWindowsRotation({ runner, timeoutMs: 5000, sessionName: "Console", inSession: false });
    const backup = await steps.collectBackup(inspection());
    if (!backup.ok) throw new Error(backup.reason);
    const password = calls[0]!.input.password as string;
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(calls[0]!.args.join(" ")).not.toContain(password);
    expect(calls[0]!.file).toBe(POWERSHELL_EXE);
    expect(calls[0]!.args).toEqual(["-NoProfile", "-NonInteractive", "-NoLogo", "-ExecutionPolicy", "Bypass", "-EncodedCommand", encodedBootstrap()]);
    expect(backup.value.items.map((i) => i.role)).toEqual(["thumbprint", "certificate", "pfx"]);
    expect(backup.value.extra).toMatchObject({ pfxPassword: password, binding: { hashType: 3, registryHashPresent: true } });
  });

  it("never removes a certificate outside Remote Desktop, and reports a refusal by remove.ps1 with its fix", async () => {
    const { runner, calls } = answering({
      "remove.ps1": { stdout: '{"removed":[],"clearedConfigured":false,"refused":"key-folders-acl","fix":"give SYSTEM Full Control"}' },
    });
    const steps = createWindowsRotation({ runner, timeoutMs: 5000, sessionName: "Console", inSession: false });
    expect(
      await steps.replace(
        inspection(`Cert:\\LocalMachine\\My\\${thumb}`),
        { kind: "self-signed", spec: { keyBits: 2048, validityDays: 180, names: [] } },
        new Date(),
      ),
    ).toEqual({ ok: false, reason: expect.stringContaining("is not in Remote Desktop") });
    expect(calls).toEqual([]);
    expect(await steps.replace(inspection(), { kind: "self-signed", spec: { keyBits: 2048, validityDays: 180, names: [] } }, new Date())).toEqual({
      ok: false,
      reason: "nothing removed (key-folders-acl): give SYSTEM Full Control",
    });
  });

  it("restart: bounded waits, a Node timeout above the script's worst case, stuck services and 1057/1058 are failures with their text", async () => {
    const { runner, calls } = answering({
      "restart.ps1": {
        stdout:
          '{"restarted":["SessionEnv","TermService"],"thumbprint":null,"failureEvents":[],"stuck":"TermService","fix":"TermService did not stop within 20 s (stuck in StopPending): end its process"}',
      },
    });
    const steps = createWindowsRotation({ runner, timeoutMs: 5000, sessionName: "Console", inSession: false });
    expect(await steps.restart(restart, thumb)).toEqual({
      ok: false,
      reason: "restarted SessionEnv, then TermService; TermService did not stop within 20 s (stuck in StopPending): end its process",
    });
    expect(calls[0]!.input).toEqual({
      oldThumbprint: thumb,
      terminalName: "RDP-Tcp",
      expectNewCertificate: true,
      serviceWaitSeconds: 20,
      certificateWaitSeconds: 15,
      allowTermService: true,
    });
    expect(calls[0]!.timeoutMs).toBe((5 * 20 + 2 * 15 + 30) * 1000);
    const failed = answering({
      "restart.ps1": {
        stdout:
          '{"restarted":"SessionEnv","thumbprint":null,"failureEvents":{"id":1057,"message":"failed to create a new self signed certificate"},"stuck":null}',
      },
    });
    expect(await createWindowsRotation({ runner: failed.runner, timeoutMs: 5000, sessionName: null, inSession: false }).restart(restart, thumb)).toEqual({
      ok: false,
      reason: expect.stringMatching(
        /^restarted SessionEnv; Windows could not issue a certificate \(event 1057: failed to create a new self signed certificate\)/,
      ),
    });
  });

  it("restore: a backup without a PFX says the old certificate cannot come back (rollback is judged on the wire)", async () => {
    const { runner, calls } = answering({
      "restore.ps1": {
        stdout:
          '{"imported":false,"certificateRestored":false,"certificateError":"the backup holds no PFX (the private key was not exportable)","binding":{"hashType":1},"bindingWritten":false}',
      },
    });
    const steps = createWindowsRotation({ runner, timeoutMs: 5000, sessionName: null, inSession: false });
    const binding = { terminalName: "RDP-Tcp", hashType: 1, registryHashPresent: false, registryHash: null };
    const restored = await steps.restore({ backend: "windows", thumbprint: thumb, items: [], extra: { store: "Remote Desktop", thumbprint: thumb, binding } });
    expect(restored).toEqual({
      ok: true,
      value: {
        restored: ["the binding (no SSLCertificateSHA1Hash: Windows' own certificate)"],
        oldCertificateGone: `${thumb} cannot be put back: the backup holds no PFX (the private key was not exportable)`,
        renewableByHost: expect.stringMatching(/^Windows issued a certificate of its own/),
      },
    });
    expect(calls[0]!.input).toEqual({ store: "Remote Desktop", pfx: null, password: null, thumbprint: thumb, binding });
    // The old certificate cannot come back: the rollback restarts, so that Windows issues one (and is judged on the wire).
    await steps.restart(restart, null);
    expect(calls.map((c) => c.script)).toEqual(["restore.ps1", "restart.ps1"]);
  });

  it("hands off to a one-off SYSTEM task with handoff.ps1: the command as data on stdin", async () => {
    const { runner, calls } = answering({ "handoff.ps1": { stdout: '{"taskName":"rdpcert-rotate-once","started":"2026-11-24T05:00:00Z"}' } });
    const result = await handOffToSystemTask(runner, "C:\\Program Files\\nodejs\\node.exe", '"C:\\Program Files\\rdpcert\\main.js" rotate --yes --in-session');
    expect(result).toEqual({ ok: true, value: { task: HANDOFF_TASK } });
    expect(calls.map((c) => [c.file, c.script, c.input])).toEqual([
      [
        POWERSHELL_EXE,
        "handoff.ps1",
        {
          taskName: "rdpcert-rotate-once",
          execute: "C:\\Program Files\\nodejs\\node.exe",
          arguments: '"C:\\Program Files\\rdpcert\\main.js" rotate --yes --in-session',
        },
      ],
    ]);
  });
});

describe("hand-off arguments", () => {
  it("forward every option of the rotation, with the state dir made absolute (the task starts in System32)", () => {
    const options = {
      stateDir: "state",
      verifyTimeout: 30_000,
      restartTimeout: 90_000,
      timeout: 4000,
      warnDays: 21,
      force: true,
      restart: false,
      reason: "expires in 9 days",
      keepBackups: 7,
    };
    expect(handOffArguments("C:\\Program Files\\rdpcert\\main.js", { ...options, logDir: "logs" }, "D:\\ops")).toEqual([
      "C:\\Program Files\\rdpcert\\main.js",
      "rotate",
      "--yes",
      "--in-session",
      "--backend",
      "windows",
      "--state-dir",
      "D:\\ops\\state",
      "--log-dir",
      "D:\\ops\\logs",
      "--timeout",
      "4000",
      "--warn-days",
      "21",
      "--verify-timeout",
      "30000",
      "--restart-timeout",
      "90000",
      "--keep-backups",
      "7",
      "--force",
      "--no-restart",
      "--reason",
      "expires in 9 days",
    ]);
    expect(
      handOffArguments("C:\\r\\main.js", { ...options, stateDir: "C:\\ProgramData\\rdpcert", force: false, restart: true, reason: null }, "D:\\ops"),
    ).toEqual(expect.arrayContaining(["C:\\ProgramData\\rdpcert"]));
    expect(handOffArguments("C:\\r\\main.js", { ...options, listener: "RDP-Tcp-Admin" }, "D:\\ops").join(" ")).toContain("--listener RDP-Tcp-Admin");
  });

  it("backups restore and the recovery in status hand off the same way, each with only the options it takes", () => {
    const options = {
      stateDir: "C:\\ProgramData\\rdpcert",
      logDir: "C:\\ProgramData\\rdpcert\\logs",
      verifyTimeout: 30_000,
      restartTimeout: 90_000,
      timeout: 4000,
      warnDays: 21,
      force: true,
      restart: true,
      reason: "x",
      keepBackups: 5,
      listener: "RDP-Tcp-Admin",
    };
    const restore = handOffCommand("C:\\r\\main.js", ["backups", "restore", "0003"], options, "D:\\ops");
    expect(restore.slice(0, 6)).toEqual(["C:\\r\\main.js", "backups", "restore", "0003", "--yes", "--in-session"]);
    expect(restore).toEqual(
      expect.arrayContaining(["--log-dir", "C:\\ProgramData\\rdpcert\\logs", "--listener", "RDP-Tcp-Admin", "--verify-timeout", "30000"]),
    );
    expect(restore).not.toContain("--force");
    expect(restore).not.toContain("--reason");
    const status = handOffCommand("C:\\r\\main.js", ["status"], options, "D:\\ops");
    expect(status.slice(0, 3)).toEqual(["C:\\r\\main.js", "status", "--in-session"]);
    expect(status).not.toContain("--yes");
    expect(status).not.toContain("--verify-timeout");
    expect(status).toEqual(expect.arrayContaining(["--state-dir", "C:\\ProgramData\\rdpcert", "--log-dir", "C:\\ProgramData\\rdpcert\\logs"]));
  });

  it("the commands it hands off accept those options (the task would fail on an unknown one)", async () => {
    const options = {
      stateDir: "/tmp/rdpcert-handoff-state",
      logDir: "/tmp/rdpcert-handoff-logs",
      verifyTimeout: 30_000,
      restartTimeout: 90_000,
      timeout: 4000,
      warnDays: 21,
      force: true,
      restart: false,
      reason: "x",
      keepBackups: 5,
      listener: "RDP-Tcp-Admin",
    };
    for (const command of [["rotate"], ["backups", "restore", "0003"], ["status"]]) {
      const args = handOffCommand("main.js", command, options, "/").slice(1);
      const help = await rdpcert([...command.slice(0, command[0] === "backups" ? 2 : 1), "--help"]);
      for (const flag of args.filter((a) => a.startsWith("--")))
        expect([command.join(" "), flag, help.stdout.includes(flag)]).toEqual([command.join(" "), flag, true]);
    }
  });

  it.each([["rotate", "--dry-run"], ["deploy", "--dry-run", "--thumbprint", "A".repeat(40)], ["status"]])(
    "%s --listener takes a WinStations name and nothing else (usage error, exit 3)",
    async (command, ...rest) => {
      const run = await rdpcert([command, ...rest, "--listener", "RDP-Tcp'; Remove-Item x"]);
      expect([run.code, run.stderr.trim()]).toEqual([
        3,
        `rdpcert: --listener "RDP-Tcp'; Remove-Item x" is not a listener name (1 to 32 letters, digits, # or -)`,
      ]);
    },
  );
});
