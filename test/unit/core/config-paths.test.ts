import { PATH_FIELDS, envName, isAbsolutePath, parseConfigText, resolveConfig, validateConfig } from "../../../src/core/config";

/** Path fields absolute only (a relative path would depend on the working directory) (file and environment), a deeply nested value is a typed one-line error. */
describe("config: paths and nesting (issue 19)", () => {
  it.each(PATH_FIELDS.map((field) => [field]))("%s: a relative path in the file is refused with one line naming the field", (field) => {
    for (const value of ["state", "./state", "../etc/rdpcert", "var/lib/x"]) {
      const result = parseConfigText(JSON.stringify({ [field]: value }), "/etc/rdpcert/config.json");
      expect(result).toEqual({
        ok: false,
        error: `/etc/rdpcert/config.json: ${field}: ${JSON.stringify(value)} is not allowed (must be an absolute path: a relative one would depend on the directory rdpcert is started from)`,
      });
    }
    expect(parseConfigText(JSON.stringify({ [field]: "/srv/rdpcert/x" }), "cfg").ok).toBe(true);
  });

  it("a relative path from an RDPCERT_* variable is refused and the variable is named", () => {
    const result = resolveConfig({}, { [envName("stateDir")]: "state" }, {}, "cfg");
    expect(result).toEqual({
      ok: false,
      error: expect.stringMatching(/^cfg: stateDir: "state" is not allowed \(must be an absolute path.*\(environment overrides: RDPCERT_STATE_DIR\)$/),
    });
    expect(resolveConfig({}, { [envName("deploySource")]: "/etc/letsencrypt/live/rdp" }, {}, "cfg").ok).toBe(true);
  });

  it("isAbsolutePath: POSIX absolute only", () => {
    expect(["/", "/etc/x", "//x"].every(isAbsolutePath)).toBe(true);
    expect(["", "x", "./x", "../x", "~/x", "C:x"].some(isAbsolutePath)).toBe(false);
  });

  it.each([
    ["stateDir", (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`],
    ["renewCommand", (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`],
  ])("a value of %s nested 100,000 deep is one line naming the field, not an internal error", (field, nest) => {
    const text = `{"warnDays": 20, "${field}": ${nest(100_000)}}`;
    const result = parseConfigText(text, "cfg");
    expect(result).toEqual({
      ok: false,
      error: `cfg: ${field}: the value is nested more than 32 levels deep, which no field of rdpcert's configuration allows`,
    });
  });

  it("a value nested a little (an argv) is validated as usual", () => {
    expect(validateConfig({ renewCommand: ["/usr/bin/certbot", "renew"] }, "cfg").ok).toBe(true);
    expect(validateConfig({ renewCommand: [["x"]] }, "cfg")).toEqual({ ok: false, error: expect.stringContaining("cfg: renewCommand.0:") });
  });
});
