/**
 * `npm run demo`: a newcomer's first look. Starts throwaway xrdp servers on
 * loopback with freshly made certificates, runs the built `rdpcert` against
 * them exactly as an admin would, shows the real output, and stops them.
 */
import { spawnSync } from "node:child_process";
import { chownSync } from "node:fs";
import { join } from "node:path";
import { buildSelfSigned, generateKey } from "../src/core/self-signed";
import { DEMO_NEEDS, ensurePackages } from "./ensure-test-tools";
import { type XrdpServer, startXrdp } from "./xrdp-server";

const CLI = join(__dirname, "..", "src", "cli", "main.js");
const DAY = 86_400_000;

function freshPair(commonName: string, daysLeft: number): { certPem: string; keyPem: string } {
  const now = Date.now();
  return buildSelfSigned(generateKey(), {
    commonName,
    dnsNames: [commonName, "localhost"],
    ipAddresses: ["127.0.0.1"],
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + daysLeft * DAY),
  });
}

function run(title: string, args: readonly string[]): number {
  const bold = (text: string): string => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
  process.stdout.write(`\n${bold(`$ rdpcert ${args.join(" ")}`)}   # ${title}\n`);
  const result = spawnSync(process.execPath, [CLI, ...args], { stdio: ["ignore", "inherit", "inherit"] });
  process.stdout.write(`(exit code ${result.status})\n`);
  return result.status ?? -1;
}

async function main(): Promise<number> {
  // The README promises that `npm install && npm run demo` does all the set-up: xrdp as the tests get it.
  if (!ensurePackages(DEMO_NEEDS, "rdpcert demo")) return 1;
  const servers: XrdpServer[] = [];
  const stopAll = (): Promise<unknown> => Promise.all(servers.map((s) => s.stop()));
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));
  try {
    process.stdout.write("Starting two throwaway xrdp servers on loopback with fresh self-signed certificates...\n");
    const healthy = await startXrdp(freshPair("demo-healthy", 180));
    servers.push(healthy);
    const expiring = await startXrdp(freshPair("demo-expiring", 10));
    servers.push(expiring);
    const a = `${healthy.host}:${healthy.port}`;
    const b = `${expiring.host}:${expiring.port}`;

    const codes = [
      run("a healthy listener: exit 0", ["probe", a]),
      run("two listeners, one expires in 10 days: exit 1 (WARNING)", ["probe", a, b]),
      run("the same as JSON for tools", ["probe", b, "--json"]),
      run("on the host: configured vs presented, verdict OK", ["status", "--xrdp-ini", healthy.iniPath]),
    ];
    const expected = [0, 1, 1, 0];
    // Rotation: the expiring listener gets a new certificate, verified by a real handshake.
    const state = `${expiring.dir}/state`;
    codes.push(
      run("rotate the expiring certificate: backup, new pair, verify (xrdp needs no restart)", [
        "rotate",
        "--xrdp-ini",
        expiring.iniPath,
        "--state-dir",
        state,
        "--yes",
        "--no-restart",
      ]),
    );
    codes.push(run("the listener now presents the new certificate: exit 0", ["probe", b]));
    expected.push(0, 0);
    if (healthy.runAs) {
      // What happens on many hosts: the key's owner changes and xrdp (running as its own user) cannot read it.
      chownSync(healthy.keyPath, 0, 0);
      process.stdout.write(`\n# now the key is made unreadable for xrdp: chown root:root ${healthy.keyPath}\n`);
      codes.push(run("xrdp silently drops TLS; status names the cause and the fix", ["status", "--xrdp-ini", healthy.iniPath]));
      codes.push(
        run("what a user with 'error 0x904' would run: doctor names the most likely cause", ["doctor", "--xrdp-ini", healthy.iniPath, "--samples", "3"]),
      );
      expected.push(2, 2);
    }
    if (codes.some((code, i) => code !== expected[i])) {
      process.stderr.write(`demo: unexpected exit codes ${codes.join(",")} (expected ${expected.join(",")})\n`);
      return 1;
    }
    process.stdout.write("\nDemo finished: the servers are stopped and their temp dirs removed.\n");
    return 0;
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => (process.exitCode = code),
  (error: Error) => {
    process.stderr.write(`demo: ${error.message}\n`);
    process.exitCode = 1;
  },
);
