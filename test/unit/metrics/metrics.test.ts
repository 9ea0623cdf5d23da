import { X509Certificate } from "node:crypto";
import { samples } from "../../helpers/prom-text";
import { assess } from "../../../src/core/assess";
import { localRegistry } from "../../../src/metrics/local-metrics";
import { blackboxTlsVersion, probeRegistry, protocolName } from "../../../src/metrics/probe-metrics";
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
    expect(s.get('rdp_probe_health{health="warn"}')).toBe(1);
    expect(s.get('rdp_probe_health{health="ok"}')).toBe(0);
    expect(text).toContain("# TYPE rdp_probe_success gauge");
    expect([...s.keys()].some((k) => k.startsWith("rdp_probe_error_info"))).toBe(false);
  });

  it("reports a listener that offers no TLS as a failed probe with its error kind and no certificate series", async () => {
    const result = {
      ...presentedBy(null, rdpSecurityOnly("the listener selected standard RDP security (0)")),
      confirm: { type: "response" as const, flags: 0, selectedProtocol: 0 },
    };
    const s = samples(await probeRegistry(result, { now: NOW, warnDays: 30 }).metrics());
    expect(s.get("rdp_probe_success")).toBe(0);
    expect(s.get('rdp_probe_error_info{kind="rdp-security-only"}')).toBe(1);
    expect(s.get('rdp_negotiation_info{selected_protocol="rdp",response="negotiation-response"}')).toBe(1);
    expect(s.get('rdp_probe_health{health="critical"}')).toBe(1);
    expect([...s.keys()].some((k) => k.startsWith("rdp_cert_"))).toBe(false);
  });

  it("carries the negotiation failure code", async () => {
    const result = { ...presentedBy(null, negotiationFailure(5)), confirm: { type: "failure" as const, flags: 0, failureCode: 5 } };
    const s = samples(await probeRegistry(result, { now: NOW, warnDays: 30 }).metrics());
    expect(s.get("rdp_negotiation_failure_code")).toBe(5);
    expect(s.get('rdp_probe_error_info{kind="negotiation-failure"}')).toBe(1);
  });

  it("the warn threshold is in seconds, and the health state set has one series at 1", async () => {
    const s = samples(await probeRegistry(presentedBy(certValid(-10, 20).certPem), { now: new Date(), warnDays: 30 }).metrics());
    expect(s.get("rdp_probe_warn_seconds")).toBe(30 * 86400);
    expect(["ok", "warn", "critical"].map((h) => s.get(`rdp_probe_health{health="${h}"}`))).toEqual([0, 1, 0]);
    expect([...s.keys()].filter((k) => /_info\{/.test(k) && s.get(k) !== 1)).toEqual([]);
  });

  it("emits blackbox_exporter's series with blackbox's meaning: success, total duration, earliest notAfter of the chain, TLS version as Go names it", async () => {
    const leaf = certValid(-10, 20);
    const earlier = certValid(-10, 5, "intermediate");
    const result = { ...presentedBy(leaf.certPem), chain: [new X509Certificate(leaf.certPem).raw, new X509Certificate(earlier.certPem).raw] };
    const s = samples(await probeRegistry(result, { now: new Date(), warnDays: 30 }).metrics());
    expect(s.get("probe_success")).toBe(1);
    expect(s.get("probe_duration_seconds")).toBe(result.timings.totalMs / 1000);
    expect(s.get("probe_ssl_earliest_cert_expiry")).toBe(Date.parse(new X509Certificate(earlier.certPem).validTo) / 1000);
    expect(s.get('probe_tls_version_info{version="TLS 1.3"}')).toBe(1);
    // Without the chain: the leaf's.
    const alone = samples(await probeRegistry(presentedBy(leaf.certPem), { now: new Date(), warnDays: 30 }).metrics());
    expect(alone.get("probe_ssl_earliest_cert_expiry")).toBe(Date.parse(new X509Certificate(leaf.certPem).validTo) / 1000);
    expect(["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", "SSLv3"].map(blackboxTlsVersion)).toEqual(["TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3", "SSLv3"]);
    // A failed probe: probe_success 0 and no certificate series, as blackbox.
    const failed = samples(
      await probeRegistry({ ...presentedBy(null, rdpSecurityOnly("standard RDP security")), tls: null }, { now: NOW, warnDays: 30 }).metrics(),
    );
    expect(failed.get("probe_success")).toBe(0);
    expect(failed.has("probe_ssl_earliest_cert_expiry")).toBe(false);
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
    expect(s.get('rdpcert_local_status{status="MISMATCH"}')).toBe(1);
    expect([...s.entries()].filter(([k, v]) => k.startsWith("rdpcert_local_status") && v === 1)).toHaveLength(1);
    expect(s.get('rdpcert_local_status{status="OK"}')).toBe(0);
    for (const p of assessment.problems) expect(s.get(`rdpcert_local_problem_info{code="${p.code}",verdict="${p.verdict}"}`)).toBe(1);
    expect(s.get("rdpcert_local_presented_matches_configured")).toBe(0);
    expect(s.get("rdpcert_local_cert_not_after_seconds")).toBe(assessment.configured!.notAfter.getTime() / 1000);
    expect([...s.keys()].find((k) => k.startsWith("rdpcert_local_cert_info{"))).toContain(`sha256="${assessment.configured!.sha256}"`);
    // What the listener presents is /probe's (rdp_*): no name from two sources.
    expect([...s.keys()].filter((k) => !k.startsWith("rdpcert_local_"))).toEqual([]);
    // No record of a textfile write: no series about it.
    expect(s.has("rdpcert_local_textfile_write_success")).toBe(false);
  });
});

describe("module=local: the last textfile write", () => {
  it("reports the outcome the last run recorded: 0 with a failed write, 1 with a good one", async () => {
    const pair = certValid(-10, 170);
    const now = new Date();
    const policy = { warnDays: 30, renewalFraction: 2 / 3 };
    const assessment = assess(inspected({}, pair.certPem), presentedBy(pair.certPem), policy, now);
    const failed = samples(await localRegistry({ assessment, presented: null, now, policy }, { at: NOW, error: "EACCES" }).metrics());
    expect(failed.get("rdpcert_local_textfile_write_success")).toBe(0);
    expect(failed.get("rdpcert_local_textfile_write_timestamp_seconds")).toBe(NOW.getTime() / 1000);
    const written = samples(await localRegistry({ assessment, presented: null, now, policy }, { at: NOW, error: null }).metrics());
    expect(written.get("rdpcert_local_textfile_write_success")).toBe(1);
  });
});

describe("textfile metrics", () => {
  it("writes the issue's names with the run's values", async () => {
    const s = samples(
      await runMetricsText({
        status: "OK",
        certNotAfter: new Date("2026-06-01T00:00:00Z"),
        finishedAt: NOW,
        exitCode: 0,
        lastRotationAt: new Date("2026-01-01T00:00:00Z"),
        rotationFailures: 2,
      }),
    );
    expect(s.get('rdpcert_run_status{status="OK"}')).toBe(1);
    expect(s.get("rdpcert_run_cert_not_after_seconds")).toBe(Date.parse("2026-06-01T00:00:00Z") / 1000);
    expect(s.get("rdpcert_run_finished_timestamp_seconds")).toBe(NOW.getTime() / 1000);
    expect(s.get("rdpcert_run_exit_code")).toBe(0);
    expect(s.get("rdpcert_run_last_rotation_timestamp_seconds")).toBe(Date.parse("2026-01-01T00:00:00Z") / 1000);
    expect(s.get("rdpcert_run_rotation_failures")).toBe(2);
    expect([...s.keys()].filter((k) => !k.startsWith("rdpcert_run_"))).toEqual([]);
  });

  it("a pass that could not run has no verdict at 1 and no certificate series", async () => {
    const s = samples(await runMetricsText({ status: null, certNotAfter: null, finishedAt: NOW, exitCode: 3, lastRotationAt: null, rotationFailures: 0 }));
    expect([...s.entries()].filter(([k, v]) => k.startsWith("rdpcert_run_status") && v === 1)).toHaveLength(0);
    expect(s.has("rdpcert_run_cert_not_after_seconds")).toBe(false);
    expect(s.has("rdpcert_run_last_rotation_timestamp_seconds")).toBe(false);
    expect(s.get("rdpcert_run_exit_code")).toBe(3);
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
