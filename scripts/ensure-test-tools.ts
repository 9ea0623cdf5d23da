/**
 * Run before the tests: the e2e tests need a real xrdp (and openssl to check
 * thumbprints independently, systemd-analyze to verify generated units), and
 * the PowerShell tests need PowerShell 7 (`pwsh`), which installs as a .NET
 * tool into .tools/pwsh. Installs what is missing when we can (apt-get as
 * root; dotnet for pwsh), otherwise fails with one line saying how. Never
 * lets a test skip silently.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");
/** Where the tests look for pwsh (test/helpers/pwsh.ts): RDPCERT_PWSH, else this, else pwsh on PATH. */
export const PWSH_TOOL_DIR = join(ROOT, ".tools", "pwsh");
const PWSH_VERSION = "7.6.9";
/** Pester from NuGet (package `Pester`), restored by a throwaway project into .tools/nuget. */
export const PESTER_VERSION = "5.7.1";
export const PESTER_MANIFEST = join(ROOT, ".tools", "nuget", "pester", PESTER_VERSION, "tools", "Pester.psd1");

export interface Needed {
  readonly command: string;
  readonly pkg: string;
}

/** What the demo needs: a real xrdp to run rdpcert against. */
export const DEMO_NEEDS: readonly Needed[] = [{ command: process.env.RDPCERT_XRDP_BIN ?? "xrdp", pkg: "xrdp" }];

const NEEDED: readonly Needed[] = [
  { command: process.env.RDPCERT_XRDP_BIN ?? "xrdp", pkg: "xrdp" },
  { command: "openssl", pkg: "openssl" },
  { command: "systemd-analyze", pkg: "systemd" },
  // A host whose clock jumped: the CLI runs under libfaketime.
  { command: "faketime", pkg: "faketime" },
  // Real Prometheus scraping the exporter; promtool checks the rules and the textfile output.
  { command: "promtool", pkg: "prometheus" },
  { command: "prometheus", pkg: "prometheus" },
  // The shipped contrib/prometheus setup end to end: node_exporter's textfile collector reads rdpcert run's rdpcert.prom;
  // blackbox_exporter side by side with the exporter's blackbox-compatible series.
  { command: "prometheus-node-exporter", pkg: "prometheus-node-exporter" },
  { command: "prometheus-blackbox-exporter", pkg: "prometheus-blackbox-exporter" },
  // A real ACME round trip for deploy: pebble issues, certbot's --deploy-hook runs rdpcert deploy --from-certbot.
  { command: "pebble", pkg: "pebble" },
  { command: "certbot", pkg: "certbot" },
  // The Ansible collection (contrib/ansible): ansible-galaxy builds and installs it, ansible-playbook runs it.
  { command: "ansible-playbook", pkg: "ansible-core" },
  // The real FreeRDP 2 client (strict /cert-deny) against real xrdp, under a virtual X server.
  { command: "xfreerdp", pkg: "freerdp2-x11" },
  // The other Linux RDP servers: weston's RDP backend, and FreeRDP's shadow server on Xvfb.
  { command: "weston", pkg: "weston" },
  { command: "freerdp-shadow-cli", pkg: "freerdp2-shadow-x11" },
  { command: "Xvfb", pkg: "xvfb" },
  // gnome-remote-desktop 43's configuration: the real gsettings and dconf (its service, started on a
  // private session bus by dbus-run-session, writes the user's database; the GIO module reads it), schemas compiled here.
  { command: "gsettings", pkg: "libglib2.0-bin" },
  { command: "glib-compile-schemas", pkg: "libglib2.0-bin" },
  { command: "dbus-run-session", pkg: "dbus-daemon" },
  { command: "/usr/libexec/dconf-service", pkg: "dconf-gsettings-backend" },
];

function have(command: string): boolean {
  return spawnSync("sh", ["-c", 'command -v "$1"', "sh", command], { stdio: "ignore" }).status === 0;
}

/**
 * Installs the Debian packages of the missing commands with apt-get when root,
 * else one line saying how. `who` names the caller in messages.
 */
export function ensurePackages(needed: readonly Needed[] = NEEDED, who = "rdpcert tests"): boolean {
  const missing = needed.filter((n) => !have(n.command));
  if (missing.length === 0) return true;
  const pkgs = missing.map((m) => m.pkg);
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !have("apt-get")) {
    process.stderr.write(
      `${who}: ${missing.map((m) => m.command).join(", ")} not installed and cannot be installed from here; run 'sudo apt-get install -y ${pkgs.join(" ")}' and try again\n`,
    );
    return false;
  }
  process.stderr.write(`${who}: installing ${pkgs.join(", ")} with apt-get (it starts real xrdp servers)\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    execFileSync("apt-get", ["update", "-q"], { stdio: ["ignore", "ignore", "inherit"], env });
    execFileSync("apt-get", ["install", "-y", "-q", ...pkgs], { stdio: ["ignore", "ignore", "inherit"], env });
  } catch {
    process.stderr.write(`${who}: 'apt-get install -y ${pkgs.join(" ")}' failed; install them by hand and try again\n`);
    return false;
  }
  const still = missing.filter((m) => !have(m.command));
  if (still.length) {
    process.stderr.write(`${who}: ${still.map((m) => m.command).join(", ")} still not on PATH after installing; check 'dpkg -L ${still[0]!.pkg}'\n`);
    return false;
  }
  return true;
}

function ensurePwsh(): boolean {
  if (process.env.RDPCERT_PWSH || existsSync(join(PWSH_TOOL_DIR, "pwsh")) || have("pwsh")) return true;
  if (!have("dotnet")) {
    process.stderr.write(
      "rdpcert tests: PowerShell 7 (pwsh) is not installed and there is no dotnet to install it with; install the .NET SDK, or set RDPCERT_PWSH to a pwsh binary\n",
    );
    return false;
  }
  process.stderr.write(`rdpcert tests: installing PowerShell ${PWSH_VERSION} as a .NET tool into ${PWSH_TOOL_DIR} (the Windows scripts run under it)\n`);
  const run = spawnSync("dotnet", ["tool", "install", "--tool-path", PWSH_TOOL_DIR, "PowerShell", "--version", PWSH_VERSION], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: "1", DOTNET_NOLOGO: "1" },
    encoding: "utf8",
  });
  if (run.status !== 0 || !existsSync(join(PWSH_TOOL_DIR, "pwsh"))) {
    const line = (run.stderr ?? "").split("\n").find((l) => l.trim()) ?? `exit ${run.status}`;
    process.stderr.write(
      `rdpcert tests: 'dotnet tool install PowerShell --version ${PWSH_VERSION}' failed (${line.trim()}); install pwsh by hand or set RDPCERT_PWSH\n`,
    );
    return false;
  }
  return true;
}

/**
 * Pester is a NuGet package whose tools/ folder is the module: a restore of a
 * project that only downloads it (PackageDownload) puts it under .tools/nuget.
 */
export function ensurePester(): boolean {
  if (existsSync(PESTER_MANIFEST)) return true;
  if (!have("dotnet")) {
    process.stderr.write(`rdpcert tests: Pester ${PESTER_VERSION} is not in .tools/nuget and there is no dotnet to restore it with; install the .NET SDK\n`);
    return false;
  }
  process.stderr.write(`rdpcert tests: restoring Pester ${PESTER_VERSION} from NuGet into .tools/nuget (the Windows scripts' tests)\n`);
  const project = join(ROOT, ".tools", "pester-restore");
  mkdirSync(project, { recursive: true });
  writeFileSync(
    join(project, "pester-restore.csproj"),
    `<Project Sdk="Microsoft.NET.Sdk">\n  <PropertyGroup><TargetFramework>netstandard2.0</TargetFramework></PropertyGroup>\n  <ItemGroup><PackageDownload Include="Pester" Version="[${PESTER_VERSION}]" /></ItemGroup>\n</Project>\n`,
  );
  const run = spawnSync("dotnet", ["restore", join(project, "pester-restore.csproj"), "--packages", join(ROOT, ".tools", "nuget")], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: "1", DOTNET_NOLOGO: "1" },
    encoding: "utf8",
  });
  rmSync(project, { recursive: true, force: true });
  if (run.status !== 0 || !existsSync(PESTER_MANIFEST)) {
    const line = `${run.stdout ?? ""}\n${run.stderr ?? ""}`.split("\n").find((l) => /error/i.test(l)) ?? `exit ${run.status}`;
    process.stderr.write(`rdpcert tests: 'dotnet restore' of Pester ${PESTER_VERSION} from NuGet failed (${line.trim()}); check that nuget.org is reachable\n`);
    return false;
  }
  return true;
}

if (require.main === module) {
  // --powershell: only what the Windows scripts' tests need (npm run test:windows).
  const powershellOnly = process.argv.includes("--powershell");
  process.exitCode = (powershellOnly || ensurePackages()) && ensurePwsh() && ensurePester() ? 0 : 1;
}
