import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTextfileOutcome, recordTextfileOutcome } from "../../../src/schedule/textfile-record";

/** The state dir's record of run's last textfile write, which module=local reports. */
describe("textfile record", () => {
  const dir = mkdtempSync(join(tmpdir(), "rdpcert-textfile-record-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("round-trips a failed and a good write, private to the state dir's owner", () => {
    const at = new Date("2026-01-10T00:00:00Z");
    recordTextfileOutcome(dir, { at, error: "EACCES" });
    expect(readTextfileOutcome(dir)).toEqual({ at, error: "EACCES" });
    expect(statSync(join(dir, "textfile.json")).mode & 0o777).toBe(0o600);
    recordTextfileOutcome(dir, { at, error: null });
    expect(readTextfileOutcome(dir)).toEqual({ at, error: null });
  });

  it("reads nothing from a missing, unparseable or wrong record, and never throws where it cannot write", () => {
    const empty = mkdtempSync(join(dir, "e-"));
    expect(readTextfileOutcome(empty)).toBeNull();
    writeFileSync(join(empty, "textfile.json"), "{not json");
    expect(readTextfileOutcome(empty)).toBeNull();
    writeFileSync(join(empty, "textfile.json"), JSON.stringify({ at: "yesterday", error: null }));
    expect(readTextfileOutcome(empty)).toBeNull();
    // A state "dir" that is a file: the record is skipped, not an exception.
    const file = join(empty, "a-file");
    writeFileSync(file, "");
    expect(() => recordTextfileOutcome(file, { at: new Date(), error: null })).not.toThrow();
    expect(readFileSync(file, "utf8")).toBe("");
  });
});
