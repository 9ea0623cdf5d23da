import { CONFIG_FIELDS, defaultConfig, envName, parseConfigText, resolveConfig } from "../../../src/core/config";
import { configDefaults, hasEnvOverrides } from "../../../src/core/config-defaults";

describe("config", () => {
  it("gives every field a default", () => {
    const config = defaultConfig();
    expect(Object.keys(config).sort()).toEqual([...CONFIG_FIELDS].sort());
    expect(config).toMatchObject({
      backend: "auto",
      warnDays: 30,
      criticalDays: 7,
      renewalFraction: 2 / 3,
      autoRepair: true,
      schedule: "0 3 * * *",
      jitterMinutes: 30,
      keepBackups: 5,
      restartCommand: "auto",
      keyBits: 2048,
      validityDays: 180,
      renewCommand: null,
    });
  });

  it.each([
    ['{"warnDays": 4000}', "/etc/rdpcert/config.json: warnDays: 4000 is not allowed (Too big: expected number to be <=3650)"],
    ['{"warnDays": "30"}', 'warnDays: "30" is not allowed'],
    ['{"keyBits": 1024}', "keyBits: 1024 is not allowed"],
    ['{"renewCommand": "certbot renew"}', 'renewCommand: "certbot renew" is not allowed'],
    ['{"restartCommand": []}', "restartCommand: [] is not allowed"],
    ['{"warnDay": 30}', 'unknown field "warnDay" (allowed: backend, port,'],
    ["[1,2]", "the configuration must be a JSON object"],
    ["{warnDays: 30}", "not valid JSON"],
  ])("rejects %s with one line naming the field, the value and what is allowed", (text, message) => {
    const result = parseConfigText(text, "/etc/rdpcert/config.json");
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toContain(message);
      expect(result.error).not.toContain("\n");
    }
  });

  it("applies file, then environment, then flags", () => {
    const env = {
      [envName("warnDays")]: "21",
      [envName("autoRepair")]: "false",
      [envName("renewCommand")]: '["/usr/local/bin/renew","--quiet"]',
      [envName("port")]: "null",
    };
    expect(envName("warnDays")).toBe("RDPCERT_WARN_DAYS");
    const result = resolveConfig({ warnDays: 14, criticalDays: 3, port: 3390 }, env, { criticalDays: 5 }, "cfg");
    expect(result).toEqual({
      ok: true,
      config: expect.objectContaining({ warnDays: 21, autoRepair: false, criticalDays: 5, port: null, renewCommand: ["/usr/local/bin/renew", "--quiet"] }),
    });
  });

  it("names the environment overrides when the merged result is invalid", () => {
    const result = resolveConfig({}, { RDPCERT_WARN_DAYS: "-1" }, {}, "cfg");
    expect(result).toEqual({ ok: false, error: expect.stringMatching(/^cfg: warnDays: -1 is not allowed .*\(environment overrides: RDPCERT_WARN_DAYS\)$/) });
  });

  // Combinations that once passed validation, then made every run rotate.
  it.each([
    ['{"warnDays": 400}', "warnDays (400) must be below validityDays (180)"],
    ['{"warnDays": 180}', "warnDays (180) must be below validityDays (180)"],
    ['{"rotateDays": 200}', "rotateDays (200) must be below validityDays (180)"],
    ['{"validityDays": 20}', "warnDays (30) must be below validityDays (20)"],
    ['{"renewalFraction": 1}', "renewalFraction: 1 is not allowed"],
    ['{"renewalFraction": 0}', "renewalFraction: 0 is not allowed"],
  ])("rejects the churning combination %s with one line naming both fields", (text, message) => {
    const result = parseConfigText(text, "cfg");
    expect(result).toEqual({ ok: false, error: expect.stringContaining(message) });
    if (!result.ok) expect(result.error).not.toContain("\n");
  });

  it("accepts the same fields when they fit together", () => {
    expect(parseConfigText('{"warnDays": 400, "validityDays": 800, "rotateDays": 500}', "cfg").ok).toBe(true);
  });

  it("the plain defaults (used when there is no file, to keep zod off quick commands) equal the schema's", () => {
    expect(configDefaults()).toEqual(defaultConfig());
    expect(hasEnvOverrides({ RDPCERT_TEST_FAULT: "x", RDPCERT_PWSH: "/x" })).toBe(false);
    expect(hasEnvOverrides({ RDPCERT_WARN_DAYS: "21" })).toBe(true);
  });
});
