import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../hosts/local/atomic-write";

/**
 * What the last `rdpcert run` pass met when it wrote its textfile (rdpcert.prom),
 * kept in the state dir: when the textfile directory cannot be written, the
 * textfile cannot say so itself, so `rdpcert exporter`'s module=local reports it
 * (rdpcert_local_textfile_write_success).
 */
export interface TextfileOutcome {
  readonly at: Date;
  /** The errno code of the failed write (EACCES, ENOENT, ...); null when it was written. */
  readonly error: string | null;
}

const FILE = "textfile.json";

/** Best effort: a state dir that cannot be written is another pass's problem (the log has it). */
export function recordTextfileOutcome(stateDir: string, outcome: TextfileOutcome): void {
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileAtomic(join(stateDir, FILE), `${JSON.stringify({ at: outcome.at.toISOString(), error: outcome.error })}\n`, { mode: 0o600 });
  } catch {
    // Nothing more to do: the pass's warnings already carry a textfile failure.
  }
}

/** The last recorded outcome; null when there is none or it cannot be read or parsed. */
export function readTextfileOutcome(stateDir: string): TextfileOutcome | null {
  try {
    const raw = JSON.parse(readFileSync(join(stateDir, FILE), "utf8")) as { at?: unknown; error?: unknown };
    const at = typeof raw.at === "string" ? new Date(raw.at) : null;
    if (at === null || Number.isNaN(at.getTime())) return null;
    return { at, error: typeof raw.error === "string" ? raw.error.slice(0, 32) : null };
  } catch {
    return null;
  }
}
