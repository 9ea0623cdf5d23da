import { execFileSync } from "node:child_process";
import { chownSync, writeFileSync } from "node:fs";
import { normalizeThumbprint } from "../../src/core/certificate";
import { assessProbe } from "../../src/core/probe-verdict";
import { probe } from "../../src/probe/prober";
import type { XrdpServer } from "../../scripts/xrdp-server";
import { xrdpPool } from "../helpers/xrdp-pool";
import { certValid } from "../helpers/certs";

/** Real xrdp servers on loopback ports, each with its own certificate and key. */
describe("probe against real xrdp", () => {
  const start = xrdpPool();
  const probeServer = (server: XrdpServer) => probe({ input: `127.0.0.1:${server.port}`, host: server.host, port: server.port }, { timeoutMs: 5000 });

  it("reports the certificate xrdp presents; the thumbprint equals openssl's SHA-1 of the cert file", async () => {
    const server = await start(certValid(-1, 179, "rdp-healthy"));
    const result = await probeServer(server);
    expect(result.error).toBeNull();
    expect(result.confirm).toEqual({ type: "response", selectedProtocol: 1, flags: expect.any(Number) });
    expect(result.tls?.version).toMatch(/^TLSv1\.[23]$/);
    const fingerprint = execFileSync("openssl", ["x509", "-in", server.certPath, "-noout", "-fingerprint", "-sha1"], { encoding: "utf8" });
    expect(result.certificate?.thumbprint).toBe(normalizeThumbprint(fingerprint.split("=")[1]!));
    expect(result.certificate?.subject).toBe("CN=rdp-healthy");
    expect(assessProbe(result, new Date(), 30).health).toBe("ok");
    expect(result.timings.tlsMs).not.toBeNull();
  });

  it("flags an expired certificate as critical", async () => {
    const server = await start(certValid(-200, -3));
    const result = await probeServer(server);
    expect(result.error).toBeNull();
    expect(assessProbe(result, new Date(), 30)).toEqual({ health: "critical", reason: "certificate expired 3 days ago" });
  });

  it("warns about a certificate expiring in 10 days", async () => {
    const server = await start(certValid(-170, 10));
    const verdict = assessProbe(await probeServer(server), new Date(), 30);
    expect(verdict.health).toBe("warn");
    expect(verdict.reason).toMatch(/^certificate expires in (9|10) days$/);
  });

  it("reports a missing key as TLS not offered (xrdp downgrades to standard RDP security)", async () => {
    const { certPem } = certValid(-1, 179);
    const server = await start({ certPem });
    const result = await probeServer(server);
    expect(result.error?.kind).toBe("rdp-security-only");
    expect(result.confirm).toEqual({ type: "response", selectedProtocol: 0, flags: expect.any(Number) });
  });

  it("reports a key the xrdp user cannot read as TLS not offered", async () => {
    const server = await start(certValid(-1, 179));
    if (!server.runAs) throw new Error("this test needs root, so that xrdp runs as the xrdp user and file modes apply");
    chownSync(server.keyPath, 0, 0);
    const result = await probeServer(server);
    expect(result.error?.kind).toBe("rdp-security-only");
    expect(server.log()).toMatch(/Cannot read private key file .*Permission denied/);
  });

  it("reports a truncated certificate file as a failed TLS handshake", async () => {
    const pair = certValid(-1, 179);
    const server = await start({ ...pair, certPem: pair.certPem.slice(0, Math.floor(pair.certPem.length / 2)) });
    const result = await probeServer(server);
    expect(result.error?.kind).toBe("tls-handshake-failed");
    expect(result.confirm).toEqual({ type: "response", selectedProtocol: 1, flags: expect.any(Number) });
  });

  it("reports security_layer=tls without a usable key as RDP_NEG_FAILURE SSL_CERT_NOT_ON_SERVER", async () => {
    const server = await start({ certPem: certValid(-1, 179).certPem, securityLayer: "tls" });
    const result = await probeServer(server);
    expect(result.error).toMatchObject({ kind: "negotiation-failure", failureCode: 3, failureName: "SSL_CERT_NOT_ON_SERVER" });
    expect(result.error?.message).toMatch(/the listener has no usable certificate/);
  });

  it("sees a new certificate on the next connection without a restart (xrdp reloads per connection)", async () => {
    const server = await start(certValid(-1, 179, "first"));
    expect((await probeServer(server)).certificate?.subject).toBe("CN=first");
    const next = certValid(-1, 179, "second");
    writeFileSync(server.certPath, next.certPem);
    writeFileSync(server.keyPath, next.keyPem);
    expect((await probeServer(server)).certificate?.subject).toBe("CN=second");
  });
});
