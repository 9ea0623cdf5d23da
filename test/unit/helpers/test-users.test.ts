import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lookupUser } from "../../../scripts/xrdp-server";
import globalTeardown from "../../global-teardown";
import { CREATED_USERS_FILE, ensureUser } from "../../helpers/users";

/** Test users are created once per run and removed after it (issue 21): the teardown removes what the run created, nothing else. */
describe("test users", () => {
  const saved = process.env.JEST_RDPCERT_RUN_DIR;
  let runDir: string;
  beforeEach(() => {
    runDir = mkdtempSync(join(tmpdir(), "rdpcert-test-run-"));
    process.env.JEST_RDPCERT_RUN_DIR = runDir;
  });
  afterEach(() => {
    process.env.JEST_RDPCERT_RUN_DIR = saved;
    rmSync(runDir, { recursive: true, force: true });
  });

  it("a user the run created is removed by the global teardown; one that existed before (nobody) stays", () => {
    const name = "rdpcert-t9";
    if (lookupUser(name)) throw new Error(`${name} exists before the test: a previous run left it`);
    const made = ensureUser(name);
    expect(lookupUser(name)).toEqual(made);
    expect(ensureUser("nobody")).toEqual(lookupUser("nobody"));
    expect(readFileSync(join(runDir, CREATED_USERS_FILE), "utf8")).toBe(`${name}\n`);
    globalTeardown();
    expect(lookupUser(name)).toBeNull();
    expect(lookupUser("nobody")).not.toBeNull();
  });
});
