import { existsSync } from "node:fs";
import { join } from "node:path";

/**
 * PowerShell 7 for the tests: RDPCERT_PWSH, else the .NET tool that
 * `npm test` installs into .tools/pwsh (scripts/ensure-test-tools.ts), else
 * pwsh on PATH. Never a reason to skip: a missing pwsh fails the test.
 */
export function pwshPath(): string {
  if (process.env.RDPCERT_PWSH) return process.env.RDPCERT_PWSH;
  const tool = join(__dirname, "..", "..", ".tools", "pwsh", "pwsh");
  return existsSync(tool) ? tool : "pwsh";
}
