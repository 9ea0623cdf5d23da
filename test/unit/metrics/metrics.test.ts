import { samples } from "../../helpers/prom-text";
import { assess } from "../../../src/core/assess";
import { localRegistry } from "../../../src/metrics/local-metrics";
import { probeRegistry, protocolName } from "../../../src/metrics/probe-metrics";
import { lastRotationAt, runMetricsText } from "../../../src/metrics/textfile";
import { negotiationFailure, rdpSecurityOnly } from "../../../src/probe/probe-error";
import { certValid } from "../../helpers/certs";
import { inspected, presentedBy } from "../../helpers/fakes";

const NOW = new Date("2026-01-10T00:00:00Z");


describe("probe metrics", () => {
  it("reports success, the certificate's validity in seconds, and its facts as an _info series", async () => {
    const pair = certValid(-10, 20);
    const result = presentedBy(pair.certPem);
    const text = await probeRegistry(result, { now: new Date(), warnDays: 30 }).metrics();
    const s = samples(text);
    expect(s.get("rdp_probe_success")).toBe(1);
    expect(s.get("rdp_cert_not_after_seconds")).toBe(result.certificate!.notAfter.getTime() / 1000);
    expect(s.get("rdp_cert_not_before_seconds")).toBe(result.certificate!.notBefore.getTime() / 1000);
    expect(s.get('rdp_probe_duration_seconds{phase="total"}')).toBeCloseTo(0.003);
    expect(s.get('rdp_negotiation_info{selected_protocol="ssl",response="negotiation-response"}')).toBe(1);
    expect(s.get('rdp_tls_info{version="TLSv1.3",cipher="TLS_AES_256_GCM_SHA384"}')).toBe(1);
    const info = [...s.keys()].find((k) => k.startsWith("rdp_cert_info{"));
    expect(info).toContain(`thumbprint_sha1="${result.certificate!.thumbprint}"`);
    expect(info).toContain(`sha256="${result.certificate!.sha256}"`);
    expect(info).toContain('self_signed="true"');
    // 20 days left, warn at 30: warn, not ok.
    expect(s.get('rdp_probe_health_info{health="warn"}')).toBe(1);
    expect(s.get('rdp_probe_health_info{health="ok"}')).toBe(0);
    expect(text).toContain("# TYPE rdp_probe_success gauge");
    expect([...s.keys()].some((k) => k.startsWith("rdp_probe_error_info"))).toBe(false);
  });

  it("reports a listener that offers no TLS as a failed probe with its error kind and no certificate series", async () => {
    const result = { ...presentedBy(null, rdpSecurityOnly("the listener selected standard RDP security (0)")), confirm: { type: "response" as const, flags: 0, selectedProtocol: 0 } };
    const s = samples(await probeRegistry(result, { now: NOW, warnDays: 30 }).metrics());
    expect(s.get("rdp_probe_success")).toBe(0);
    expect(s.get('rdp_probe_error_info{kind="rdp-security-only"}')).toBe(1);
    expect(s.get('rdp_negotiation_info{selected_protocol="rdp",response="negotiation-response"}')).toBe(1);
    expect(s.get('rdp_probe_health_info{health="critical"}')).toBe(1);
    expect([...s.keys()].some((k) => k.startsWith("rdp_cert_"))).toBe(false);
  });

  it("carries the negotiation failure code", async () => {
    const result = { ...presentedBy(null, negotiationFailure(5)), confirm: { type: "failure" as const, flags: 0, failureCode: 5 } };
    const s = samples(await probeRegistry(result, { now: NOW, warnDays: 30 }).metrics());
    expect(s.get("rdp_negotiation_failure_code")).toBe(5);
    expect(s.get('rdp_probe_error_info{kind="negotiation-failure"}')).toBe(1);
  });

  it("names protocols as label values", () => {
    expect([0, 1, 2, 8, 0x20].map(protocolName)).toEqual(["rdp", "ssl", "hybrid", "hybrid_ex", "0x20"]);
  });

  it("escapes label values from a hostile certificate subject (quotes, backslashes, newlines stay inside the label)", async () => {
    const result = presentedBy(certValid(-1, 100).certPem);
    const hostile = { ...result, certificate: { ...result.certificate!, subject: 'CN=a"b\\c\nrdp_probe_success 1' } };
    const text = await probeRegistry(hostile, { now: NOW, warnDays: 30 }).metrics();
    expect(text.split("\n").filter((l) => l.startsWith("rdp_probe_success"))).toEqual(["rdp_probe_success 1"]);
    expect(text).toContain('subject="CN=a\\"b\\\\c\\nrdp_probe_success 1"');
  });
});

describe("local status metrics", () => {
  it("sets exactly one verdict and lists every problem by code", async () => {
    const configured = certValid(-10, 170);
    const other = certValid(-10, 170, "other");
    const presented = presentedBy(other.certPem);
    const now = new Date();
    const assessment = assess(inspected({}, configured.certPem), presented, { warnDays: 30, renewalFraction: 2 / 3 }, now);
    expect(assessment.status).toBe("MISMATCH");
    const s = samples(await localRegistry({ assessment, presented, now, policy: { warnDays: 30, renewalFraction: 2 / 3 } }).metrics());
    expect(s.get('rdpcert_verdict_info{status="MISMATCH"}')).toBe(1);
    expect([...s.entries()].filter(([k, v]) => k.startsWith("rdpcert_verdict_info") && v === 1)).toHaveLength(1);
    expect(s.get('rdpcert_verdict_info{status="OK"}')).toBe(0);
    for (const p of assessment.problems) expect(s.get(`rdpcert_problem_info{code="${p.code}",verdict="${p.verdict}"}`)).toBe(1);
    expect(s.get("rdpcert_presented_matches_configured")).toBe(0);
    expect(s.get("rdp_probe_success")).toBe(1);
  });
});

describe("textfile metrics", () => {
  it("writes the issue's names with the run's values", async () => {
    const s = samples(
      await runMetricsText({ status: "OK", certNotAfter: new Date("2026-06-01T00:00:00Z"), finishedAt: NOW, exitCode: 0, lastRotationAt: new Date("2026-01-01T00:00:00Z"), rotationFailures: 2 }),
    );
    expect(s.get('rdpcert_verdict_info{status="OK"}')).toBe(1);
    expect(s.get("rdpcert_cert_not_after_seconds")).toBe(Date.parse("2026-06-01T00:00:00Z") / 1000);
    expect(s.get("rdpcert_last_run_timestamp_seconds")).toBe(NOW.getTime() / 1000);
    expect(s.get("rdpcert_last_run_exit_code")).toBe(0);
    expect(s.get("rdpcert_last_rotation_timestamp_seconds")).toBe(Date.parse("2026-01-01T00:00:00Z") / 1000);
    expect(s.get("rdpcert_rotation_failures")).toBe(2);
  });

  it("a pass that could not run has no verdict at 1 and no certificate series", async () => {
    const s = samples(await runMetricsText({ status: null, certNotAfter: null, finishedAt: NOW, exitCode: 3, lastRotationAt: null, rotationFailures: 0 }));
    expect([...s.entries()].filter(([k, v]) => k.startsWith("rdpcert_verdict_info") && v === 1)).toHaveLength(0);
    expect(s.has("rdpcert_cert_not_after_seconds")).toBe(false);
    expect(s.has("rdpcert_last_rotation_timestamp_seconds")).toBe(false);
    expect(s.get("rdpcert_last_run_exit_code")).toBe(3);
  });

  it("takes the last rotation from the newest finished rotation in the history, ignoring rollbacks and junk", () => {
    expect(
      lastRotationAt([
        { outcome: "rotated", finishedAt: "2026-01-01T00:00:00Z" },
        { outcome: "rolled-back", finishedAt: "2026-01-05T00:00:00Z" },
        { outcome: "recovered:completed", finishedAt: "2026-01-03T00:00:00Z" },
        null,
        "junk",
        { outcome: "rotated", finishedAt: "not a date" },
      ])?.toISOString(),
    ).toBe("2026-01-03T00:00:00.000Z");
    expect(lastRotationAt([])).toBeNull();
  });
});
