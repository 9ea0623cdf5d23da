/**
 * Run before the tests: the e2e tests need a real xrdp. Installs it with apt-get
 * when it is missing and we can (root), otherwise fails with one line saying how.
 * Never lets the e2e tests skip silently.
 */
import { execFileSync, spawnSync } from "node:child_process";

function have(command: string): boolean {
  return spawnSync("sh", ["-c", 'command -v "$1"', "sh", command], { stdio: "ignore" }).status === 0;
}

function main(): number {
  if (have(process.env.RDPCERT_XRDP_BIN ?? "xrdp")) return 0;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !have("apt-get")) {
    process.stderr.write("rdpcert tests: xrdp is not installed and cannot be installed from here; run 'sudo apt-get install -y xrdp' and try again\n");
    return 1;
  }
  process.stderr.write("rdpcert tests: xrdp is missing; installing it with apt-get (the e2e tests start real xrdp servers)\n");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    execFileSync("apt-get", ["update", "-q"], { stdio: ["ignore", "ignore", "inherit"], env });
    execFileSync("apt-get", ["install", "-y", "-q", "xrdp"], { stdio: ["ignore", "ignore", "inherit"], env });
  } catch {
    process.stderr.write("rdpcert tests: 'apt-get install -y xrdp' failed; install xrdp by hand and try again\n");
    return 1;
  }
  if (!have("xrdp")) {
    process.stderr.write("rdpcert tests: xrdp still not on PATH after installing; check 'dpkg -L xrdp'\n");
    return 1;
  }
  return 0;
}

process.exitCode = main();
