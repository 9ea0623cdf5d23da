import { execFileSync } from "node:child_process";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { lookupUser } from "../../scripts/xrdp-server";

/** In the run's directory (test/global-setup.ts): the users this run created, one per line, removed by test/global-teardown.ts. */
export const CREATED_USERS_FILE = "created-users";

/**
 * A real system user for the tests (no home, no login shell): an unprivileged
 * monitoring user, say. Created once per run when missing, and then removed
 * after the run; a user that existed before stays.
 */
export function ensureUser(name: string): { uid: number; gid: number } {
  if (!lookupUser(name)) {
    execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]);
    const runDir = process.env.JEST_RDPCERT_RUN_DIR;
    if (runDir) appendFileSync(join(runDir, CREATED_USERS_FILE), `${name}\n`);
  }
  return lookupUser(name)!;
}
