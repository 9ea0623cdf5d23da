import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A directory of the test runner's own (root's, 0700, under /tmp), for files that steer rdpcert as
 * root: config files, hook scripts, textfile directories. Not the xrdp server's directory: that
 * belongs to the xrdp user, and under the trust rules (docs/trust.md) nothing in it may steer root.
 */
export function adminDir(prefix = "rdpcert-admin-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
