import type { IncomingMessage, ServerResponse } from "node:http";
import { isIP } from "node:net";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { type Target, TargetError, parseTarget } from "../core/target";
import { probeRegistry } from "../metrics/probe-metrics";
import { type Prober, resolveDeadline, resolveFailure, resolveTimeout, unresolvedResult } from "../probe/prober";
import type { ProbeResult } from "../core/probe-result";
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
  /**
   * Every address a name resolves to, within `deadlineMs`: rejects with an
   * error named "ResolveTimeout" at the deadline, or with the resolver's error.
   */
  readonly lookup: (name: string, deadlineMs: number) => Promise<string[]>;
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

/**
 * The probe's deadline: Prometheus' scrape timeout header (seconds, may be
 * fractional) minus the margin, never more than the configured timeout
 * (`configuredMs`, --timeout): the client may shorten the deadline, not
 * lengthen it, so a few slow requests cannot hold every slot for minutes.
 */
export function probeTimeoutMs(header: string | string[] | undefined, configuredMs: number): number {
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^\d{1,9}(\.\d{1,9})?$/.test(text.trim())) return configuredMs;
  const ms = Number(text.trim()) * 1000 - SCRAPE_TIMEOUT_MARGIN_MS;
  return Math.min(configuredMs, Math.max(MIN_PROBE_TIMEOUT_MS, Math.floor(ms)));
}

type Answer = { readonly status: number; readonly body: string; readonly contentType?: string; readonly headers?: Record<string, string> };

const line = (status: number, text: string, headers?: Record<string, string>): Answer => ({
  status,
  body: `${text}\n`,
  contentType: "text/plain; charset=utf-8",
  headers,
});

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

  /**
   * A target name, resolved inside the probe's deadline (half of it, as the
   * prober does) and only once the request holds a slot: its addresses must
   * all be allowed unless the name itself is. The probe then gets what is
   * left of the deadline.
   */
  const resolveTarget = async (
    target: Target,
    timeoutMs: number,
  ): Promise<{ target: Target; timeoutMs: number } | { refused: true } | { failed: ProbeResult }> => {
    const listed = options.allow.allowsName(target.host);
    const resolveMs = resolveDeadline(timeoutMs);
    const started = performance.now();
    let addresses: string[];
    try {
      addresses = await deps.lookup(target.host, resolveMs);
    } catch (error) {
      const took = performance.now() - started;
      if (error instanceof Error && error.name === "ResolveTimeout")
        return { failed: unresolvedResult(target, resolveTimeout(resolveMs, "half of the probe's deadline"), took) };
      // A name nobody listed that does not resolve cannot be shown to be allowed.
      if (!listed) return { refused: true };
      return { failed: unresolvedResult(target, resolveFailure(error as NodeJS.ErrnoException), took) };
    }
    if (addresses.length === 0 && listed)
      return { failed: unresolvedResult(target, { kind: "resolve-failed", message: "name does not resolve (no address)" }, performance.now() - started) };
    if (!listed && (addresses.length === 0 || !addresses.every((a) => options.allow.allowsAddress(a)))) return { refused: true };
    return { target: { ...target, host: addresses[0]! }, timeoutMs: Math.max(1, Math.floor(timeoutMs - (performance.now() - started))) };
  };

  const refusedAnswer = (module: string, host: string): Answer => {
    probes.inc({ module, result: "refused" });
    return line(403, `rdpcert exporter: target ${host} is not allowed: add it, or a network holding it, with --allow-target`);
  };

  const probeAnswer = async (req: IncomingMessage, url: URL): Promise<Answer> => {
    const module = url.searchParams.get("module") ?? "rdp";
    if (module !== "rdp" && module !== "local") {
      probes.inc({ module: "unknown", result: "invalid" });
      return line(400, "rdpcert exporter: unknown module: use module=rdp (the default, with target=HOST:PORT) or module=local");
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
      try {
        target = parseTarget(targets[0]!);
      } catch (error) {
        probes.inc({ module, result: "invalid" });
        if (error instanceof TargetError) return line(400, `rdpcert exporter: ${error.reason}`);
        throw error;
      }
      // An address is judged at once; a name only once the limits admit the request (below).
      if (isIP(target.host) && !options.allow.allowsAddress(target.host)) return refusedAnswer(module, target.host);
    }

    if (!limiter.admit()) {
      probes.inc({ module, result: "limited" });
      return line(429, "rdpcert exporter: too many probe requests per second (--max-rate)", { "Retry-After": "1" });
    }
    const started = performance.now();
    const running = limiter.run(async (): Promise<{ registry: Registry; success: boolean } | { refused: true }> => {
      // The deadline counts from the request's arrival: time spent waiting for a slot is spent.
      const left = Math.max(MIN_PROBE_TIMEOUT_MS, Math.ceil(timeoutMs - (performance.now() - started)));
      if (module === "local") return { registry: await deps.local(left), success: true };
      let probeTarget = target!;
      let probeMs = left;
      if (!isIP(probeTarget.host)) {
        const resolved = await resolveTarget(probeTarget, left);
        if ("refused" in resolved) return resolved;
        if ("failed" in resolved) return { registry: probeRegistry(resolved.failed, { now: now(), warnDays }), success: false };
        probeTarget = resolved.target;
        probeMs = resolved.timeoutMs;
      }
      // withChain: probe_ssl_earliest_cert_expiry is the earliest notAfter of every certificate sent, as blackbox's.
      const result = await deps.prober(probeTarget, { timeoutMs: probeMs, withChain: true });
      return { registry: probeRegistry(result, { now: now(), warnDays }), success: result.error === null && result.certificate !== null };
    });
    if (!running) {
      probes.inc({ module, result: "limited" });
      return line(429, "rdpcert exporter: too many probes waiting (--max-concurrent)", { "Retry-After": "1" });
    }
    const outcome = await running;
    if ("refused" in outcome) return refusedAnswer(module, target!.host);
    duration.observe({ module }, (performance.now() - started) / 1000);
    probes.inc({ module, result: outcome.success ? "success" : "failure" });
    return { status: 200, body: await outcome.registry.metrics(), contentType: outcome.registry.contentType };
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
