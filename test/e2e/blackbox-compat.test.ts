import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type XrdpServer, freePort } from "../../scripts/xrdp-server";
import {
  type RunningPrometheus,
  type RunningProcess,
  GaveUp,
  eventually,
  startBlackboxExporter,
  startExporterCli,
  startPrometheus,
} from "../helpers/prometheus";
import { type Leaf, makeTestCa } from "../helpers/test-ca";
import { xrdpPool } from "../helpers/xrdp-pool";

/**
 * Users already run blackbox_exporter's stock certificate alert
 * (`probe_ssl_earliest_cert_expiry - time() < 86400 * N`). Side by side, on a
 * real Prometheus: Debian's blackbox_exporter fails on an xrdp listener (RDP
 * wants an X.224 Connection Request before TLS), rdpcert exporter's /probe
 * carries the same series with blackbox's meaning, and the unchanged stock rule
 * fires for the RDP listener. As control, blackbox probes a plain TLS server
 * (openssl s_server) serving the same certificates: the values agree.
 */
jest.setTimeout(180_000);

const STOCK_RULES = `groups:
  - name: blackbox-stock
    rules:
      - alert: SslCertificateExpiresSoon
        expr: probe_ssl_earliest_cert_expiry - time() < 86400 * 30
        labels:
          severity: warning
`;

const BLACKBOX_CONFIG = `modules:
  tls_connect:
    prober: tcp
    timeout: 5s
    tcp:
      tls: true
      tls_config:
        insecure_skip_verify: true
`;

/** openssl s_server: plain TLS with `leaf` and its intermediate, on a free loopback port. */
async function tlsServer(leaf: Leaf): Promise<{ address: string; child: ChildProcess }> {
  const port = await freePort();
  let output = "";
  const child = spawn(
    "openssl",
    ["s_server", "-quiet", "-accept", `127.0.0.1:${port}`, "-cert", leaf.certPath, "-key", leaf.keyPath, "-cert_chain", leaf.chainPath, "-www"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  await eventually(async () => {
    if (child.exitCode !== null) throw new GaveUp(`openssl s_server exited with ${child.exitCode}: ${output}`);
    return new Promise<true | null>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => resolve(null));
    });
  });
  return { address: `127.0.0.1:${port}`, child };
}

const byJobInstance = (samples: Array<{ metric: Record<string, string>; value: number }>) =>
  Object.fromEntries(samples.map((s) => [`${s.metric.job} ${s.metric.instance}`, s.value]));

describe("blackbox_exporter's stock certificate alert, for RDP listeners through rdpcert exporter", () => {
  const start = xrdpPool();
  const work = mkdtempSync(join(tmpdir(), "rdpcert-blackbox-"));
  let soon: XrdpServer;
  let later: XrdpServer;
  let tlsSoon: { address: string; child: ChildProcess };
  let tlsLater: { address: string; child: ChildProcess };
  let blackbox: RunningProcess & { address: string };
  let exporter: RunningProcess;
  let prometheus: RunningPrometheus;
  const rdp = (s: XrdpServer) => `127.0.0.1:${s.port}`;

  beforeAll(async () => {
    const ca = makeTestCa(join(work, "ca"));
    // 9 days left; and one that outlives its intermediate (5 years), whose earliest expiry is the intermediate's.
    const soonLeaf = ca.issue("soon.test", { names: ["DNS:soon.test", "IP:127.0.0.1"], days: 9 });
    const laterLeaf = ca.issue("later.test", { names: ["DNS:later.test", "IP:127.0.0.1"], days: 2500 });
    const served = (leaf: Leaf) => ({ certPem: readFileSync(leaf.fullchainPath, "utf8"), keyPem: leaf.keyPem });
    [soon, later, tlsSoon, tlsLater] = await Promise.all([start(served(soonLeaf)), start(served(laterLeaf)), tlsServer(soonLeaf), tlsServer(laterLeaf)]);
    writeFileSync(join(work, "blackbox.yml"), BLACKBOX_CONFIG);
    writeFileSync(join(work, "stock-rules.yml"), STOCK_RULES);
    blackbox = await startBlackboxExporter(join(work, "blackbox.yml"));
    exporter = await startExporterCli();
    const multiTarget = (job: string, exporterAddress: string, targets: readonly string[], params: string[]) => [
      `  - job_name: ${job}`,
      "    metrics_path: /probe",
      ...params,
      "    static_configs:",
      `      - targets: [${targets.map((t) => `"${t}"`).join(", ")}]`,
      "    relabel_configs:",
      "      - source_labels: [__address__]",
      "        target_label: __param_target",
      "      - source_labels: [__param_target]",
      "        target_label: instance",
      "      - target_label: __address__",
      `        replacement: "${exporterAddress}"`,
    ];
    const blackboxParams = ["    params:", "      module: [tls_connect]"];
    prometheus = await startPrometheus(
      [
        "global:",
        "  scrape_interval: 2s",
        "  scrape_timeout: 2s",
        "  evaluation_interval: 1s",
        "rule_files:",
        `  - ${join(work, "stock-rules.yml")}`,
        "scrape_configs:",
        // blackbox_exporter as users run it, pointed at the RDP listeners...
        ...multiTarget("blackbox", blackbox.address, [rdp(soon), rdp(later)], blackboxParams),
        // ...and at plain TLS servers with the same certificates (the control).
        ...multiTarget("blackbox_tls", blackbox.address, [tlsSoon.address, tlsLater.address], blackboxParams),
        // rdpcert exporter at the RDP listeners.
        ...multiTarget("rdp", exporter.url.replace(/^http:\/\//, ""), [rdp(soon), rdp(later)], []),
        "",
      ].join("\n"),
    );
    await eventually(async () => {
      const [a, b, c] = await Promise.all(["blackbox", "blackbox_tls", "rdp"].map((job) => prometheus.query(`probe_success{job="${job}"}`)));
      return a!.length === 2 && b!.length === 2 && c!.length === 2 ? true : null;
    });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await exporter?.stop();
    await blackbox?.stop();
    for (const server of [tlsSoon, tlsLater]) server?.child.kill("SIGTERM");
    rmSync(work, { recursive: true, force: true });
  });

  it("blackbox_exporter fails on the xrdp listeners and succeeds on plain TLS; rdpcert's probe_success is 1 for the xrdp listeners", async () => {
    expect(byJobInstance(await prometheus.query("probe_success"))).toEqual({
      [`blackbox ${rdp(soon)}`]: 0,
      [`blackbox ${rdp(later)}`]: 0,
      [`blackbox_tls ${tlsSoon.address}`]: 1,
      [`blackbox_tls ${tlsLater.address}`]: 1,
      [`rdp ${rdp(soon)}`]: 1,
      [`rdp ${rdp(later)}`]: 1,
    });
  });

  it("probe_ssl_earliest_cert_expiry and probe_tls_version_info have blackbox's values for the same certificates (the earliest of the chain)", async () => {
    const expiry = byJobInstance(await prometheus.query("probe_ssl_earliest_cert_expiry"));
    expect(Object.keys(expiry).sort()).toEqual(
      [`blackbox_tls ${tlsLater.address}`, `blackbox_tls ${tlsSoon.address}`, `rdp ${rdp(later)}`, `rdp ${rdp(soon)}`].sort(),
    );
    expect(expiry[`rdp ${rdp(soon)}`]).toBe(expiry[`blackbox_tls ${tlsSoon.address}`]);
    expect(expiry[`rdp ${rdp(later)}`]).toBe(expiry[`blackbox_tls ${tlsLater.address}`]);
    // The leaf outlives its intermediate: the earliest is the intermediate's, about 5 years out, not the leaf's 2500 days.
    expect(expiry[`rdp ${rdp(later)}`]! - Date.now() / 1000).toBeLessThan(1826 * 86400);
    const versions = await prometheus.query("probe_tls_version_info");
    const version = (job: string, instance: string) => versions.find((s) => s.metric.job === job && s.metric.instance === instance)?.metric.version;
    expect(version("rdp", rdp(soon))).toBe(version("blackbox_tls", tlsSoon.address));
    expect(version("rdp", rdp(soon))).toMatch(/^TLS 1\.[23]$/);
  });

  it("the unchanged stock rule fires for the RDP listener 9 days from expiry through rdpcert's series, and not through blackbox's failed probe", async () => {
    const firing = await eventually(async () => {
      const alerts = await prometheus.api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>("/api/v1/alerts");
      const list = alerts.alerts.map((a) => `${a.labels.alertname} ${a.labels.job} ${a.labels.instance} ${a.state}`).sort();
      return list.length >= 2 ? list : null;
    });
    expect(firing).toEqual([`SslCertificateExpiresSoon blackbox_tls ${tlsSoon.address} firing`, `SslCertificateExpiresSoon rdp ${rdp(soon)} firing`].sort());
  });
});
