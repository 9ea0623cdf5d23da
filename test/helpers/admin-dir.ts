import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made: string[] = [];

// Every admin dir a test file made is removed after that file (jest gives each test file its own
// copy of this module; the hook is registered on the file's top level when the file imports it).
if (typeof afterAll === "function") {
  afterAll(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
}

/**
 * A directory of the test runner's own (root's, 0700, under /tmp), for files that steer rdpcert as
 * root: config files, hook scripts, textfile directories. Not the xrdp server's directory: that
 * belongs to the xrdp user, and under the trust rules (docs/trust.md) nothing in it may steer root.
 * Removed after the test file that made it.
 */
export function adminDir(prefix = "rdpcert-admin-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
