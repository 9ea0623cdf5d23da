import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { lookupUser } from "../scripts/xrdp-server";
import { CREATED_USERS_FILE } from "./helpers/users";

/**
 * Jest's global teardown: removes the system users this run created (and only
 * those: a user that existed before the run stays), then the run's directory.
 * A user that cannot be removed is said on stderr and fails the run.
 */
export default function globalTeardown(): void {
  const dir = process.env.JEST_RDPCERT_RUN_DIR;
  if (!dir) return;
  let names: string[] = [];
  try {
    names = [...new Set(readFileSync(join(dir, CREATED_USERS_FILE), "utf8").split("\n").filter(Boolean))];
  } catch {
    // No test created a user.
  }
  const failed: string[] = [];
  for (const name of names) {
    if (!lookupUser(name)) continue;
    try {
      execFileSync("userdel", [name], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (error) {
      failed.push(`${name}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  if (failed.length) throw new Error(`could not remove the test users this run created: ${failed.join("; ")}`);
}
