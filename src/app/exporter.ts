import { lookup } from "node:dns/promises";
import { type Server, createServer } from "node:http";
import type { Config } from "../core/config";
import { formatEndpoint } from "../core/target";
import { localRegistry } from "../metrics/local-metrics";
import { readTextfileOutcome } from "../schedule/textfile-record";
import { collectStatus } from "./status";
import { collectGarbageWhenIdle } from "./long-running";
import { probe } from "../probe/prober";
import type { AllowList } from "../metrics/allow-list";
import { type Exporter, createExporter } from "../metrics/exporter-server";

export interface RunExporterOptions {
  readonly host: string;
  readonly port: number;
  readonly allow: AllowList;
  readonly timeoutMs: number;
  readonly warnDays: number;
  readonly maxConcurrent: number;
  readonly ratePerSecond: number;
  /** The effective configuration: module=local inspects this host with its backend and xrdpIni. */
  readonly config: Config;
}

export class ListenError extends Error {
  override name = "ListenError";
}

/** Starts the HTTP server; resolves once it listens, with the address it got (port 0: a free one). */
export async function startExporter(options: RunExporterOptions): Promise<{ server: Server; exporter: Exporter; url: string }> {
  const exporter = createExporter(
    {
      allow: options.allow,
      defaultTimeoutMs: options.timeoutMs,
      warnDays: options.warnDays,
      maxConcurrent: options.maxConcurrent,
      queueLimit: options.maxConcurrent * 4,
      ratePerSecond: options.ratePerSecond,
    },
    {
      prober: probe,
      lookup: async (name) => (await lookup(name, { all: true })).map((a) => a.address),
      local: async (timeoutMs) => {
        // Read-only: the exporter never finishes or undoes an interrupted rotation.
        const report = await collectStatus({ ...options.config, timeoutMs, warnDays: options.warnDays }, { recover: false });
        // What the last `run` met writing its textfile (absent when run never wrote one, or the exporter cannot read the state dir).
        return localRegistry(report, readTextfileOutcome(options.config.stateDir));
      },
    },
  );
  const server = createServer(exporter.handle);
  // After a burst of scrapes, compact the heap once the exporter has been idle for 10 s.
  const whenIdle = collectGarbageWhenIdle(10_000);
  server.on("request", whenIdle);
  // Slow or idle clients do not hold sockets for ever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 660_000;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(new ListenError(`cannot listen on ${formatEndpoint(options.host, options.port)}: ${error.code ?? error.message}${error.code === "EADDRINUSE" ? " (another process has the port: pick another with --listen)" : ""}`)),
    );
    server.listen({ host: options.host, port: options.port }, () => resolve());
  });
  const address = server.address();
  const port = address && typeof address === "object" ? address.port : options.port;
  return { server, exporter, url: `http://${formatEndpoint(options.host, port)}` };
}

/** `rdpcert exporter`: serves until SIGTERM or SIGINT, then closes and exits 0. */
export async function runExporter(options: RunExporterOptions): Promise<number> {
  const { server, url } = await startExporter(options);
  process.stderr.write(`rdpcert exporter: listening on ${url} (probe targets allowed: ${options.allow.entries.join(", ")})\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  process.stderr.write("rdpcert exporter: stopped\n");
  return 0;
}
