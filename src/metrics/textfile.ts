import { Gauge, Registry } from "prom-client";
import type { Verdict } from "../core/assess";
import { EXIT_CODE_SCALE } from "../core/exit-code";
import { join } from "node:path";
import { writeFileAtomic } from "../hosts/local/atomic-write";
import { StateDir } from "../hosts/local/state-dir";
import { UntrustedPathError } from "../hosts/local/trust";
import { withTrustedDirectory } from "../hosts/local/trusted-dir";
import type { PassSummary } from "../core/run-policy";
import { verdictGauge } from "./local-metrics";

/**
 * What one `run` pass leaves for node_exporter's (windows_exporter's) textfile
 * collector. One prefix for this source: `rdpcert_run_` (module=local's are
 * `rdpcert_local_`, /probe's `rdp_`): a host scraped both ways never has one
 * name twice.
 */
export interface RunMetrics {
  /** Null when the pass could not run (bad setup): every verdict series is 0. */
  readonly status: Verdict | null;
  readonly certNotAfter: Date | null;
  readonly finishedAt: Date;
  readonly exitCode: number;
  readonly lastRotationAt: Date | null;
  /** Consecutive failed attempts (the backoff count). */
  readonly rotationFailures: number;
}

export const TEXTFILE_NAME = "rdpcert.prom";

/** The text of rdpcert.prom (Prometheus text format 0.0.4). */
export async function runMetricsText(metrics: RunMetrics): Promise<string> {
  const registry = new Registry();
  const gauge = (name: string, help: string): Gauge<string> => new Gauge({ name, help, registers: [registry] });
  verdictGauge(registry, "rdpcert_run_status", metrics.status);
  if (metrics.certNotAfter)
    gauge(
      "rdpcert_run_cert_not_after_seconds",
      "notAfter of the configured certificate at the end of the last rdpcert run pass, in seconds since the Unix epoch",
    ).set(metrics.certNotAfter.getTime() / 1000);
  gauge("rdpcert_run_finished_timestamp_seconds", "When the last rdpcert run pass finished, in seconds since the Unix epoch").set(
    metrics.finishedAt.getTime() / 1000,
  );
  gauge("rdpcert_run_exit_code", `Exit code of the last rdpcert run pass (${EXIT_CODE_SCALE})`).set(metrics.exitCode);
  if (metrics.lastRotationAt)
    gauge("rdpcert_run_last_rotation_timestamp_seconds", "When rdpcert last finished a rotation or deployment, in seconds since the Unix epoch").set(
      metrics.lastRotationAt.getTime() / 1000,
    );
  gauge("rdpcert_run_rotation_failures", "Consecutive failed rotation or renewal attempts (the backoff count; 0 after a success)").set(
    metrics.rotationFailures,
  );
  return registry.metrics();
}

/** When the newest finished rotation in history.jsonl ended; null when rdpcert never rotated here. */
export function lastRotationAt(history: readonly unknown[]): Date | null {
  let latest: Date | null = null;
  for (const h of history) {
    const r = h as { outcome?: unknown; finishedAt?: unknown } | null;
    if (r === null || typeof r !== "object" || typeof r.finishedAt !== "string") continue;
    if (r.outcome !== "rotated" && r.outcome !== "deployed" && r.outcome !== "recovered:completed") continue;
    const at = new Date(r.finishedAt);
    if (!Number.isNaN(at.getTime()) && (latest === null || at > latest)) latest = at;
  }
  return latest;
}

/**
 * Writes DIR/rdpcert.prom atomically (temp file, fsync, rename): the textfile
 * collector never reads half a file. World-readable: it holds no secrets, and
 * node_exporter often runs as its own user. DIR and every directory and link
 * on the way to it must pass the trust rules, and the file is written into the
 * directory as opened and checked (the trust rules: never through a link another
 * user chose); an UntrustedPathError otherwise, and nothing is written.
 */
export async function writeRunMetrics(dir: string, metrics: RunMetrics): Promise<string> {
  const text = await runMetricsText(metrics);
  withTrustedDirectory(dir, { what: "the textfile directory", chain: "full" }, (at) => writeFileAtomic(join(at, TEXTFILE_NAME), text, { mode: 0o644 }));
  return join(dir, TEXTFILE_NAME);
}

/**
 * After a `run` pass: rdpcert.prom in `dir` from the pass's result (null: it
 * could not run, exit 3). A failure to write is returned as one line for the
 * log and the pass's warnings, never thrown: metrics never fail the pass. The
 * outcome is recorded in the state dir for module=local.
 */
export async function writePassMetrics(
  dir: string,
  pass: {
    readonly result: PassSummary | null;
    /** The backoff count (from the state dir when the pass could not run). */ readonly rotationFailures: number;
    readonly history: readonly unknown[];
    readonly stateDir: string;
    readonly now?: Date;
  },
): Promise<string | null> {
  const { result } = pass;
  const now = pass.now ?? new Date();
  let error: string | null = null;
  try {
    await writeRunMetrics(dir, {
      status: result?.status ?? null,
      certNotAfter: result?.certNotAfter ?? null,
      finishedAt: now,
      exitCode: result?.exitCode ?? 3,
      lastRotationAt: lastRotationAt(pass.history),
      rotationFailures: pass.rotationFailures,
    });
  } catch (caught) {
    if (caught instanceof UntrustedPathError) {
      new StateDir(pass.stateDir).writeTextfileRecord({ at: now, error: "untrusted directory" });
      return `not writing the textfile metrics ${join(dir, TEXTFILE_NAME)}: ${caught.message}; fix: ${caught.fix}`;
    }
    error = (caught as NodeJS.ErrnoException).code ?? (caught as Error).name;
  }
  new StateDir(pass.stateDir).writeTextfileRecord({ at: now, error });
  return error === null ? null : `cannot write the textfile metrics ${join(dir, TEXTFILE_NAME)}: ${error}`;
}
