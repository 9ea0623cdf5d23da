import { type Command, Option } from "commander";
import { DEFAULT_CONFIG_PATH, integerIn, timeoutOption, warnDaysOption } from "../options";
import { UsageError } from "../exit-codes";

export const DEFAULT_EXPORTER_PORT = 9733;

/**
 * `rdpcert exporter`: declared here whole (flags, help, action), so that the
 * CLI registers it with one call. Everything heavy (prom-client, http, the
 * prober, the config schema) is imported only when the command runs.
 */
export function registerExporter(program: Command): Command {
  return program
    .command("exporter")
    .description(
      "Serve Prometheus metrics: probe one RDP listener per scrape (/probe?target=HOST:PORT), this host's status (/probe?module=local), and the exporter's own metrics (/metrics).",
    )
    .addOption(
      new Option("--listen <addr:port>", "where to listen; a non-loopback address exposes the exporter to the network").default(
        `127.0.0.1:${DEFAULT_EXPORTER_PORT}`,
      ),
    )
    .addOption(new Option("--config <path>", "rdpcert's configuration file (JSON): backend, xrdpIni, warnDays for module=local").default(DEFAULT_CONFIG_PATH))
    .addOption(
      new Option(
        "--allow-target <host|cidr>",
        "a host name, address or network (10.0.0.0/8, fd00::/8) the exporter may probe; repeat for more. Default: loopback only",
      ).argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]),
    )
    .addOption(
      timeoutOption()
        .default(5000)
        .argParser(integerIn(1, 600_000, "--timeout")),
    )
    .addOption(warnDaysOption())
    .addOption(
      new Option("--max-concurrent <n>", "probes in flight at once; 4 times as many may wait, more get 429")
        .default(128)
        .argParser(integerIn(1, 4096, "--max-concurrent")),
    )
    .addOption(
      new Option("--max-rate <n>", "probe requests per second (burst of one second's worth); more get 429")
        .default(200)
        .argParser(integerIn(1, 100_000, "--max-rate")),
    )
    .addHelpText(
      "after",
      `
The deadline of each probe is --timeout, or Prometheus' scrape timeout (the
X-Prometheus-Scrape-Timeout-Seconds header) minus 0.5 s when that is shorter: a client can shorten
the deadline, never lengthen it. A name is resolved (within half the deadline) only once the rate
and concurrency limits admitted the request. SIGHUP reads the configuration file again. Targets outside
--allow-target get 403 (it is not an open scanner); a name is allowed when it is listed, or when
every address it resolves to is.

Examples:
  rdpcert exporter                                         # 127.0.0.1:${DEFAULT_EXPORTER_PORT}, loopback targets only
  rdpcert exporter --listen 0.0.0.0:${DEFAULT_EXPORTER_PORT} --allow-target 10.20.0.0/16 --allow-target rdp01.example.com
  curl 'http://127.0.0.1:${DEFAULT_EXPORTER_PORT}/probe?target=127.0.0.1:3389&warn_days=21'
  curl 'http://127.0.0.1:${DEFAULT_EXPORTER_PORT}/probe?module=local'

Scrape config (prometheus.yml; see contrib/prometheus/ for file_sd, alert rules and a dashboard):
  scrape_configs:
    - job_name: rdp
      metrics_path: /probe
      scrape_interval: 60s
      scrape_timeout: 10s
      static_configs:
        - targets: ["rdp01.example.com:3389", "10.20.0.7:3389"]
      relabel_configs:
        - source_labels: [__address__]
          target_label: __param_target
        - source_labels: [__param_target]
          target_label: instance
        - target_label: __address__
          replacement: 127.0.0.1:${DEFAULT_EXPORTER_PORT}
    - job_name: rdpcert_exporter
      static_configs:
        - targets: ["127.0.0.1:${DEFAULT_EXPORTER_PORT}"]

Exit codes:
  0  stopped by SIGTERM or SIGINT
  3  bad usage (a bad --listen or --allow-target), bad configuration, or the address is taken`,
    )
    .action(
      async (
        opts: { listen: string; config: string; allowTarget?: string[]; timeout: number; warnDays: number; maxConcurrent: number; maxRate: number },
        command: Command,
      ) => {
        (await import("../../app/long-running")).keepYoungGenerationSmall();
        const { parseTarget, TargetError } = await import("../../core/target");
        const { parseAllowList, AllowListError, DEFAULT_ALLOWED } = await import("../../metrics/allow-list");
        let listen;
        try {
          // Port 0 asks the system for a free port (printed on start); parseTarget wants 1-65535.
          const zero = /:0$/.test(opts.listen);
          listen = parseTarget(zero ? opts.listen.replace(/:0$/, "") : opts.listen, DEFAULT_EXPORTER_PORT);
          if (zero) listen = { ...listen, port: 0 };
        } catch (error) {
          if (error instanceof TargetError) throw new UsageError(`--listen: ${error.reason}`);
          throw error;
        }
        let allow;
        try {
          allow = parseAllowList(opts.allowTarget ?? [...DEFAULT_ALLOWED]);
        } catch (error) {
          if (error instanceof AllowListError) throw new UsageError(error.message);
          throw error;
        }
        const { configFor } = await import("../config-flags");
        // The exporter's --port/--timeout mean its own listener and probe deadline, not the config's fields.
        const config = await configFor(command, { exclude: ["port", "timeout", "warnDays"] });
        const warnDays = command.getOptionValueSource("warnDays") === "cli" ? opts.warnDays : config.warnDays;
        const { runExporter, ListenError } = await import("../../app/exporter");
        try {
          const reload = async (): Promise<{ config: typeof config; warnDays: number }> => {
            const next = await configFor(command, { exclude: ["port", "timeout", "warnDays"] });
            return { config: next, warnDays: command.getOptionValueSource("warnDays") === "cli" ? opts.warnDays : next.warnDays };
          };
          process.exitCode = await runExporter({
            host: listen.host,
            port: listen.port,
            allow,
            timeoutMs: opts.timeout,
            warnDays,
            maxConcurrent: opts.maxConcurrent,
            ratePerSecond: opts.maxRate,
            config,
            reload,
          });
        } catch (error) {
          if (error instanceof ListenError) throw new UsageError(error.message);
          throw error;
        }
      },
    );
}
