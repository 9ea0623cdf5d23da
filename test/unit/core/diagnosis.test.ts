import { X509Certificate } from "node:crypto";
import { describeCertificate } from "../../../src/core/certificate";
import { linkStats, nameMatches } from "../../../src/core/diagnosis";
import { buildSelfSigned } from "../../../src/core/self-signed";
import { testKey } from "../../helpers/certs";

const cert = (commonName: string, dnsNames: string[], ipAddresses: string[] = []) =>
  describeCertificate(
    Buffer.from(
      new X509Certificate(
        buildSelfSigned(testKey(), { commonName, dnsNames, ipAddresses, notBefore: new Date(), notAfter: new Date(Date.now() + 86_400_000) }).certPem,
      ).raw,
    ),
  );

describe("nameMatches", () => {
  it("matches DNS SANs exactly and one-label wildcards, case-insensitively", () => {
    const c = cert("rdp", ["rdp01.corp.example", "*.vdi.example"]);
    expect(nameMatches("RDP01.corp.example", c)).toBe(true);
    expect(nameMatches("rdp01.corp.example.", c)).toBe(true);
    expect(nameMatches("a.vdi.example", c)).toBe(true);
    expect(nameMatches("a.b.vdi.example", c)).toBe(false);
    expect(nameMatches("vdi.example", c)).toBe(false);
    expect(nameMatches("rdp", c)).toBe(false); // CN is ignored when DNS SANs exist
  });

  it("falls back to the CN without DNS SANs, and matches IPs only against IP SANs", () => {
    expect(nameMatches("host01", cert("host01", []))).toBe(true);
    const withIp = cert("host01", [], ["10.0.0.5"]);
    expect(nameMatches("10.0.0.5", withIp)).toBe(true);
    expect(nameMatches("10.0.0.6", withIp)).toBe(false);
  });
});

describe("linkStats", () => {
  it("reports success rate, p50/p95 and jitter over successful handshakes", () => {
    const samples = [10, 12, 11, 50, 13].map((totalMs) => ({ ok: true, totalMs, error: null }));
    samples.push({ ok: false, totalMs: 3000, error: "timeout" } as never);
    expect(linkStats(samples)).toEqual({ samples: 6, succeeded: 5, successRate: 5 / 6, p50Ms: 12, p95Ms: 50, jitterMs: 19.8 });
    expect(linkStats([])).toEqual({ samples: 0, succeeded: 0, successRate: 0, p50Ms: null, p95Ms: null, jitterMs: null });
  });
});
