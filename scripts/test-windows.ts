/**
 * `npm run test:windows` (and the end of `npm test`): the Pester suite of the
 * Windows scripts (test/windows) under PowerShell 7 against the Windows host
 * model, with Pester's summary and its line coverage of every .ps1 in
 * src/hosts/windows/scripts (target 85 %). Extra arguments go to
 * test/windows/run-pester.ps1 (e.g. -Verbosity Detailed, -FullName '*restart*').
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { PESTER_MANIFEST, PWSH_TOOL_DIR } from "./ensure-test-tools";

const ROOT = join(__dirname, "..", "..");

function pwsh(): string {
  if (process.env.RDPCERT_PWSH) return process.env.RDPCERT_PWSH;
  const tool = join(PWSH_TOOL_DIR, "pwsh");
  return existsSync(tool) ? tool : "pwsh";
}

if (require.main === module) {
  if (!existsSync(PESTER_MANIFEST)) {
    process.stderr.write(
      `rdpcert tests: Pester is not in ${PESTER_MANIFEST}; run 'node dist/scripts/ensure-test-tools.js --powershell' (npm run test:windows does)\n`,
    );
    process.exit(1);
  }
  const run = spawnSync(
    pwsh(),
    ["-NoProfile", "-NonInteractive", "-File", join(ROOT, "test", "windows", "run-pester.ps1"), "-PesterManifest", PESTER_MANIFEST, ...process.argv.slice(2)],
    { stdio: "inherit", cwd: ROOT },
  );
  if (run.error) process.stderr.write(`rdpcert tests: cannot start pwsh (${run.error.message}); npm run test:windows installs it\n`);
  process.exit(run.status ?? 1);
}
