import { DAY_MS } from "../../../src/core/certificate";
import { assessProbe } from "../../../src/core/probe-verdict";
import { daysLeft, describeValidity, validityAt, worstHealth } from "../../../src/core/validity";

const notBefore = new Date("2026-01-01T00:00:00Z");
const notAfter = new Date("2026-07-01T00:00:00Z");
const at = (iso: string): Date => new Date(iso);

describe("validityAt", () => {
  it.each([
    ["one second before notBefore (clock skew)", "2025-12-31T23:59:59Z", "not-yet-valid"],
    ["exactly at notBefore", "2026-01-01T00:00:00Z", "valid"],
    ["well inside", "2026-03-01T00:00:00Z", "valid"],
    ["one ms more than warnDays before notAfter", new Date(notAfter.getTime() - 30 * DAY_MS - 1).toISOString(), "valid"],
    ["exactly warnDays before notAfter", new Date(notAfter.getTime() - 30 * DAY_MS).toISOString(), "expiring"],
    ["exactly at notAfter (still valid, RFC 5280 is inclusive)", "2026-07-01T00:00:00Z", "expiring"],
    ["one second after notAfter", "2026-07-01T00:00:01Z", "expired"],
  ])("%s", (_name, now, state) => {
    expect(validityAt({ notBefore, notAfter }, at(now), 30).state).toBe(state);
  });

  it("counts whole days left, negative once expired", () => {
    expect(daysLeft(notAfter, at("2026-06-20T12:00:00Z"))).toBe(10);
    expect(daysLeft(notAfter, at("2026-07-03T00:00:00Z"))).toBe(-2);
  });

  it("explains each state in one line", () => {
    expect(describeValidity(validityAt({ notBefore, notAfter }, at("2026-07-03T00:00:00Z"), 30))).toBe("certificate expired 2 days ago");
    expect(describeValidity(validityAt({ notBefore, notAfter }, at("2026-06-21T00:00:00Z"), 30))).toBe("certificate expires in 10 days");
    expect(describeValidity(validityAt({ notBefore, notAfter }, at("2025-12-30T00:00:00Z"), 30))).toMatch(/not valid yet \(valid in 2 days; check the clock\)/);
  });
});

describe("assessProbe", () => {
  const cert = { notBefore, notAfter } as never;
  it("is critical for any typed failure, whatever the certificate", () => {
    const verdict = assessProbe({ error: { kind: "connect-refused", message: "connection refused" }, certificate: null }, at("2026-03-01T00:00:00Z"), 30);
    expect(verdict).toEqual({ health: "critical", reason: "connection refused" });
  });
  it("follows the certificate's validity otherwise", () => {
    expect(assessProbe({ error: null, certificate: cert }, at("2026-03-01T00:00:00Z"), 30).health).toBe("ok");
    expect(assessProbe({ error: null, certificate: cert }, at("2026-06-25T00:00:00Z"), 30).health).toBe("warn");
    expect(assessProbe({ error: null, certificate: cert }, at("2026-08-01T00:00:00Z"), 30).health).toBe("critical");
  });
  it("orders health for the overall exit code", () => {
    expect(worstHealth(["ok", "warn", "ok"])).toBe("warn");
    expect(worstHealth(["warn", "critical"])).toBe("critical");
    expect(worstHealth([])).toBe("ok");
  });
});
