import { certWithRawNotAfter } from "../helpers/certs";
import { rdpcert } from "../helpers/cli";
import { type TestDns, startTestDns } from "../helpers/dns-server";
import { xrdpPool } from "../helpers/xrdp-pool";

/**
 * `rdpcert doctor`: its name resolution honours --timeout as the
 * probe's does (a DNS server that never answers: a real one on loopback, in
 * the CLI's own mount namespace), and a listener whose certificate does not
 * parse is named for what it is. The wall clock is bounded by each test's own
 * timeout (before: 10 s for --timeout 1000).
 */
interface DoctorJson {
  exitCode: number;
  mostLikelyCause: { id: string; summary: string; fix: string[] } | null;
  checks: { id: string; status: string; detail: string }[];
}

function parse(run: { code: number | null; stdout: string; stderr: string }): DoctorJson {
  try {
    return JSON.parse(run.stdout) as DoctorJson;
  } catch {
    throw new Error(`doctor did not print JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

describe("rdpcert doctor: bounded and precise", () => {
  const start = xrdpPool();
  let dns: TestDns;
  beforeAll(async () => {
    dns = await startTestDns({});
  });
  afterAll(() => dns.close());

  it("a name the DNS server never answers: resolution fails within half of --timeout, and doctor ends", async () => {
    // Nothing is connected to: the name never resolves.
    const run = await rdpcert(["doctor", "--json", "--samples", "1", "--timeout", "1000", "never.rdpcert.test:3389"], { prefix: dns.prefix });
    const json = parse(run);
    expect(json.mostLikelyCause?.id).toBe("name-does-not-resolve");
    expect(json.checks.find((c) => c.id === "resolve")).toEqual({
      id: "resolve",
      title: "name resolution",
      status: "fail",
      detail:
        "never.rdpcert.test does not resolve: no answer within 500 ms (half of --timeout): check the DNS servers (/etc/resolv.conf), or give the IP address",
    });
    expect(dns.queries).toContain("never.rdpcert.test");
    expect(run.code).toBe(2);
  }, 8_000);

  it("a listener presenting a certificate that does not parse is an RDP listener with a broken certificate, not 'not an RDP listener'", async () => {
    const server = await start(certWithRawNotAfter("20301231235959"));
    const run = await rdpcert(["doctor", "--json", "--samples", "1", "--timeout", "3000", `127.0.0.1:${server.port}`]);
    const json = parse(run);
    expect(json.mostLikelyCause?.id).toBe("certificate-unparseable");
    expect(json.mostLikelyCause!.summary).toMatch(
      new RegExp(
        `^127\\.0\\.0\\.1:${server.port} is an RDP listener \\(it negotiated TLSv1\\.[23]\\) presenting a certificate that does not parse: the presented certificate \\(SHA-1 [0-9A-F]{40}\\) does not parse: its notAfter is not a valid time`,
      ),
    );
    expect(json.mostLikelyCause!.summary).not.toMatch(/not answer like an RDP listener/);
    expect(run.code).toBe(2);
  }, 30_000);
});
