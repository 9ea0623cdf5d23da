import * as dgram from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xrdpPool } from "../helpers/xrdp-pool";
import { certValid } from "../helpers/certs";
import { rdpcert } from "../helpers/cli";

/**
 * A DNS server that never answers. A real UDP socket on
 * 127.0.0.153:53 reads the queries and never replies; the CLI runs in its own
 * mount namespace where /etc/resolv.conf names only that server (the host's
 * file is untouched), so the system resolver (getaddrinfo) really waits on it.
 */
describe("a DNS server that never answers (issue 12 item 4)", () => {
  const start = xrdpPool();
  let blackhole: dgram.Socket;
  let queries = 0;
  let dir: string;
  let resolvConf: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rdpcert-dns-"));
    resolvConf = join(dir, "resolv.conf");
    writeFileSync(resolvConf, "nameserver 127.0.0.153\n");
    blackhole = dgram.createSocket("udp4");
    blackhole.on("message", () => queries++);
    await new Promise<void>((resolve, reject) => {
      blackhole.once("error", reject);
      blackhole.bind(53, "127.0.0.153", () => resolve());
    });
  });
  afterAll(() => {
    blackhole.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // The paths travel as arguments ("$1"), never spliced into the script.
  const probeWithBlackholeDns = (args: readonly string[]) =>
    rdpcert(["probe", ...args], {
      prefix: ["unshare", "-m", "--propagation", "private", "sh", "-c", 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"', "sh", resolvConf],
    });

  it("the slow name is resolve-timeout; healthy localhost and 127.0.0.1 targets stay OK", async () => {
    const server = await start(certValid(-1, 179, "localhost"));
    const run = await probeWithBlackholeDns([
      "--json",
      "--timeout",
      "2000",
      `slow.rdpcert.test:${server.port}`,
      `localhost:${server.port}`,
      `127.0.0.1:${server.port}`,
    ]);
    const report = JSON.parse(run.stdout) as { results: { input: string; status: string; error: { kind: string; message: string } | null }[] };
    expect(report.results.map((r) => [r.status, r.error?.kind ?? null])).toEqual([
      ["critical", "resolve-timeout"],
      ["ok", null],
      ["ok", null],
    ]);
    expect(report.results[0]!.error!.message).toBe(
      "name resolution did not answer within 1000 ms (half of --timeout): check the DNS servers (/etc/resolv.conf), or probe the IP address",
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("");
    expect(queries).toBeGreaterThan(0);
  });

  it("many slow names do not hold the healthy target, in text output too", async () => {
    const server = await start(certValid(-1, 179, "many-slow"));
    const slow = Array.from({ length: 6 }, (_, i) => `slow${i}.rdpcert.test:${server.port}`);
    const run = await probeWithBlackholeDns(["--timeout", "2000", ...slow, `127.0.0.1:${server.port}`, `localhost:${server.port}`]);
    expect(run.code).toBe(2);
    expect(run.stdout.match(/^slow\d\.rdpcert\.test:\d+ {2}CRITICAL {2}name resolution did not answer within 1000 ms/gm)).toHaveLength(6);
    expect(run.stdout).toMatch(new RegExp(`^127\\.0\\.0\\.1:${server.port}  OK  `, "m"));
    expect(run.stdout).toMatch(new RegExp(`^localhost:${server.port}  OK  `, "m"));
  });
});
