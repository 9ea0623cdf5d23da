import { writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { type XrdpServer } from "../../scripts/xrdp-server";
import { certValid } from "../helpers/certs";
import { type TestDns, startTestDns } from "../helpers/dns-server";
import { type HostileListener, hostileListener } from "../helpers/hostile";
import { type RunningProcess, eventually, startExporterCli } from "../helpers/prometheus";
import { xrdpPool } from "../helpers/xrdp-pool";
import { adminDir } from "../helpers/admin-dir";

/**
 * The real `rdpcert exporter` process keeps every wait bounded:
 * names resolve only once the limits admitted the request and within the
 * probe's deadline, so a flood of names a DNS server never answers does not
 * stall later scrapes of names; the client cannot lengthen the deadline past
 * --timeout; SIGHUP reloads the configuration instead of killing it. The
 * wall clock is bounded by each test's own timeout.
 */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const sample = (body: string, name: string): number | null => {
  const match = new RegExp(`^${name} (\\S+)$`, "m").exec(body);
  return match ? Number(match[1]) : null;
};

describe("rdpcert exporter: a DNS server that never answers", () => {
  const start = xrdpPool();
  let dns: TestDns;
  let exporter: RunningProcess | undefined;
  beforeAll(async () => {
    dns = await startTestDns({ "good.rdpcert.test": "127.0.0.1" });
  });
  afterAll(async () => {
    await exporter?.stop();
    dns.close();
  });

  it("a flood of names it never answers does not stall later scrapes of names (DNS-answered, /etc/hosts) or addresses", async () => {
    const server: XrdpServer = await start(certValid(-1, 179, "flooded"));
    exporter = await startExporterCli(["--allow-target", "127.0.0.0/8", "--timeout", "3000"], dns.prefix);
    // 120 distinct names (no cache helps), all in flight at once, each needing resolution to be judged.
    const flood = Array.from({ length: 120 }, (_, i) => get(`${exporter!.url}/probe?target=flood${i}.rdpcert.test:${server.port}`));
    const later = await Promise.all(["good.rdpcert.test", "localhost", "127.0.0.1"].map((host) => get(`${exporter!.url}/probe?target=${host}:${server.port}`)));
    for (const answer of later) {
      expect(answer.status).toBe(200);
      expect(sample(answer.body, "rdp_probe_success")).toBe(1);
    }
    const flooded = await Promise.all(flood);
    // Each flooded name: its resolution gave up at half the deadline (or the limits refused it at once).
    for (const answer of flooded) {
      expect([200, 429]).toContain(answer.status);
      if (answer.status === 200) expect(answer.body).toMatch(/^rdp_probe_error_info\{kind="resolve-timeout"\} 1$/m);
    }
    expect(flooded.filter((a) => a.status === 200).length).toBeGreaterThan(0);
    expect(dns.queries).toContain("good.rdpcert.test");
    expect(dns.queries.some((q) => q.startsWith("flood"))).toBe(true);
    // The exporter is still answering at once.
    expect((await get(`${exporter.url}/metrics`)).status).toBe(200);
  }, 30_000);
});

describe("rdpcert exporter: deadlines and signals", () => {
  const start = xrdpPool();
  let silent: HostileListener;
  const running: RunningProcess[] = [];
  beforeAll(async () => {
    // Accepts the connection and never says a word.
    silent = await hostileListener(() => undefined);
  });
  afterAll(async () => {
    await Promise.all(running.map((r) => r.stop()));
    await silent.close();
  });

  it("a client asking for a 600 s deadline gets --timeout (1.5 s): the silent listener is a timeout, answered within the test's bound", async () => {
    const exporter = await startExporterCli(["--timeout", "1500"]);
    running.push(exporter);
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => get(`${exporter.url}/probe?target=127.0.0.1:${silent.port}`, { "X-Prometheus-Scrape-Timeout-Seconds": "600" })),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(sample(answer.body, "rdp_probe_success")).toBe(0);
      expect(answer.body).toMatch(/^rdp_probe_error_info\{kind="timeout"\} 1$/m);
    }
  }, 15_000);

  it("SIGHUP reloads the configuration (module=local follows the new xrdpIni); a bad file keeps the running one; it never exits", async () => {
    const [first, second] = await Promise.all([start(certValid(-1, 179, "first")), start(certValid(-1, 90, "second"))]);
    const config = join(adminDir(), "rdpcert.json");
    writeFileSync(config, JSON.stringify({ backend: "xrdp", xrdpIni: first.iniPath }));
    const exporter = await startExporterCli(["--config", config]);
    running.push(exporter);
    const notAfter = async (): Promise<number | null> => sample((await get(`${exporter.url}/probe?module=local`)).body, "rdpcert_local_cert_not_after_seconds");
    const before = await notAfter();
    expect(before).not.toBeNull();

    writeFileSync(config, JSON.stringify({ backend: "xrdp", xrdpIni: second.iniPath }));
    exporter.kill("SIGHUP");
    await eventually(async () => (exporter.output().includes("SIGHUP: configuration reloaded") ? true : null), 50);
    const after = await notAfter();
    // 179 versus 90 days of validity.
    expect(before! - after!).toBeGreaterThan(80 * 86400);

    writeFileSync(config, "{ not json");
    exporter.kill("SIGHUP");
    await eventually(async () => (exporter.output().includes("SIGHUP: configuration not reloaded, the running one stays: ") ? true : null), 50);
    expect(await notAfter()).toBe(after);
    expect(exporter.ended()).toBeNull();
    expect((await get(`${exporter.url}/metrics`)).status).toBe(200);
  }, 30_000);
});
