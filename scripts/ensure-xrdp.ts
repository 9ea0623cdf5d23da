/**
 * Run before the tests: the e2e tests need a real xrdp (and openssl to check
 * thumbprints independently, systemd-analyze to verify generated units).
 * Installs what is missing with apt-get when we can (root), otherwise fails
 * with one line saying how. Never lets the e2e tests skip silently.
 */
import { execFileSync, spawnSync } from "node:child_process";

const NEEDED: readonly { command: string; pkg: string }[] = [
  { command: process.env.RDPCERT_XRDP_BIN ?? "xrdp", pkg: "xrdp" },
  { command: "openssl", pkg: "openssl" },
  { command: "systemd-analyze", pkg: "systemd" },
];

function have(command: string): boolean {
  return spawnSync("sh", ["-c", 'command -v "$1"', "sh", command], { stdio: "ignore" }).status === 0;
}

function main(): number {
  const missing = NEEDED.filter((n) => !have(n.command));
  if (missing.length === 0) return 0;
  const pkgs = missing.map((m) => m.pkg);
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !have("apt-get")) {
    process.stderr.write(`rdpcert tests: ${missing.map((m) => m.command).join(", ")} not installed and cannot be installed from here; run 'sudo apt-get install -y ${pkgs.join(" ")}' and try again\n`);
    return 1;
  }
  process.stderr.write(`rdpcert tests: installing ${pkgs.join(", ")} with apt-get (the e2e tests start real xrdp servers)\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    execFileSync("apt-get", ["update", "-q"], { stdio: ["ignore", "ignore", "inherit"], env });
    execFileSync("apt-get", ["install", "-y", "-q", ...pkgs], { stdio: ["ignore", "ignore", "inherit"], env });
  } catch {
    process.stderr.write(`rdpcert tests: 'apt-get install -y ${pkgs.join(" ")}' failed; install them by hand and try again\n`);
    return 1;
  }
  const still = missing.filter((m) => !have(m.command));
  if (still.length) {
    process.stderr.write(`rdpcert tests: ${still.map((m) => m.command).join(", ")} still not on PATH after installing; check 'dpkg -L ${still[0]!.pkg}'\n`);
    return 1;
  }
  return 0;
}

process.exitCode = main();
