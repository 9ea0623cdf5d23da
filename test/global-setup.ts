import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Jest's global setup: a directory for this run's bookkeeping, named to the
 * workers through the environment (they start after this). test/helpers/users.ts
 * lists there the system users it had to create; global-teardown.ts removes them.
 * Not an RDPCERT_* name: the CLI warns about RDPCERT_* variables it does not know.
 */
export default function globalSetup(): void {
  process.env.JEST_RDPCERT_RUN_DIR = mkdtempSync(join(tmpdir(), "rdpcert-test-run-"));
}
