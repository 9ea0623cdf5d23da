import { assess } from "../../../src/core/assess";
import { describeCertificate } from "../../../src/core/certificate";
import { DEFAULT_POLICY, renewalTimeFor } from "../../../src/core/policy";
import { NO_BACKOFF, backoffDelayMs, decideRun, recordFailure } from "../../../src/core/run-policy";
import { buildSelfSigned } from "../../../src/core/self-signed";
import type { InspectOutcome, KeyState } from "../../../src/hosts/host-backend";
import type { ProbeResult } from "../../../src/probe/prober";
import { caIssued, certValid, testKey } from "../../helpers/certs";
import { der, inspected, presentedBy } from "../../helpers/fakes";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const runPolicy = { autoRepair: true, criticalDays: 7, renewCommand: null };

function configured(
  certDer: Buffer,
  issuance: "self-signed" | "ca-issued" = "self-signed",
  key: KeyState = { state: "ok", location: "/k", reason: null },
): InspectOutcome {
  const base = inspected({ issuance, key });
  return base.ok ? { ok: true, inspection: { ...base.inspection, certificate: { state: "present", der: certDer, location: "/etc/xrdp/cert.pem" } } } : base;
}

function presentedDer(certDer: Buffer | null, error: ProbeResult["error"] = null): ProbeResult {
  const base = presentedBy(null, error);
  return certDer
    ? {
        ...base,
        confirm: { type: "response", flags: 0, selectedProtocol: 1 },
        certificate: describeCertificate(certDer),
        certificateDer: certDer,
        tls: { version: "TLSv1.3", cipher: "x" },
      }
    : base;
}

describe("decideRun over a simulated year of daily runs (fake clock)", () => {
  it("rotates a 180-day self-signed certificate exactly when due, never twice a day, never before its renewal point", () => {
    const start = Date.UTC(2027, 0, 1, 3, 0, 0);
    const issue = (at: number): Buffer =>
      der(buildSelfSigned(testKey(), { commonName: "sim", notBefore: new Date(at - 5 * 60_000), notAfter: new Date(at + 180 * DAY) }).certPem);
    let cert = issue(start);
    const rotations: number[] = [];
    let seed = 7;
    const jitter = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 30 * 60_000;
    for (let day = 0; day < 365; day++) {
      const first = start + day * DAY + jitter();
      // Twice a day: the second run, a minute later, must find nothing to do.
      for (const runOfDay of [0, 1]) {
        const now = new Date(first + runOfDay * 60_000);
        const assessment = assess(configured(cert), presentedDer(cert), DEFAULT_POLICY, now);
        const action = decideRun(assessment, "self-signed", runPolicy, NO_BACKOFF, now);
        const info = describeCertificate(cert);
        if (action.kind === "rotate") {
          expect(now.getTime()).toBeGreaterThanOrEqual(renewalTimeFor(info, DEFAULT_POLICY).getTime());
          expect(rotations).not.toContain(day);
          rotations.push(day);
          cert = issue(now.getTime());
        } else {
          expect(action).toEqual({ kind: "none", exitCode: 0, reason: expect.any(String) });
          expect(now.getTime()).toBeLessThan(renewalTimeFor(info, DEFAULT_POLICY).getTime());
        }
      }
    }
    // 2/3 of 180 days: every 120 days; the first run after the point rotates.
    expect(rotations).toEqual([120, 240, 360]);
  });

  it("with rotateDays set, rotates that many days before expiry instead", () => {
    const now = new Date();
    const pem = certValid(-160, 20).certPem;
    const policy = { ...DEFAULT_POLICY, renewalFraction: 0.99, rotateDays: 21 };
    expect(decideRun(assess(configured(der(pem)), presentedDer(der(pem)), policy, now), "self-signed", runPolicy, NO_BACKOFF, now).kind).toBe("rotate");
    const policy2 = { ...policy, warnDays: 7, rotateDays: 10 };
    expect(decideRun(assess(configured(der(pem)), presentedDer(der(pem)), policy2, now), "self-signed", runPolicy, NO_BACKOFF, now).kind).toBe("none");
  });
});

describe("decideRun", () => {
  const now = new Date();

  it("repairs a corrupt self-signed pair when autoRepair is on, and only warns when it is off", () => {
    const pem = der(certValid(-10, 170).certPem);
    const broken = assess(
      configured(pem, "self-signed", { state: "missing", location: "/k", reason: "the key does not exist" }),
      presentedDer(null, { kind: "rdp-security-only", message: "no TLS" }),
      DEFAULT_POLICY,
      now,
    );
    expect(decideRun(broken, "self-signed", runPolicy, NO_BACKOFF, now)).toMatchObject({ kind: "rotate", problem: "key-missing" });
    expect(decideRun(broken, "self-signed", { ...runPolicy, autoRepair: false }, NO_BACKOFF, now)).toMatchObject({
      kind: "none",
      exitCode: 2,
      reason: expect.stringContaining("autoRepair is off"),
    });
  });

  // Rotate only for what a rotation fixes: a new pair does not fix a permission, a TLS setting or another process on the port.
  it("never rotates for what a new certificate does not fix: an unreadable key is CRITICAL with its permission fix", () => {
    const pem = der(certValid(-10, 170).certPem);
    const unreadable = assess(
      configured(pem, "self-signed", { state: "unreadable", location: "/k", reason: "xrdp cannot read its private key", fix: "chgrp xrdp /k && chmod 640 /k" }),
      presentedDer(null, { kind: "rdp-security-only", message: "no TLS" }),
      DEFAULT_POLICY,
      now,
    );
    expect(unreadable.problems.map((p) => [p.code, p.fixedByReplacement])).toEqual([
      ["key-unreadable", false],
      ["rdp-security-only", false],
    ]);
    expect(decideRun(unreadable, "self-signed", runPolicy, NO_BACKOFF, now)).toEqual({
      kind: "none",
      exitCode: 2,
      reason: "xrdp cannot read its private key: a new certificate does not fix this; fix: chgrp xrdp /k && chmod 640 /k",
    });
  });

  it("the wire outranks file modes: an unreadable key whose certificate is served over TLS is a WARNING, not rotated", () => {
    const pem = der(certValid(-10, 170).certPem);
    const served = assess(
      configured(pem, "self-signed", { state: "unreadable", location: "/k", reason: "xrdp cannot read its private key", basis: "unit" }),
      presentedDer(pem),
      DEFAULT_POLICY,
      now,
    );
    expect(served.status).toBe("WARN");
    expect(served.problems[0]).toMatchObject({
      code: "key-unreadable",
      verdict: "WARN",
      reason: expect.stringContaining("would fail after a restart"),
      fixedByReplacement: false,
    });
    expect(decideRun(served, "self-signed", runPolicy, NO_BACKOFF, now)).toMatchObject({ kind: "none", exitCode: 1 });
  });

  it("does not rotate again for a problem a verified rotation left in place", () => {
    const pem = der(certValid(-170, 10).certPem);
    const a = assess(configured(pem), presentedDer(pem), DEFAULT_POLICY, now);
    expect(decideRun(a, "self-signed", runPolicy, NO_BACKOFF, now)).toMatchObject({ kind: "rotate", problem: "expiring" });
    const remembered = recordFailure(NO_BACKOFF, new Date(now.getTime() - 2 * 86_400_000), "still expiring", "expiring");
    expect(remembered.unfixed).toEqual({ code: "expiring", at: expect.any(String) });
    expect(decideRun(a, "self-signed", runPolicy, remembered, now)).toMatchObject({
      kind: "none",
      exitCode: 2,
      reason: expect.stringContaining('did not make "expiring" go away'),
    });
    // A later failure of another kind keeps the memory.
    expect(recordFailure(remembered, now, "restart failed").unfixed).toEqual(remembered.unfixed);
  });

  it("ignores a backoff written under a clock that was far ahead", () => {
    const pem = der(certValid(-170, 10).certPem);
    const a = assess(configured(pem), presentedDer(pem), DEFAULT_POLICY, now);
    const underWrongClock = recordFailure(NO_BACKOFF, new Date(now.getTime() + 400 * 86_400_000), "failed in the future");
    expect(decideRun(a, "self-signed", runPolicy, underWrongClock, now).kind).toBe("rotate");
  });

  it("repairs a not-yet-valid certificate that rdpcert issued itself, and only that one", () => {
    const future = der(certValid(2, 170).certPem);
    const a = assess(configured(future), presentedDer(future), DEFAULT_POLICY, now);
    expect(decideRun(a, "self-signed", runPolicy, NO_BACKOFF, now, { issuedByRdpcert: true })).toMatchObject({ kind: "rotate", problem: "not-yet-valid" });
    expect(decideRun(a, "self-signed", runPolicy, NO_BACKOFF, now, { issuedByRdpcert: false })).toMatchObject({ kind: "none", exitCode: 2 });
  });

  it("never rotates a CA-issued certificate: renewCommand if configured, else WARNING, CRITICAL within criticalDays", () => {
    const soon = der(caIssued(-300, 20).certPem);
    const a = assess(configured(soon, "ca-issued"), presentedDer(soon), DEFAULT_POLICY, now);
    expect(decideRun(a, "ca-issued", runPolicy, NO_BACKOFF, now)).toMatchObject({
      kind: "none",
      exitCode: 1,
      reason: expect.stringContaining("no renewCommand"),
    });
    expect(decideRun(a, "ca-issued", { ...runPolicy, renewCommand: ["/usr/local/bin/renew"] }, NO_BACKOFF, now).kind).toBe("renew-command");
    // A place to find the renewed one (deploySource, LocalMachine\My) comes first; the run falls back to renewCommand itself.
    expect(decideRun(a, "ca-issued", { ...runPolicy, canDeploy: true, renewCommand: ["/usr/local/bin/renew"] }, NO_BACKOFF, now)).toMatchObject({
      kind: "deploy",
      exitCode: 1,
    });
    expect(decideRun(a, "ca-issued", runPolicy, NO_BACKOFF, now).reason).toContain("no renewCommand or deploySource is configured");
    const critical = der(caIssued(-300, 5).certPem);
    const b = assess(configured(critical, "ca-issued"), presentedDer(critical), DEFAULT_POLICY, now);
    expect(decideRun(b, "ca-issued", runPolicy, NO_BACKOFF, now)).toMatchObject({ kind: "none", exitCode: 2 });
    // Nothing newer found within criticalDays is CRITICAL, as without a deploySource.
    expect(decideRun(b, "ca-issued", { ...runPolicy, canDeploy: true }, NO_BACKOFF, now)).toMatchObject({ kind: "deploy", exitCode: 2 });
  });

  it("does nothing for a listener that is down, or a clock that is wrong", () => {
    const pem = der(certValid(-10, 170).certPem);
    const down = assess(configured(pem), presentedDer(null, { kind: "connect-refused", message: "refused" }), DEFAULT_POLICY, now);
    expect(decideRun(down, "self-signed", runPolicy, NO_BACKOFF, now)).toMatchObject({ kind: "none", exitCode: 2 });
    const future = der(certValid(2, 170).certPem);
    expect(decideRun(assess(configured(future), presentedDer(future), DEFAULT_POLICY, now), "self-signed", runPolicy, NO_BACKOFF, now)).toMatchObject({
      kind: "none",
      exitCode: 2,
      reason: expect.stringContaining("clock"),
    });
  });

  it("backs off after failures: 1 h doubling, capped at 24 h, remembered across runs", () => {
    expect([1, 2, 3, 4, 5, 6, 10].map(backoffDelayMs)).toEqual([1, 2, 4, 8, 16, 24, 24].map((h) => h * HOUR));
    const pem = der(certValid(-170, 10).certPem);
    const a = assess(configured(pem), presentedDer(pem), DEFAULT_POLICY, now);
    const once = recordFailure(NO_BACKOFF, now, "restart failed");
    expect(decideRun(a, "self-signed", runPolicy, once, new Date(now.getTime() + 30 * 60_000))).toMatchObject({
      kind: "backoff",
      exitCode: 2,
      until: once.nextAttemptAt,
    });
    expect(decideRun(a, "self-signed", runPolicy, once, new Date(now.getTime() + HOUR + 1)).kind).toBe("rotate");
    const twice = recordFailure(once, new Date(now.getTime() + HOUR + 1), "again");
    expect(Date.parse(twice.nextAttemptAt!) - Date.parse(twice.lastFailureAt!)).toBe(2 * HOUR);
  });
});
