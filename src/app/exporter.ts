import { type Server, createServer } from "node:http";
import type { Config } from "../core/config";
import { formatEndpoint } from "../core/target";
import { localRegistry } from "../metrics/local-metrics";
import { StateDir } from "../hosts/local/state-dir";
import { collectStatus } from "./status";
import { collectGarbageWhenIdle } from "./long-running";
import { probe } from "../probe/prober";
import type { AllowList } from "../metrics/allow-list";
import { type Exporter, createExporter } from "../metrics/exporter-server";
import { resolveForExporter } from "../hosts/local/resolve-name";

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
  /** Reads the configuration again (SIGHUP); rejects with a one-line reason when it is bad. */
  readonly reload?: () => Promise<{ config: Config; warnDays: number }>;
}

export class ListenError extends Error {
  override name = "ListenError";
}

/** Starts the HTTP server; resolves once it listens, with the address it got (port 0: a free one). */
export async function startExporter(
  options: RunExporterOptions,
): Promise<{ server: Server; exporter: Exporter; url: string; reconfigure: (next: { config: Config; warnDays: number }) => void }> {
  // module=local reads these at each scrape, so that a reload (SIGHUP) applies to the next one.
  let current = { config: options.config, warnDays: options.warnDays };
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
      lookup: resolveForExporter,
      local: async (timeoutMs) => {
        // Read-only: the exporter never finishes or undoes an interrupted rotation.
        const report = await collectStatus({ ...current.config, timeoutMs, warnDays: current.warnDays }, { recover: false });
        // What the last `run` met writing its textfile (absent when run never wrote one, or the exporter cannot read the state dir).
        return localRegistry(report, new StateDir(current.config.stateDir).readTextfileRecord());
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
      reject(
        new ListenError(
          `cannot listen on ${formatEndpoint(options.host, options.port)}: ${error.code ?? error.message}${error.code === "EADDRINUSE" ? " (another process has the port: pick another with --listen)" : ""}`,
        ),
      ),
    );
    server.listen({ host: options.host, port: options.port }, () => resolve());
  });
  const address = server.address();
  const port = address && typeof address === "object" ? address.port : options.port;
  return { server, exporter, url: `http://${formatEndpoint(options.host, port)}`, reconfigure: (next) => (current = next) };
}

/**
 * `rdpcert exporter`: serves until SIGTERM or SIGINT, then closes and exits 0.
 * SIGHUP reads the configuration file again (as blackbox_exporter and
 * Prometheus do): module=local uses the new one from the next scrape; a bad
 * file is one line on stderr and the running configuration stays. Flags
 * (--listen, --allow-target, --timeout, limits) need a restart.
 */
export async function runExporter(options: RunExporterOptions): Promise<number> {
  const { server, url, reconfigure } = await startExporter(options);
  process.stderr.write(`rdpcert exporter: listening on ${url} (probe targets allowed: ${options.allow.entries.join(", ")})\n`);
  let reloading = false;
  const reload = (): void => {
    if (!options.reload) {
      process.stderr.write("rdpcert exporter: SIGHUP: nothing to reload\n");
      return;
    }
    if (reloading) return;
    reloading = true;
    options
      .reload()
      .then(
        (next) => {
          reconfigure(next);
          process.stderr.write("rdpcert exporter: SIGHUP: configuration reloaded\n");
        },
        (error: unknown) =>
          process.stderr.write(
            `rdpcert exporter: SIGHUP: configuration not reloaded, the running one stays: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}\n`,
          ),
      )
      .finally(() => (reloading = false));
  };
  process.on("SIGHUP", reload);
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
  // The SIGHUP handler stays to the end: a reload racing the stop is not the default action (exit 129).
  return 0;
}
