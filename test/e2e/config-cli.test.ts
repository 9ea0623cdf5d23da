import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rdpcert } from "../helpers/cli";

/** `rdpcert config validate` checks what run, schedule and task would check. */
describe("rdpcert config validate", () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "rdpcert-config-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, value: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(value), { mode: 0o600 });
    return path;
  };

  it("a file named with --config that does not exist: one line, exit 3 (issue 23)", async () => {
    const path = join(dir, "absent.json");
    const run = await rdpcert(["config", "validate", "--config", path]);
    expect([run.code, run.stdout]).toEqual([3, ""]);
    expect(run.stderr).toBe(`rdpcert: cannot read the config file ${path}: it does not exist (create it with: rdpcert config init --config PATH)\n`);
  });

  it("a string restartCommand says it must be an argv array, with an example (issue 23)", async () => {
    const run = await rdpcert(["config", "validate", "--config", file("string-restart.json", { restartCommand: "systemctl restart xrdp" })]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(
      'restartCommand: "systemctl restart xrdp" is not allowed: it must be an argv array (never run through a shell), e.g. ["systemctl","restart","xrdp"], or "auto", or null',
    );
  });

  it("an unknown RDPCERT_* variable is warned about, with the setting it probably means (issue 23)", async () => {
    const run = await rdpcert(["config", "validate", "--config", file("plain.json", {})], { env: { RDPCERT_WARN_DAY: "3", RDPCERT_PROBE_THREADS: "1" } });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("rdpcert: warning: RDPCERT_WARN_DAY is not an rdpcert setting, so it is ignored (did you mean RDPCERT_WARN_DAYS?)\n");
  });

  it("a flag error with --json prints the error as JSON on stdout too (issue 23)", async () => {
    const run = await rdpcert(["status", "--timeout", "soon", "--json"]);
    expect(run.code).toBe(3);
    expect(JSON.parse(run.stdout)).toEqual({
      schema: "rdpcert.error/v1",
      command: "status",
      outcome: "error",
      exitCode: 3,
      error: { code: "usage", message: expect.stringContaining("--timeout must be a whole number"), fix: null },
    });
  });

  it("refuses a cron expression that schedule would refuse, in one line (exit 3)", async () => {
    const run = await rdpcert(["config", "validate", "--config", file("cron.json", { schedule: "61 3 * * *" })]);
    expect(run.code).toBe(3);
    expect(run.stderr.trim().split("\n")).toEqual([expect.stringContaining('schedule "61 3 * * *" is not a valid cron expression')]);
  });

  it("notes a schedule that schedule runs but task cannot register", async () => {
    const run = await rdpcert(["config", "validate", "--config", file("every5.json", { schedule: "*/5 * * * *" })]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/: valid\nnote: rdpcert schedule runs "\*\/5 \* \* \* \*", but rdpcert task cannot register it: /);
  });
});
