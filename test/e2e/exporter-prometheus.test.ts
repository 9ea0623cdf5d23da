import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { XrdpServer } from "../../scripts/xrdp-server";
import { certValid } from "../helpers/certs";
import { xrdpPool } from "../helpers/xrdp-pool";
import { type RunningProcess, type Sample, eventually, httpGet, startExporterCli, startPrometheus } from "../helpers/prometheus";
import { adminDir } from "../helpers/admin-dir";

/**
 * End to end: a real Prometheus scrapes `rdpcert exporter`, which
 * probes real xrdp listeners (healthy, expiring, TLS not offered) and this
 * "host" (module=local against the healthy one's xrdp.ini).
 */
jest.setTimeout(120_000);

/** notAfter as openssl reads it from the file xrdp serves, in seconds since the epoch. */
function opensslNotAfter(certPath: string): number {
  const line = execFileSync("openssl", ["x509", "-enddate", "-noout", "-in", certPath], { encoding: "utf8" }).trim();
  const match = /^notAfter=(.+)$/.exec(line);
  if (!match) throw new Error(`unexpected openssl output: ${line}`);
  return Date.parse(match[1]!) / 1000;
}

const byInstance = (samples: readonly Sample[]): Record<string, number> => Object.fromEntries(samples.map((s) => [s.metric.instance!, s.value]));

describe("rdpcert exporter scraped by a real Prometheus", () => {
  const start = xrdpPool();
  let healthy: XrdpServer;
  let expiring: XrdpServer;
  let downgraded: XrdpServer;
  let exporter: RunningProcess;
  let prometheus: Awaited<ReturnType<typeof startPrometheus>>;
  const instance = (s: XrdpServer) => `127.0.0.1:${s.port}`;

  beforeAll(async () => {
    [healthy, expiring, downgraded] = await Promise.all([
      start(certValid(-1, 179, "healthy")),
      start(certValid(-170, 5, "expiring")),
      start({ ...certValid(-1, 179, "downgraded"), securityLayer: "rdp" }),
    ]);
    const config = join(adminDir(), "rdpcert.json");
    writeFileSync(config, JSON.stringify({ backend: "xrdp", xrdpIni: healthy.iniPath }));
    exporter = await startExporterCli(["--config", config]);
    const exporterAddress = exporter.url.replace(/^http:\/\//, "");
    prometheus = await startPrometheus(
      [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "scrape_configs:",
        "  - job_name: rdp",
        "    metrics_path: /probe",
        "    static_configs:",
        `      - targets: [${[healthy, expiring, downgraded].map((s) => `"${instance(s)}"`).join(", ")}]`,
        "    relabel_configs:",
        "      - source_labels: [__address__]",
        "        target_label: __param_target",
        "      - source_labels: [__param_target]",
        "        target_label: instance",
        "      - target_label: __address__",
        `        replacement: "${exporterAddress}"`,
        "  - job_name: rdpcert_local",
        "    metrics_path: /probe",
        "    params:",
        "      module: [local]",
        "    static_configs:",
        `      - targets: ["${exporterAddress}"]`,
        "  - job_name: rdpcert_exporter",
        "    static_configs:",
        `      - targets: ["${exporterAddress}"]`,
        "",
      ].join("\n"),
    );
  });

  afterAll(async () => {
    await prometheus?.stop();
    await exporter?.stop();
  });

  /** Waits until Prometheus holds a sample of `expr` for each of `count` series. */
  const settled = (expr: string, count: number) =>
    eventually(async () => {
      const samples = await prometheus.query(expr);
      return samples.length >= count ? samples : null;
    });

  it("rdp_cert_not_after_seconds equals openssl's notAfter of the certificate each listener serves", async () => {
    const samples = byInstance(await settled('rdp_cert_not_after_seconds{job="rdp"}', 2));
    expect(samples).toEqual({ [instance(healthy)]: opensslNotAfter(healthy.certPath), [instance(expiring)]: opensslNotAfter(expiring.certPath) });
    // The two certificates differ by 174 days (made a few milliseconds apart: a second boundary may fall between): the values are not a constant.
    expect(Math.abs(samples[instance(healthy)]! - samples[instance(expiring)]! - 174 * 86400)).toBeLessThanOrEqual(1);
  });

  it("rdp_probe_success is 0 for the listener that offers no TLS, 1 for the others, with the error kind", async () => {
    expect(byInstance(await settled('rdp_probe_success{job="rdp"}', 3))).toEqual({
      [instance(healthy)]: 1,
      [instance(expiring)]: 1,
      [instance(downgraded)]: 0,
    });
    const errors = await settled('rdp_probe_error_info{job="rdp"}', 1);
    expect(errors.map((s) => [s.metric.instance, s.metric.kind])).toEqual([[instance(downgraded), "rdp-security-only"]]);
    const health = await settled('rdp_probe_health{job="rdp"} == 1', 3);
    expect(Object.fromEntries(health.map((s) => [s.metric.instance, s.metric.health]))).toEqual({
      [instance(healthy)]: "ok",
      [instance(expiring)]: "warn",
      [instance(downgraded)]: "critical",
    });
  });

  it("the certificate's facts arrive as an _info series", async () => {
    const info = await settled(`rdp_cert_info{instance="${instance(expiring)}"}`, 1);
    expect(info[0]!.metric).toMatchObject({ subject: expect.stringContaining("CN=expiring"), self_signed: "true" });
    expect(info[0]!.metric.sha256).toMatch(/^[0-9A-F]{64}$/);
  });

  it("module=local reports this host's verdict on the listener its config names", async () => {
    const verdict = await settled('rdpcert_local_status{job="rdpcert_local"} == 1', 1);
    expect(verdict.map((s) => s.metric.status)).toEqual(["OK"]);
    expect(byInstance(await settled('rdpcert_local_cert_not_after_seconds{job="rdpcert_local"}', 1))).toEqual({
      [exporter.url.replace("http://", "")]: opensslNotAfter(healthy.certPath),
    });
  });

  it("the exporter's own metrics count the probes Prometheus made", async () => {
    const counted = await eventually(async () => {
      const samples = await prometheus.query('sum by (result) (rdpcert_exporter_probes_total{job="rdpcert_exporter",module="rdp"})');
      const m = Object.fromEntries(samples.map((s) => [s.metric.result, s.value]));
      return (m.success ?? 0) >= 2 && (m.failure ?? 0) >= 1 ? m : null;
    });
    expect(Object.keys(counted).sort()).toEqual(["failure", "success"]);
  });

  it("refuses a target outside the allow-list with 403 (it is not an open scanner)", async () => {
    const res = await httpGet(`${exporter.url}/probe?target=192.0.2.1:3389`);
    expect(res.status).toBe(403);
    expect(res.body).toMatch(/^rdpcert exporter: target 192\.0\.2\.1 is not allowed/);
  });
});
