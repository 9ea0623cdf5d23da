import { UsageError, describeFailure } from "../../../src/cli/exit-codes";

/** Every failure is one line naming what failed and what to do. */
describe("describeFailure", () => {
  it("an errno error names the operation, the path, the meaning and a fix", () => {
    const error = Object.assign(new Error("EROFS: read-only file system, open '/var/lib/rdpcert/rotate.lock'"), {
      code: "EROFS",
      syscall: "open",
      path: "/var/lib/rdpcert/rotate.lock",
    });
    expect(describeFailure(error)).toEqual({
      code: "EROFS",
      message: "cannot open /var/lib/rdpcert/rotate.lock: the file system is read-only (EROFS)",
      fix: "remount it read-write, or pass --state-dir DIR on a writable disk",
    });
  });

  it("a usage error is its message; anything else is an internal error of one line that points at --debug", () => {
    expect(describeFailure(new UsageError("--timeout must be a whole number"))).toEqual({
      code: "usage",
      message: "--timeout must be a whole number",
      fix: null,
    });
    expect(describeFailure(new TypeError("x is undefined\n    at f (a.js:1:1)"))).toEqual({
      code: "internal",
      message: "internal error: x is undefined",
      fix: "run again with --debug for the stack trace, and report it",
    });
  });
});
