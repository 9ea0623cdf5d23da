import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rdpcert } from "../helpers/cli";

/** `rdpcert config validate` checks what run, schedule and task would check (issue 15). */
describe("rdpcert config validate", () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "rdpcert-config-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, value: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(value), { mode: 0o600 });
    return path;
  };

  it("says when the file is absent: the defaults apply, and they are valid", async () => {
    const path = join(dir, "absent.json");
    const run = await rdpcert(["config", "validate", "--config", path]);
    expect([run.code, run.stdout]).toEqual([0, `${path}: there is no such file; rdpcert uses the defaults (and RDPCERT_* overrides), which are valid\n`]);
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
