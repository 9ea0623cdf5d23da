import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { XrdpServer } from "../../scripts/xrdp-server";
import { certValid } from "../helpers/certs";
import { rdpcertJson } from "../helpers/cli";
import { type RunningPrometheus, type RunningProcess, eventually, startExporterCli, startNodeExporter, startPrometheus } from "../helpers/prometheus";
import { makeTestCa } from "../helpers/test-ca";
import { xrdpPool } from "../helpers/xrdp-pool";
import { parseYaml } from "../helpers/yaml";

/**
 * The SHIPPED contrib/prometheus files as a user deploys them. A real
 * Prometheus (Debian's) loads prometheus.example.yml and rules.yml; the test
 * changes only addresses, file paths and intervals, by editing the parsed
 * YAML. It scrapes the real `rdpcert exporter` (/probe, module=local, its own
 * metrics) in front of real xrdp listeners, and Debian's node_exporter reading
 * the textfile a real `rdpcert run --textfile-dir` wrote. No `for:` is changed:
 * alerts with one are expected pending, the others firing.
 *
 * Listeners: healthy (self-signed, 179 days), nine (a CA-issued certificate 9
 * days from expiry, which run may not replace: the host this exporter's
 * module=local and the textfile describe too), expired, TLS not offered
 * (security_layer=rdp).
 */
jest.setTimeout(180_000);

const CONTRIB = join(__dirname, "..", "..", "contrib", "prometheus");

interface Rule {
  readonly name: string;
  readonly type: "alerting" | "recording";
  readonly health: string;
  readonly lastError?: string;
  readonly lastEvaluation: string;
}
interface Alert {
  readonly labels: Record<string, string>;
  readonly state: string;
}

// The checks the issue asks for, as functions: the planted-mistake test shows each one catches its mistake.

/** Every rule that is not healthy, as "name: error". */
async function ruleErrors(prometheus: RunningPrometheus): Promise<string[]> {
  const data = await prometheus.api<{ groups: Array<{ rules: Rule[] }> }>("/api/v1/rules");
  return data.groups
    .flatMap((g) => g.rules)
    .filter((r) => r.health !== "ok" || r.lastError)
    .map((r) => `${r.name}: ${r.lastError ?? r.health}`);
}

/** Resolves once every rule has been evaluated after `since` (so every input had its chance). */
async function evaluatedAfter(prometheus: RunningPrometheus, since: number): Promise<void> {
  await eventually(async () => {
    const data = await prometheus.api<{ groups: Array<{ rules: Rule[] }> }>("/api/v1/rules");
    const rules = data.groups.flatMap((g) => g.rules);
    return rules.length > 0 && rules.every((r) => Date.parse(r.lastEvaluation) > since) ? true : null;
  });
}

/** Active alerts as "alertname instance state", sorted. */
async function activeAlerts(prometheus: RunningPrometheus): Promise<string[]> {
  const data = await prometheus.api<{ alerts: Alert[] }>("/api/v1/alerts");
  return data.alerts.map((a) => `${a.labels.alertname} ${a.labels.instance} ${a.state}`).sort();
}

/** `_info` series (of rdpcert's and blackbox's prefixes) whose value is not 1. */
async function infoNotOne(prometheus: RunningPrometheus): Promise<string[]> {
  const samples = await prometheus.query('{__name__=~"(rdp|rdpcert|probe)_.*_info"} != 1');
  return samples.map((s) => `${s.metric.__name__}{instance="${s.metric.instance}"} ${s.value}`);
}

interface ScrapeJob {
  job_name: string;
  static_configs?: Array<{ targets: string[] }>;
  file_sd_configs?: Array<{ files: string[] }>;
  relabel_configs?: Array<{ target_label?: string; replacement?: string }>;
}
interface PrometheusConfig {
  global: Record<string, string>;
  rule_files: string[];
  scrape_configs: ScrapeJob[];
}

/**
 * The shipped prometheus.example.yml with only addresses, paths and intervals
 * changed. Throws on a job the test does not know: a job added to the example
 * must be wired here too.
 */
function shippedConfig(dir: string, at: { exporter: string; node: string; listeners: readonly string[]; rules: string }): string {
  const config = parseYaml(readFileSync(join(CONTRIB, "prometheus.example.yml"), "utf8")) as PrometheusConfig;
  // Intervals: scrape every 2 s (the probe's deadline is the timeout minus 0.5 s), evaluate every second.
  Object.assign(config.global, { scrape_interval: "2s", scrape_timeout: "2s", evaluation_interval: "1s" });
  config.rule_files = [at.rules];
  const targetsDir = join(dir, "targets");
  mkdirSync(targetsDir, { recursive: true });
  // The example's file_sd format (targets/rdp-listeners.example.yml), with this test's listeners.
  writeFileSync(join(targetsDir, "listeners.yml"), JSON.stringify([{ targets: at.listeners, labels: { site: "test" } }]));
  for (const job of config.scrape_configs) {
    if (job.job_name === "rdp") {
      job.file_sd_configs![0]!.files = [join(targetsDir, "*.yml")];
      const address = job.relabel_configs!.find((r) => r.target_label === "__address__")!;
      address.replacement = at.exporter;
    } else if (job.job_name === "rdpcert_exporter" || job.job_name === "rdpcert_local") {
      job.static_configs = [{ targets: [at.exporter] }];
    } else if (job.job_name === "node") {
      job.static_configs = [{ targets: [at.node] }];
    } else {
      throw new Error(`prometheus.example.yml has a job this test does not wire: ${job.job_name}`);
    }
  }
  return JSON.stringify(config, null, 2);
}

interface DashboardPanel {
  readonly title: string;
  readonly targets?: Array<{ expr: string }>;
  readonly fieldConfig?: { defaults?: { unit?: string } };
}

describe("the shipped contrib/prometheus files on a real Prometheus, against real listeners", () => {
  const start = xrdpPool();
  const work = mkdtempSync(join(tmpdir(), "rdpcert-shipped-"));
  let healthy: XrdpServer;
  let nine: XrdpServer;
  let expired: XrdpServer;
  let downgraded: XrdpServer;
  let exporter: RunningProcess;
  let node: RunningProcess & { address: string };
  let exporterAddress: string;
  let prometheus: RunningPrometheus | null = null;
  let runWarnings: readonly string[] = [];
  const instance = (s: XrdpServer) => `127.0.0.1:${s.port}`;

  const startWithRules = async (rules: string): Promise<RunningPrometheus> => {
    const dir = mkdtempSync(join(work, "prometheus-"));
    return startPrometheus(
      shippedConfig(dir, { exporter: exporterAddress, node: node.address, listeners: [healthy, nine, expired, downgraded].map(instance), rules }),
    );
  };

  /** Waits until every source has been scraped and the rules evaluated after that. */
  const settle = async (p: RunningPrometheus): Promise<void> => {
    await eventually(async () => {
      const [probed, local, run] = await Promise.all([
        p.query('rdp_probe_success{job="rdp"}'),
        p.query('rdpcert_local_status{job="rdpcert_local"}'),
        p.query('rdpcert_run_finished_timestamp_seconds{job="node"}'),
      ]);
      return probed.length === 4 && local.length > 0 && run.length === 1 ? true : null;
    });
    await evaluatedAfter(p, Date.now() + 1000);
  };

  beforeAll(async () => {
    const ca = makeTestCa(join(work, "ca"));
    // Issued 4 days ago for 13 days: 9 days left, and valid for the pass "3 days ago" below.
    const leaf = ca.issue("nine.test", { names: ["DNS:nine.test", "IP:127.0.0.1"], days: 13, at: "-4 days" });
    [healthy, nine, expired, downgraded] = await Promise.all([
      start(certValid(-10, 179, "healthy")),
      start({ certPem: readFileSync(leaf.fullchainPath, "utf8"), keyPem: leaf.keyPem }),
      start(certValid(-100, -1, "expired")),
      start({ ...certValid(-10, 179, "downgraded"), securityLayer: "rdp" }),
    ]);
    // This host, for module=local and rdpcert run: the nine-day listener (CA-issued: run reports it, never replaces it).
    const config = join(work, "rdpcert.json");
    writeFileSync(
      config,
      JSON.stringify({ backend: "xrdp", xrdpIni: nine.iniPath, stateDir: join(work, "state"), logDir: join(work, "log"), restartCommand: null }),
    );
    const textfileDir = join(work, "textfile");
    mkdirSync(textfileDir);
    // A pass that finished 3 days ago (libfaketime): the textfile is stale, as when the timer stopped.
    const old = await rdpcertJson<{ exitCode: number; status: string; outcome: string; reason: string }>(
      ["run", "--config", config, "--textfile-dir", textfileDir, "--json"],
      { prefix: ["faketime", "-3 days"] },
    );
    expect({ exitCode: old.json.exitCode, status: old.json.status, outcome: old.json.outcome, reason: old.json.reason }).toMatchObject({
      exitCode: 1,
      status: "WARN",
      outcome: "nothing",
    });
    // Today's pass cannot write its textfile (the directory is gone): a warning, recorded for module=local.
    const today = await rdpcertJson<{ exitCode: number; warnings: string[] }>([
      "run",
      "--config",
      config,
      "--textfile-dir",
      join(work, "no-such-dir"),
      "--json",
    ]);
    runWarnings = today.json.warnings;
    node = await startNodeExporter(textfileDir);
    exporter = await startExporterCli(["--config", config]);
    exporterAddress = exporter.url.replace(/^http:\/\//, "");
  });

  afterAll(async () => {
    await prometheus?.stop();
    await exporter?.stop();
    await node?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("rdpcert run --json names the textfile it could not write in warnings", () => {
    expect(runWarnings).toEqual([expect.stringMatching(/^cannot write the textfile metrics .*no-such-dir\/rdpcert\.prom: ENOENT$/)]);
  });

  it("no rule is in error, and exactly the expected alerts are pending or firing, for the right instances", async () => {
    prometheus = await startWithRules(join(CONTRIB, "rules.yml"));
    await settle(prometheus);
    expect(await ruleErrors(prometheus)).toEqual([]);
    expect(await activeAlerts(prometheus)).toEqual(
      [
        // 9 days: once, for the listener, though module=local and the textfile describe the same host (127.0.0.1).
        `RdpCertExpiresWithin14Days ${instance(nine)} pending`,
        `RdpCertExpired ${instance(expired)} firing`,
        `RdpTlsNotOffered ${instance(downgraded)} pending`,
        // The textfile node_exporter serves is 3 days old.
        `RdpCertRunStale ${node.address} firing`,
        // module=local reports the failed write the state dir recorded.
        `RdpCertRunTextfileWriteFailing ${exporterAddress} firing`,
      ].sort(),
    );
  });

  it("every _info series is 1", async () => {
    expect((await prometheus!.query('count({__name__=~"(rdp|rdpcert|probe)_.*_info"})'))[0]!.value).toBeGreaterThan(5);
    expect(await infoNotOne(prometheus!)).toEqual([]);
  });

  it("no metric name comes from two sources (jobs): a host scraped every way has each name once", async () => {
    const jobs = await prometheus!.query('count by (job) ({__name__=~"(rdp|rdpcert|probe)_.+"})');
    expect(jobs.map((j) => j.metric.job).sort()).toEqual(["node", "rdp", "rdpcert_exporter", "rdpcert_local"]);
    expect(await prometheus!.query('count by (__name__) (count by (__name__, job) ({__name__=~"(rdp|rdpcert|probe)_.+"})) > 1')).toEqual([]);
  });

  it("every dashboard panel's query evaluates without error and returns data, for all hosts and for one; host panels honour $job and $instance", async () => {
    const dashboard = JSON.parse(readFileSync(join(CONTRIB, "grafana-dashboard.json"), "utf8")) as { panels: DashboardPanel[] };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr, unit: p.fieldConfig?.defaults?.unit })));
    expect(exprs.length).toBeGreaterThan(10);
    // Host and listener panels filter by both variables; only the exporter's own panels do not.
    for (const e of exprs.filter((x) => !/rdpcert_exporter_/.test(x.expr))) {
      expect({ title: e.title, job: e.expr.includes('job=~"$job"'), instance: e.expr.includes('instance=~"$instance"') }).toEqual({
        title: e.title,
        job: true,
        instance: true,
      });
    }
    // Units: seconds-valued queries say "s" (Grafana renders days), never "d" after a division.
    for (const e of exprs) {
      if (/_seconds\b/.test(e.expr) && !/_bucket/.test(e.expr)) expect({ title: e.title, unit: e.unit }).toEqual({ title: e.title, unit: "s" });
      expect(e.expr).not.toMatch(/\/ 86400/);
    }
    // Grafana's "All": a regex of every value; one host: its instance.
    const substitutions = [
      { job: ".+", instance: ".+" },
      { job: "rdp|rdpcert_local|node", instance: [instance(nine), exporterAddress, node.address].join("|") },
    ];
    // The exporter's own rate panels need two scrapes of its /metrics after its first probe.
    await eventually(async () => ((await prometheus!.query("rate(rdpcert_exporter_probe_duration_seconds_bucket[5m])")).length > 0 ? true : null), 500);
    const failures: string[] = [];
    for (const vars of substitutions) {
      for (const e of exprs) {
        const expr = e.expr.replaceAll("$job", vars.job).replaceAll("$instance", vars.instance);
        const run = await prometheus!.tryQuery(expr);
        if (run.status !== "success") failures.push(`${e.title}: ${expr}: ${run.error ?? run.status}`);
        else if (run.resultCount === 0 && vars.job === ".+") failures.push(`${e.title}: ${expr}: no data`);
      }
    }
    expect(failures).toEqual([]);
    // The variables, as Grafana runs label_values(SELECTOR, LABEL): every source's jobs, and instances for a job.
    const variables = (dashboard as unknown as { templating: { list: Array<{ name: string; query: string }> } }).templating.list;
    const values = async (name: string, job: string) => {
      const match = /^label_values\((.+), (\w+)\)$/.exec(variables.find((v) => v.name === name)!.query)!;
      return prometheus!.api<string[]>(`/api/v1/label/${match[2]}/values?match[]=${encodeURIComponent(match[1]!.replaceAll("$job", job))}`);
    };
    expect((await values("job", "")).sort()).toEqual(["node", "rdp", "rdpcert_local"]);
    expect(await values("instance", "node")).toEqual([node.address]);
    expect((await values("instance", "rdp")).sort()).toEqual([healthy, nine, expired, downgraded].map(instance).sort());
  });

  it("the checks are real: a planted rule that errors and an _info series at 0 fail them", async () => {
    await prometheus?.stop();
    prometheus = null;
    // The issue's mistake: one regex over two names of the same target, which the subtraction cannot tell apart.
    const shipped = readFileSync(join(CONTRIB, "rules.yml"), "utf8");
    const broken = shipped.replace(
      /- record: rdpcert:cert_not_after_seconds\n {8}expr: \|\n[\s\S]*?\n\n/,
      `- record: rdpcert:cert_not_after_seconds\n        expr: '{__name__=~"rdp_cert_not_after_seconds|probe_ssl_earliest_cert_expiry"} - 0'\n\n`,
    );
    expect(broken).not.toBe(shipped);
    const planted = `${broken}\n  - name: planted\n    rules:\n      - record: rdp_planted_info\n        expr: rdp_probe_success * 0\n`;
    const rules = join(work, "planted-rules.yml");
    writeFileSync(rules, planted);
    prometheus = await startWithRules(rules);
    await settle(prometheus);
    expect(await ruleErrors(prometheus)).toEqual([expect.stringMatching(/^rdpcert:cert_not_after_seconds: .*same labelset/)]);
    expect(await infoNotOne(prometheus)).toContain(`rdp_planted_info{instance="${instance(healthy)}"} 0`);
    // And the expiry alerts are gone: the alert check fails too.
    const alerts = await activeAlerts(prometheus);
    expect(alerts).not.toContain(`RdpCertExpired ${instance(expired)} firing`);
    expect(alerts).not.toContain(`RdpCertExpiresWithin14Days ${instance(nine)} pending`);
  });
});
