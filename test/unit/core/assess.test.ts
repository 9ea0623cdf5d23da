import { type Verdict, assess } from "../../../src/core/assess";
import { describeCertificate } from "../../../src/core/certificate";
import { DEFAULT_POLICY, renewalTime } from "../../../src/core/policy";
import type { InspectOutcome } from "../../../src/hosts/host-backend";
import type { ProbeError } from "../../../src/probe/probe-error";
import type { ProbeResult } from "../../../src/probe/prober";
import { buildSelfSigned } from "../../../src/core/self-signed";
import { certValid, testKey } from "../../helpers/certs";
import { der, inspected, presentedBy } from "../../helpers/fakes";

const DAY = 86_400_000;
// A minute ahead of the certificates made below, so whole-day counts are exact.
const now = new Date(Date.now() + 60_000);

const inspection = inspected;
const presented = presentedBy;

function statusOf(configured: InspectOutcome, probe: ProbeResult | null): Verdict {
  return assess(configured, probe, DEFAULT_POLICY, now).status;
}

describe("assess", () => {
  const healthy = certValid(-10, 170).certPem;

  it("is OK when the listener presents the configured, valid certificate", () => {
    const a = assess(inspection({}, healthy), presented(healthy), DEFAULT_POLICY, now);
    expect(a.status).toBe("OK");
    expect(a.health).toBe("ok");
    expect(a.problems).toEqual([]);
    expect(a.reason).toMatch(/presents the configured certificate, valid for 16\d more days/);
  });

  it("WARNs within warnDays and names the fix for a self-signed certificate", () => {
    const pem = certValid(-170, 10).certPem;
    const a = assess(inspection({}, pem), presented(pem), DEFAULT_POLICY, now);
    expect(a.status).toBe("WARN");
    expect(a.health).toBe("warn");
    expect(a.reason).toMatch(/expires in 9 days/);
    expect(a.fix).toMatch(/^sudo rdpcert rotate --yes: a new self-signed pair/);
    expect(a.fix).not.toMatch(/make-ssl-cert/);
  });

  it("WARNs once 2/3 of a self-signed lifetime has passed, even far from expiry", () => {
    const pem = certValid(-300, 100).certPem; // 75% of 400 days
    const a = assess(inspection({}, pem), presented(pem), DEFAULT_POLICY, now);
    expect(a.status).toBe("WARN");
    expect(a.problems.map((p) => p.code)).toEqual(["renewal-due"]);
    expect(a.renewalTime!.getTime()).toBeLessThan(now.getTime());
  });

  it("does not apply the renewal point to a CA-issued certificate", () => {
    const pem = certValid(-300, 100).certPem;
    const a = assess(inspection({ issuance: "ca-issued" }, pem), presented(pem), DEFAULT_POLICY, now);
    expect(a.status).toBe("OK");
    expect(a.renewalTime).toBeNull();
  });

  it("advises renewal with the CA, never deletion, for an expiring CA-issued certificate", () => {
    const pem = certValid(-300, 5).certPem;
    const a = assess(inspection({ issuance: "ca-issued" }, pem), presented(pem), DEFAULT_POLICY, now);
    expect(a.status).toBe("WARN");
    expect(a.fix).toMatch(/issuing CA.*never deletes/);
  });

  it("is EXPIRED (critical) once notAfter has passed", () => {
    const pem = certValid(-200, -3).certPem;
    const a = assess(inspection({}, pem), presented(pem), DEFAULT_POLICY, now);
    expect(a.status).toBe("EXPIRED");
    expect(a.health).toBe("critical");
    expect(a.reason).toMatch(/expired 3 days ago/);
  });

  it("is NOT-YET-VALID when notBefore is in the future, and points at the clock", () => {
    const pem = certValid(2, 200).certPem;
    const a = assess(inspection({}, pem), presented(pem), DEFAULT_POLICY, now);
    expect(a.status).toBe("NOT-YET-VALID");
    expect(a.fix).toMatch(/clock/);
  });

  it.each([
    [{ state: "missing", location: "/k", reason: "the private key file /k does not exist" }, "key-missing"],
    [{ state: "unreadable", location: "/k", reason: "xrdp cannot read its private key" }, "key-unreadable"],
    [{ state: "mismatch", location: "/k", reason: "does not belong" }, "key-mismatch"],
    [{ state: "not-a-key", location: "/k", reason: "not a PEM private key" }, "key-not-a-key"],
  ] as const)("is CORRUPT when the key is %j", (key, code) => {
    const a = assess(inspection({ key }), presented(null, { kind: "rdp-security-only", message: "standard RDP security only" }), DEFAULT_POLICY, now);
    expect(a.status).toBe("CORRUPT");
    expect(a.problems.map((p) => p.code)).toEqual([code, "rdp-security-only"]);
    expect(a.problems[1]!.verdict).toBe("DOWNGRADED");
  });

  it("uses the backend's own fix for the key when it has one", () => {
    const key = { state: "unreadable", location: "/k", reason: "xrdp cannot read", fix: "adduser xrdp ssl-cert" } as const;
    expect(assess(inspection({ key }), null, DEFAULT_POLICY, now).fix).toBe("adduser xrdp ssl-cert");
  });

  it("does not call a key it could not check broken", () => {
    const key = { state: "unknown", location: "/k", reason: "cannot read as uid 1000" } as const;
    expect(statusOf(inspection({ key }, healthy), presented(healthy))).toBe("OK");
  });

  it("is CORRUPT when the configured certificate is missing, not PEM, or does not parse", () => {
    expect(statusOf(inspection({ certificate: { state: "missing", location: "/c", reason: "gone" } }), null)).toBe("CORRUPT");
    expect(statusOf(inspection({ certificate: { state: "not-pem", location: "/c", reason: "truncated" } }), null)).toBe("CORRUPT");
    const garbage = inspection({ certificate: { state: "present", location: "/c", der: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]) } });
    const a = assess(garbage, null, DEFAULT_POLICY, now);
    expect(a.status).toBe("CORRUPT");
    expect(a.problems[0]!.code).toBe("certificate-unparseable");
  });

  it("is MISMATCH when the listener presents another certificate than the configured one", () => {
    const other = certValid(-1, 179, "other").certPem;
    const a = assess(inspection({}, healthy), presented(other), DEFAULT_POLICY, now);
    expect(a.status).toBe("MISMATCH");
    expect(a.reason).toContain(describeCertificate(der(other)).thumbprint);
  });

  it("is MISMATCH on Windows' silent fallback: configured thumbprint names no certificate", () => {
    const fallback = certValid(-1, 179, "fallback").certPem;
    const configured = inspection({
      backend: "windows",
      certificate: { state: "missing", location: "Cert:\\LocalMachine\\My\\AB", reason: "SSLCertificateSHA1Hash names AB, which is in neither store" },
      configuredThumbprint: "AB".repeat(20),
    });
    const a = assess(configured, presented(fallback), DEFAULT_POLICY, now);
    expect(a.problems.map((p) => p.verdict)).toEqual(["CORRUPT", "MISMATCH"]);
    expect(a.fix).toMatch(/^rdpcert rotate --yes \(from an elevated prompt\)/);
  });

  it("reports an expired presented certificate that differs from a healthy configured one", () => {
    const stale = certValid(-200, -1, "stale").certPem;
    const a = assess(inspection({}, healthy), presented(stale), DEFAULT_POLICY, now);
    expect(a.problems.map((p) => p.verdict)).toEqual(["EXPIRED", "MISMATCH"]);
  });

  it.each([
    ["connect-refused", "DOWN"],
    ["connect-timeout", "DOWN"],
    ["timeout", "DOWN"],
    ["protocol-error", "DOWN"],
    ["rdp-security-only", "DOWNGRADED"],
    ["negotiation-failure", "DOWNGRADED"],
    ["tls-handshake-failed", "CORRUPT"],
  ] as const)("maps a probe error %s to %s", (kind, verdict) => {
    const a = assess(inspection({}, healthy), presented(null, { kind, message: `probe says ${kind}` } as ProbeError), DEFAULT_POLICY, now);
    expect(a.status).toBe(verdict);
    expect(a.reason).toContain(`probe says ${kind}`);
    expect(a.health).toBe("critical");
  });

  it("a failed handshake with a key this user could not read: the key is 'not checked', never 'looks usable' (issue 23)", () => {
    const key = { state: "unknown", location: "/k", reason: "the private key /k was not checked: this user cannot look at it (run as root)" } as const;
    const failed = presented(null, { kind: "tls-handshake-failed", message: "handshake failed", reason: "alert" } as ProbeError);
    const unchecked = assess(inspection({ key }, healthy), failed, DEFAULT_POLICY, now);
    expect(unchecked.fix).toContain("the key was not checked (this user cannot read it): run rdpcert status as root");
    expect(unchecked.fix).not.toMatch(/look usable/);
    expect(assess(inspection({}, healthy), failed, DEFAULT_POLICY, now).fix).toMatch(/look usable/);
  });

  it("blames security_layer=rdp for a downgrade when that is the configuration", () => {
    const configured = inspection({ listener: { address: null, port: 3389, securityLayer: "rdp", nla: null } }, healthy);
    const a = assess(configured, presented(null, { kind: "rdp-security-only", message: "no TLS" }), DEFAULT_POLICY, now);
    expect(a.status).toBe("DOWNGRADED");
    expect(a.fix).toMatch(/security_layer=negotiate/);
  });

  it("is UNKNOWN with the backend's reason when the configuration could not be inspected", () => {
    const a = assess({ ok: false, reason: "cannot read /etc/xrdp/xrdp.ini: permission denied", fix: "run as root" }, null, DEFAULT_POLICY, now);
    expect(a.status).toBe("UNKNOWN");
    expect(a.health).toBe("unknown");
    expect(a.fix).toBe("run as root");
  });

  it("puts the most specific cause first: a corrupt key explains the expired, downgraded listener", () => {
    const pem = certValid(-200, -1).certPem;
    const configured = inspection({ key: { state: "unreadable", location: "/k", reason: "unreadable" } }, pem);
    const a = assess(configured, presented(null, { kind: "rdp-security-only", message: "no TLS" }), DEFAULT_POLICY, now);
    expect(a.problems.map((p) => p.verdict)).toEqual(["CORRUPT", "EXPIRED", "DOWNGRADED"]);
  });
});

describe("renewalTime", () => {
  it("is 2/3 of the lifetime after notBefore by default", () => {
    const notBefore = new Date(Date.UTC(2026, 0, 1));
    const notAfter = new Date(notBefore.getTime() + 180 * DAY);
    expect(renewalTime({ notBefore, notAfter }, 2 / 3).toISOString()).toBe(new Date(notBefore.getTime() + 120 * DAY).toISOString());
  });
});

describe("assess at the boundaries (RFC 5280: validity includes both bounds)", () => {
  const start = new Date(Date.UTC(2027, 0, 1));
  const end = new Date(start.getTime() + 180 * 86_400_000);
  const pem = buildSelfSigned(testKey(), { commonName: "edge", notBefore: start, notAfter: end }).certPem;
  const at = (t: number) => assess(inspection({}, pem), presented(pem), { ...DEFAULT_POLICY, warnDays: 0 }, new Date(t));

  it.each([
    ["1 ms before notBefore (a clock behind, or a certificate made on a clock ahead)", start.getTime() - 1, "NOT-YET-VALID"],
    ["exactly at notBefore", start.getTime(), "OK"],
    ["1 ms before the renewal point", start.getTime() + 120 * 86_400_000 - 1, "OK"],
    ["exactly at the renewal point (2/3 of 180 days)", start.getTime() + 120 * 86_400_000, "WARN"],
    ["exactly at notAfter: still valid", end.getTime(), "WARN"],
    ["1 ms after notAfter", end.getTime() + 1, "EXPIRED"],
  ])("%s", (_name, t, verdict) => {
    expect(at(t).status).toBe(verdict);
  });

  it("a clock 2 minutes behind a certificate issued just now sees it NOT-YET-VALID and blames the clock", () => {
    const a = at(start.getTime() - 2 * 60_000);
    expect(a.reason).toMatch(/not valid yet \(valid in 1 day; check the clock\)/);
    expect(a.fix).toMatch(/clock/);
  });
});
