import { describeExit, runCommand } from "../../../src/hosts/command-runner";

/** The real process boundary with /bin/sh: output decoding, caps and how a death is described. */
describe("runCommand", () => {
  it("decodes UTF-8 as a whole: a character split across two writes (two chunks) stays one character", async () => {
    const result = await runCommand("/bin/sh", ["-c", "printf '\\342'; sleep 0.2; printf '\\202\\254\\n'; printf '\\303' >&2; sleep 0.2; printf '\\251' >&2"], {
      timeoutMs: 10_000,
    });
    expect([result.exitCode, result.stdout, result.stderr]).toEqual([0, "€\n", "é"]);
  });

  it("caps each stream in bytes and still reports the exit", async () => {
    const result = await runCommand("/bin/sh", ["-c", "head -c 100000 /dev/zero | tr '\\0' a; exit 4"], { timeoutMs: 10_000, maxOutputBytes: 1000 });
    expect([result.exitCode, result.stdout.length, result.timedOut]).toEqual([4, 1000, false]);
  });

  it("a process killed by a signal it did not get from us is described by that signal, not as a timeout", async () => {
    const result = await runCommand("/bin/sh", ["-c", "kill -SEGV $$"], { timeoutMs: 10_000 });
    expect([result.exitCode, result.timedOut, result.signal]).toEqual([null, false, "SIGSEGV"]);
    expect(describeExit(result)).toBe("was killed by SIGSEGV");
  });

  it("input goes to stdin, which is then closed", async () => {
    const result = await runCommand("/bin/cat", [], { timeoutMs: 10_000, input: "ünïcode\n" });
    expect(result.stdout).toBe("ünïcode\n");
  });

  it("an executable that does not exist is a spawn error", async () => {
    const result = await runCommand("/nonexistent/rdpcert-test", [], { timeoutMs: 10_000 });
    expect(result.spawnError).toBe("/nonexistent/rdpcert-test: ENOENT");
  });
});
