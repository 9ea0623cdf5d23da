import type { IncomingMessage, ServerResponse } from "node:http";
import { isIP } from "node:net";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { type Target, TargetError, parseTarget } from "../core/target";
import { probeRegistry } from "../metrics/probe-metrics";
import type { Prober } from "../probe/prober";
import type { AllowList } from "./allow-list";
import { type Limiter, createLimiter } from "./limits";

/** blackbox_exporter's default: the scrape timeout minus half a second, so the answer arrives in time. */
export const SCRAPE_TIMEOUT_MARGIN_MS = 500;
/** The smallest deadline a probe is given, however short the scrape timeout. */
export const MIN_PROBE_TIMEOUT_MS = 100;

export interface ExporterOptions {
  readonly allow: AllowList;
  /** Deadline of a probe when the request carries no X-Prometheus-Scrape-Timeout-Seconds. */
  readonly defaultTimeoutMs: number;
  readonly warnDays: number;
  readonly maxConcurrent: number;
  readonly queueLimit: number;
  readonly ratePerSecond: number;
}

export interface ExporterDeps {
  readonly prober: Prober;
  /** Every address a name resolves to (dns.lookup with all: true). */
  readonly lookup: (name: string) => Promise<string[]>;
  /** This host's status as metrics (`module=local`), within `timeoutMs`. */
  readonly local: (timeoutMs: number) => Promise<Registry>;
  readonly now?: () => Date;
}

export interface Exporter {
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** The exporter's own metrics (GET /metrics). */
  readonly registry: Registry;
  readonly limiter: Limiter;
}

/** The probe's deadline from Prometheus' scrape timeout header (seconds, may be fractional). */
export function probeTimeoutMs(header: string | string[] | undefined, fallbackMs: number): number {
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^\d+(\.\d+)?$/.test(text.trim())) return fallbackMs;
  const ms = Number(text.trim()) * 1000 - SCRAPE_TIMEOUT_MARGIN_MS;
  return Math.min(600_000, Math.max(MIN_PROBE_TIMEOUT_MS, Math.floor(ms)));
}

type Answer = { readonly status: number; readonly body: string; readonly contentType?: string; readonly headers?: Record<string, string> };

const line = (status: number, text: string, headers?: Record<string, string>): Answer => ({ status, body: `${text}\n`, contentType: "text/plain; charset=utf-8", headers });

export function createExporter(options: ExporterOptions, deps: ExporterDeps): Exporter {
  const now = deps.now ?? (() => new Date());
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const probes = new Counter({
    name: "rdpcert_exporter_probes_total",
    help: "Probe requests by module and result: success, failure (the probe ran and failed), invalid (400), refused (403), limited (429), error (500)",
    labelNames: ["module", "result"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "rdpcert_exporter_probe_duration_seconds",
    help: "How long probe requests took, by module",
    labelNames: ["module"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const limiter = createLimiter(options);

  const allowedTarget = async (target: Target): Promise<Target | null> => {
    if (isIP(target.host)) return options.allow.allowsAddress(target.host) ? target : null;
    if (options.allow.allowsName(target.host)) return target;
    let addresses: string[];
    try {
      addresses = await deps.lookup(target.host);
    } catch {
      return null;
    }
    if (addresses.length === 0 || !addresses.every((a) => options.allow.allowsAddress(a))) return null;
    return { ...target, host: addresses[0]! };
  };

  const probeAnswer = async (req: IncomingMessage, url: URL): Promise<Answer> => {
    const module = url.searchParams.get("module") ?? "rdp";
    if (module !== "rdp" && module !== "local") {
      probes.inc({ module: "unknown", result: "invalid" });
      return line(400, 'rdpcert exporter: unknown module: use module=rdp (the default, with target=HOST:PORT) or module=local');
    }
    const timeoutMs = probeTimeoutMs(req.headers["x-prometheus-scrape-timeout-seconds"], options.defaultTimeoutMs);
    const warnText = url.searchParams.get("warn_days");
    if (warnText !== null && !(/^\d{1,4}$/.test(warnText) && Number(warnText) <= 3650)) {
      probes.inc({ module, result: "invalid" });
      return line(400, "rdpcert exporter: warn_days must be a whole number from 0 to 3650");
    }
    const warnDays = warnText === null ? options.warnDays : Number(warnText);

    let target: Target | null = null;
    if (module === "rdp") {
      const targets = url.searchParams.getAll("target");
      if (targets.length !== 1) {
        probes.inc({ module, result: "invalid" });
        return line(400, "rdpcert exporter: give exactly one target=HOST:PORT");
      }
      let parsed: Target;
      try {
        parsed = parseTarget(targets[0]!);
      } catch (error) {
        probes.inc({ module, result: "invalid" });
        if (error instanceof TargetError) return line(400, `rdpcert exporter: ${error.reason}`);
        throw error;
      }
      target = await allowedTarget(parsed);
      if (!target) {
        probes.inc({ module, result: "refused" });
        return line(403, `rdpcert exporter: target ${parsed.host} is not allowed: add it, or a network holding it, with --allow-target`);
      }
    }

    if (!limiter.admit()) {
      probes.inc({ module, result: "limited" });
      return line(429, "rdpcert exporter: too many probe requests per second (--max-rate)", { "Retry-After": "1" });
    }
    const started = performance.now();
    const running = limiter.run(async () => {
      if (module === "local") return deps.local(timeoutMs);
      // withChain: probe_ssl_earliest_cert_expiry is the earliest notAfter of every certificate sent, as blackbox's.
      const result = await deps.prober(target!, { timeoutMs, withChain: true });
      return { registry: probeRegistry(result, { now: now(), warnDays }), success: result.error === null && result.certificate !== null };
    });
    if (!running) {
      probes.inc({ module, result: "limited" });
      return line(429, "rdpcert exporter: too many probes waiting (--max-concurrent)", { "Retry-After": "1" });
    }
    const outcome = await running;
    duration.observe({ module }, (performance.now() - started) / 1000);
    const reg = outcome instanceof Registry ? outcome : outcome.registry;
    const success = outcome instanceof Registry ? true : outcome.success;
    probes.inc({ module, result: success ? "success" : "failure" });
    return { status: 200, body: await reg.metrics(), contentType: reg.contentType };
  };

  const answer = async (req: IncomingMessage): Promise<Answer> => {
    if (req.method !== "GET" && req.method !== "HEAD") return line(405, "rdpcert exporter: only GET", { Allow: "GET, HEAD" });
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://exporter.invalid");
    } catch {
      return line(400, "rdpcert exporter: not a valid request path");
    }
    if (url.pathname === "/probe") return probeAnswer(req, url);
    if (url.pathname === "/metrics") return { status: 200, body: await registry.metrics(), contentType: registry.contentType };
    if (url.pathname === "/") {
      return {
        status: 200,
        contentType: "text/html; charset=utf-8",
        body: '<html><head><title>rdpcert exporter</title></head><body><h1>rdpcert exporter</h1><p><a href="/probe?target=127.0.0.1:3389">/probe?target=127.0.0.1:3389</a></p><p><a href="/probe?module=local">/probe?module=local</a></p><p><a href="/metrics">/metrics</a></p></body></html>\n',
      };
    }
    return line(404, "rdpcert exporter: not found: use /probe?target=HOST:PORT, /probe?module=local or /metrics");
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    answer(req)
      .catch((error: unknown) => {
        probes.inc({ module: "unknown", result: "error" });
        // One line, no stack and no request text: the log has the rest.
        return line(500, `rdpcert exporter: internal error: ${error instanceof Error ? error.name : "unknown"}`);
      })
      .then((a) => {
        res.writeHead(a.status, { "Content-Type": a.contentType ?? "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(a.body), ...a.headers });
        res.end(req.method === "HEAD" ? undefined : a.body);
      })
      .catch(() => res.destroy());
  };

  return { handle, registry, limiter };
}
