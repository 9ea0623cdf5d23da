import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { certValid } from "../helpers/certs";
import { CLI } from "../helpers/cli";
import { pwshPath } from "../helpers/pwsh";
import { writeXrdpConfig, xrdpPool } from "../helpers/xrdp-pool";
import { adminDir } from "../helpers/admin-dir";
import { presentedThumbprint, sha1 } from "../helpers/served";

/**
 * The Intune Remediations pair (contrib/intune) under PowerShell 7,
 * driving the real built rdpcert against a real xrdp on loopback: detection
 * exits 1 on an expiring certificate, remediation rotates it (rdpcert run),
 * detection exits 0 afterwards, and a second remediation is harmless. What
 * differs on Windows (node.exe under %ProgramFiles%, 32-bit PowerShell,
 * SYSTEM) is covered by test/windows/Intune.Tests.ps1 and has not run on a
 * real Windows host or in Intune.
 */
const INTUNE = join(__dirname, "..", "..", "contrib", "intune");

function intune(script: "Detect-RdpCert.ps1" | "Remediate-RdpCert.ps1", config: string): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(
    pwshPath(),
    ["-NoProfile", "-NonInteractive", "-File", join(INTUNE, script), "-Node", process.execPath, "-Cli", CLI, "-Config", config],
    { encoding: "utf8", timeout: 120_000 },
  );
  if (run.error) throw run.error;
  // Intune keeps one line of at most 2,048 characters.
  expect(run.stdout.endsWith("\n")).toBe(true);
  expect(run.stdout.trimEnd().split("\n")).toHaveLength(1);
  expect(run.stdout.trimEnd().length).toBeLessThanOrEqual(2048);
  return { code: run.status, stdout: run.stdout.trimEnd(), stderr: run.stderr };
}

describe("Intune Remediations scripts against the real rdpcert and real xrdp", () => {
  const start = xrdpPool();

  it("expiring: detection exits 1 with verdict, days left and thumbprint; remediation rotates (exit 0); detection then exits 0; a rerun changes nothing", async () => {
    const old = certValid(-130, 50); // past the renewal point
    const server = await start(old);
    const config = writeXrdpConfig(server);
    const before = sha1(old.certPem);

    const detect = intune("Detect-RdpCert.ps1", config);
    expect(detect.code).toBe(1);
    expect(detect.stdout).toMatch(new RegExp(`^rdpcert WARN \\(warn\\): 4\\d days left, thumbprint ${before}: .*renewal`));
    expect(readFileSync(server.certPath, "utf8")).toBe(old.certPem);

    const remediate = intune("Remediate-RdpCert.ps1", config);
    const now = await presentedThumbprint(server.port);
    expect(now).not.toBe(before);
    expect(remediate).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(new RegExp(`^rdpcert run: rotated \\(WARN, exit 0\\): new thumbprint ${now}: `)),
    });

    const again = intune("Detect-RdpCert.ps1", config);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^rdpcert OK \\(ok\\): 1[78]\\d days left, thumbprint ${now}: `));

    const rerun = intune("Remediate-RdpCert.ps1", config);
    expect(rerun).toMatchObject({ code: 0, stdout: expect.stringMatching(/^rdpcert run: nothing \(OK, exit 0\): /) });
    expect(await presentedThumbprint(server.port)).toBe(now);
  }, 180_000);

  it("a failure rdpcert cannot fix: detection exits 1, remediation exits 1 with rdpcert's reason and exit code", async () => {
    const server = await start({ certPem: certValid(-1, 179).certPem }); // key missing
    const config = join(adminDir(), "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        xrdpIni: server.iniPath,
        stateDir: join(server.dir, "state"),
        logDir: join(server.dir, "log"),
        restartCommand: null,
        autoRepair: false,
      }),
    );
    const detect = intune("Detect-RdpCert.ps1", config);
    expect(detect).toMatchObject({ code: 1, stdout: expect.stringMatching(/^rdpcert CORRUPT \(critical\): /) });
    const remediate = intune("Remediate-RdpCert.ps1", config);
    expect(remediate).toMatchObject({ code: 1, stdout: expect.stringMatching(/^rdpcert run: nothing \(CORRUPT, exit 2\): /) });
  }, 180_000);

  it("rdpcert not installed: one line naming the missing file, exit 1 (never a PowerShell error record)", () => {
    const missing = spawnSync(
      pwshPath(),
      ["-NoProfile", "-NonInteractive", "-File", join(INTUNE, "Detect-RdpCert.ps1"), "-Node", process.execPath, "-Cli", "/nonexistent/main.js"],
      { encoding: "utf8" },
    );
    expect([missing.status, missing.stdout, missing.stderr]).toEqual([1, "rdpcert UNKNOWN: rdpcert is not installed: /nonexistent/main.js is missing\n", ""]);
  });
});
