import { defaultConfig } from "../../../src/core/config";
import type { CommandOptions, CommandResult } from "../../../src/hosts/command-runner";
import { changeFacts, exitCodeAfterHook, hookEnvironment, runPostChange } from "../../../src/app/post-change";
import type { RotationResult } from "../../../src/rotation/rotate";

/** app/post-change.ts (issue 25): which results run the hook, its argv and environment, and the exit code after it. Only the process boundary is faked. */
function rotation(outcome: RotationResult["outcome"]): RotationResult {
  return {
    outcome,
    reason: "r",
    fix: null,
    plan: [],
    oldThumbprint: "OLD1",
    newThumbprint: "NEW1",
    newSha256: "NEW256",
    backupId: null,
    backupPath: null,
    steps: [],
    recovered: null,
    heldBy: null,
    assessment: null,
  };
}

describe("post-change hook", () => {
  it("runs only for a verified change", () => {
    for (const outcome of ["planned", "not-needed", "refused", "busy", "rolled-back", "rollback-failed"] as const)
      expect(changeFacts(rotation(outcome), "h:1", null)).toBeNull();
    expect(changeFacts(rotation("rotated"), "h:1", "/b.json")).toEqual({
      listener: "h:1",
      oldSha1: "OLD1",
      oldSha256: null,
      newSha1: "NEW1",
      newSha256: "NEW256",
      bundle: "/b.json",
    });
    expect(changeFacts(rotation("deployed"), "h:1", null)).not.toBeNull();
  });

  it("passes argv as given (no shell), the deadline, and the RDPCERT_* facts", async () => {
    const calls: { file: string; args: readonly string[]; options: CommandOptions }[] = [];
    const runner = async (file: string, args: readonly string[], options: CommandOptions): Promise<CommandResult> => {
      calls.push({ file, args, options });
      return { exitCode: 0, stdout: "", stderr: "", timedOut: false, spawnError: null };
    };
    const config = { ...defaultConfig(), postChangeCommand: ["/bin/true", "a b", "$HOME"], postChangeTimeoutMs: 1234 };
    const facts = changeFacts(rotation("rotated"), "127.0.0.1:3389", "/state/pins/x.json")!;
    const lines: string[] = [];
    const outcome = await runPostChange(config, facts, (_l, m) => lines.push(m), runner);
    expect(outcome).toEqual({ ran: true, ok: true, command: "/bin/true a b $HOME", exitCode: 0 });
    expect(calls).toEqual([{ file: "/bin/true", args: ["a b", "$HOME"], options: { timeoutMs: 1234, env: hookEnvironment(facts), maxOutputBytes: 65536 } }]);
    expect(hookEnvironment(facts)).toEqual({
      RDPCERT_LISTENER: "127.0.0.1:3389",
      RDPCERT_OLD_SHA1: "OLD1",
      RDPCERT_OLD_SHA256: "",
      RDPCERT_NEW_SHA1: "NEW1",
      RDPCERT_NEW_SHA256: "NEW256",
      RDPCERT_BUNDLE: "/state/pins/x.json",
    });
  });

  it("a failure, a timeout or a spawn error is one line, and the change stays", async () => {
    const config = { ...defaultConfig(), postChangeCommand: ["/bin/false"] };
    const facts = changeFacts(rotation("rotated"), "h:1", null)!;
    const result = (r: Partial<CommandResult>) => async (): Promise<CommandResult> => ({
      exitCode: null,
      stdout: "",
      stderr: "",
      timedOut: false,
      spawnError: null,
      ...r,
    });
    const log = (): void => undefined;
    expect(await runPostChange(config, facts, log, result({ exitCode: 4, stderr: "boom\nmore" }))).toMatchObject({
      ok: false,
      exitCode: 4,
      reason: "post-change hook /bin/false exited with 4: boom; the change stays (the listener serves the new certificate)",
    });
    expect(await runPostChange(config, facts, log, result({ timedOut: true }))).toMatchObject({
      ok: false,
      reason: expect.stringContaining("did not finish within 300000 ms"),
    });
    expect(await runPostChange(config, facts, log, result({ spawnError: "/bin/false: ENOENT" }))).toMatchObject({
      ok: false,
      reason: expect.stringContaining("could not start: /bin/false: ENOENT"),
    });
  });

  it("a failed hook makes a success exit 1 (as certbot's failed deploy hook); worse codes stay", () => {
    const failed = { ran: true as const, ok: false as const, command: "x", exitCode: 1, reason: "r" };
    expect(exitCodeAfterHook(0, failed)).toBe(1);
    expect(exitCodeAfterHook(2, failed)).toBe(2);
    expect(exitCodeAfterHook(0, null)).toBe(0);
    expect(exitCodeAfterHook(0, { ran: true, ok: true, command: "x", exitCode: 0 })).toBe(0);
  });
});
