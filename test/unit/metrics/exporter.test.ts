import { request } from "node:http";
import { type AddressInfo } from "node:net";
import { createServer, type Server } from "node:http";
import { Registry } from "prom-client";
import { AllowListError, DEFAULT_ALLOWED, parseAllowList } from "../../../src/metrics/allow-list";
import { createLimiter } from "../../../src/metrics/limits";
import { type ExporterOptions, createExporter, probeTimeoutMs } from "../../../src/metrics/exporter-server";
import type { ProbeOptions, Prober } from "../../../src/probe/prober";
import type { Target } from "../../../src/core/target";
import { certValid } from "../../helpers/certs";
import { presentedBy } from "../../helpers/fakes";

describe("allow-list", () => {
  it("allows loopback only by default", () => {
    const allow = parseAllowList(DEFAULT_ALLOWED);
    expect(["127.0.0.1", "127.9.9.9", "::1"].map(allow.allowsAddress)).toEqual([true, true, true]);
    expect(["10.0.0.1", "192.168.1.1", "::2", "not-an-ip"].map(allow.allowsAddress)).toEqual([false, false, false, false]);
    expect(allow.allowsName("LOCALHOST")).toBe(true);
    expect(allow.allowsName("example.com")).toBe(false);
  });

  it("takes networks, addresses and names, and refuses what is none of them", () => {
    const allow = parseAllowList(["10.20.0.0/16", "fd00::/8", "192.0.2.7", "rdp01.example.com"]);
    expect(allow.allowsAddress("10.20.255.1")).toBe(true);
    expect(allow.allowsAddress("10.21.0.1")).toBe(false);
    expect(allow.allowsAddress("fd12::1")).toBe(true);
    expect(allow.allowsAddress("192.0.2.7")).toBe(true);
    expect(allow.allowsAddress("192.0.2.8")).toBe(false);
    expect(allow.allowsName("rdp01.example.com.")).toBe(true);
    for (const bad of ["10.0.0.0/33", "10.0.0.0/x", "host name", "a;b", "/8", "::1/129"]) expect(() => parseAllowList([bad])).toThrow(AllowListError);
  });
});

describe("limits", () => {
  it("refuses past the request rate and refills with time", () => {
    let t = 0;
    const limiter = createLimiter({ maxConcurrent: 1, queueLimit: 0, ratePerSecond: 2, now: () => t });
    expect([limiter.admit(), limiter.admit(), limiter.admit()]).toEqual([true, true, false]);
    t = 500;
    expect([limiter.admit(), limiter.admit()]).toEqual([true, false]);
  });

  it("runs at most maxConcurrent at once, queues up to queueLimit, refuses the rest", async () => {
    const limiter = createLimiter({ maxConcurrent: 2, queueLimit: 1, ratePerSecond: 100 });
    const gates: Array<() => void> = [];
    const work = () => new Promise<void>((resolve) => gates.push(resolve));
    const a = limiter.run(work);
    const b = limiter.run(work);
    const c = limiter.run(work);
    expect([a, b, c].every((p) => p !== null)).toBe(true);
    expect(limiter.run(work)).toBeNull();
    expect([limiter.inFlight, limiter.waiting]).toEqual([2, 1]);
    gates.shift()!();
    await a;
    expect([limiter.inFlight, limiter.waiting]).toEqual([2, 0]);
    gates.splice(0).forEach((g) => g());
    await b;
    gates.splice(0).forEach((g) => g());
    await c;
    expect(limiter.inFlight).toBe(0);
  });
});

describe("probe deadline", () => {
  it("is the scrape timeout minus half a second, never more than the configured timeout, the configured one without the header, never below 100 ms", () => {
    expect(probeTimeoutMs("10", 20_000)).toBe(9500);
    expect(probeTimeoutMs("10", 5000)).toBe(5000);
    expect(probeTimeoutMs("600", 5000)).toBe(5000);
    expect(probeTimeoutMs("99999999999", 5000)).toBe(5000);
    expect(probeTimeoutMs("2.5", 5000)).toBe(2000);
    expect(probeTimeoutMs(undefined, 5000)).toBe(5000);
    expect(probeTimeoutMs("junk", 5000)).toBe(5000);
    expect(probeTimeoutMs("0.2", 5000)).toBe(100);
  });
});

describe("exporter HTTP server", () => {
  const seen: Array<{ target: Target; options: ProbeOptions }> = [];
  const pair = certValid(-1, 10);
  const prober: Prober = async (target, options) => {
    seen.push({ target, options });
    return { ...presentedBy(pair.certPem), target };
  };
  let server: Server;
  let base: string;
  const start = async (overrides: Partial<ExporterOptions> = {}, lookup = async (_: string, _deadlineMs: number): Promise<string[]> => ["10.9.9.9"]) => {
    const exporter = createExporter(
      {
        allow: parseAllowList([...DEFAULT_ALLOWED, "10.1.0.0/16"]),
        defaultTimeoutMs: 4000,
        warnDays: 30,
        maxConcurrent: 8,
        queueLimit: 8,
        ratePerSecond: 1000,
        ...overrides,
      },
      { prober, lookup, local: async () => new Registry() },
    );
    server = createServer(exporter.handle);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return exporter;
  };
  afterEach(async () => {
    seen.length = 0;
    await new Promise((r) => server.close(r));
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = request(`${base}${path}`, { headers }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      });
      req.on("error", reject);
      req.end();
    });

  it("probes an allowed target with the scrape timeout minus the margin, and answers in the text format", async () => {
    await start();
    const res = await get("/probe?target=10.1.2.3:3390&warn_days=5", { "X-Prometheus-Scrape-Timeout-Seconds": "3" });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(seen).toEqual([{ target: { input: "10.1.2.3:3390", host: "10.1.2.3", port: 3390 }, options: { timeoutMs: 2500, withChain: true } }]);
    expect(res.body).toMatch(/^rdp_probe_success 1$/m);
    // 10 days left with warn_days=5: ok.
    expect(res.body).toMatch(/^rdp_probe_health\{health="ok"\} 1$/m);
  });

  it("refuses targets outside the allow-list with 403 and one line, without probing", async () => {
    await start();
    const res = await get("/probe?target=10.2.0.1:3389");
    expect(res.status).toBe(403);
    expect(res.body.trim().split("\n")).toHaveLength(1);
    expect(res.body).toMatch(/not allowed.*--allow-target/);
    expect(seen).toHaveLength(0);
  });

  it("allows a name only when every address it resolves to is allowed, and probes the checked address", async () => {
    await start({}, async () => ["10.1.0.5"]);
    expect((await get("/probe?target=rdp.example.test:3389")).status).toBe(200);
    expect(seen[0]!.target.host).toBe("10.1.0.5");
    await new Promise((r) => server.close(r));
    await start({}, async () => ["10.1.0.5", "203.0.113.9"]);
    expect((await get("/probe?target=rdp.example.test:3389")).status).toBe(403);
    expect(seen).toHaveLength(1);
  });

  it("resolves a name only after the rate limit admitted the request, within half the probe's deadline; a lookup past it is resolve-timeout", async () => {
    const asked: Array<[string, number]> = [];
    const never = (name: string, deadlineMs: number): Promise<string[]> => {
      asked.push([name, deadlineMs]);
      return Promise.reject(Object.assign(new Error("no answer"), { name: "ResolveTimeout" }));
    };
    await start({ ratePerSecond: 1 }, never);
    const first = await get("/probe?target=slow.example.test:3389", { "X-Prometheus-Scrape-Timeout-Seconds": "3" });
    expect(first.status).toBe(200);
    expect(first.body).toMatch(/^rdp_probe_success 0$/m);
    expect(first.body).toMatch(/^rdp_probe_error_info\{kind="resolve-timeout"\} 1$/m);
    expect(asked).toEqual([["slow.example.test", 1250]]);
    // Over the rate: 429, and nothing is resolved.
    const second = await get("/probe?target=slow2.example.test:3389");
    expect(second.status).toBe(429);
    expect(asked).toHaveLength(1);
    expect(seen).toHaveLength(0);
  });

  it("an address outside the allow-list is refused before the rate limit is charged", async () => {
    await start({ ratePerSecond: 1 });
    expect((await get("/probe?target=10.2.0.1:3389")).status).toBe(403);
    expect((await get("/probe?target=10.2.0.1:3389")).status).toBe(403);
    expect((await get("/probe?target=10.1.0.1:3389")).status).toBe(200);
  });

  it("rejects bad input with 400 and one line that does not echo it", async () => {
    await start();
    for (const path of [
      "/probe",
      "/probe?target=a%0Ab",
      "/probe?target=127.0.0.1:99999",
      "/probe?target=127.0.0.1&target=127.0.0.2",
      "/probe?target=127.0.0.1&warn_days=-1",
      "/probe?module=http",
    ]) {
      const res = await get(path);
      expect(res.status).toBe(400);
      expect(res.body.trim().split("\n")).toHaveLength(1);
      expect(res.body).not.toContain("99999");
    }
    expect(seen).toHaveLength(0);
    expect((await get("/nope")).status).toBe(404);
  });

  it("answers 429 past the request rate, and counts every result in /metrics", async () => {
    await start({ ratePerSecond: 2 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get("/probe?target=127.0.0.1:3389")).status);
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(statuses.slice(2)).toContain(429);
    const metrics = (await get("/metrics")).body;
    expect(metrics).toMatch(/^rdpcert_exporter_probes_total\{module="rdp",result="success"\} 2$/m);
    expect(metrics).toMatch(/^rdpcert_exporter_probes_total\{module="rdp",result="limited"\} [12]$/m);
    expect(metrics).toMatch(/^rdpcert_exporter_probe_duration_seconds_count\{module="rdp"\} 2$/m);
    expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m);
  });
});
