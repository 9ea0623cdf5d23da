import { execFileSync } from "node:child_process";
import { lookupUser } from "../../scripts/xrdp-server";

/** A real system user for the tests (created once, no home, no login shell): an unprivileged monitoring user, say. */
export function ensureUser(name: string): { uid: number; gid: number } {
  if (!lookupUser(name)) execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]);
  return lookupUser(name)!;
}
