import { Registry } from "prom-client";
import { addProbeMetrics } from "../../src/metrics/probe-metrics";
import { probe } from "../../src/probe/prober";
import { PROTOCOL_HYBRID, PROTOCOL_SSL } from "../../src/probe/negotiation";
import { certValid } from "../helpers/certs";
import { rdpcert } from "../helpers/cli";
import { type GrdListener, grdListener } from "../helpers/grd-listener";
import { type HostileListener, confirmBytes, hostileListener, onRequest } from "../helpers/hostile";

/**
 * Issue 24: an NLA-only server (gnome-remote-desktop; Windows with NLA required) answers a
 * TLS-only offer with RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER. That is its policy, not a
 * fault: probe and doctor say so and still read the certificate by offering CredSSP (the TLS
 * handshake precedes CredSSP). Real sockets, real TLS, a real certificate.
 */
describe("NLA-only listener (answers as gnome-remote-desktop does)", () => {
  let grd: GrdListener;
  let expiring: GrdListener;
  let tlsOnly: HostileListener;
  const pair = certValid(-30, 300, "GNOME");
  beforeAll(async () => {
    grd = await grdListener(pair);
    expiring = await grdListener(certValid(-700, 10, "GNOME"));
    tlsOnly = await hostileListener((s) => onRequest(s, () => s.end(confirmBytes(2, 0))));
  });
  afterAll(async () => {
    await Promise.all([grd.close(), expiring.close(), tlsOnly.close()]);
  });
  const at = (port: number) => ({ input: `127.0.0.1:${port}`, host: "127.0.0.1", port });

  it("a TLS-only offer: HYBRID_REQUIRED_BY_SERVER is the policy; CredSSP is offered again and the certificate read", async () => {
    const before = grd.offers.length;
    const result = await probe(at(grd.port), { timeoutMs: 5000, requestedProtocols: PROTOCOL_SSL });
    expect(grd.offers.slice(before)).toEqual([PROTOCOL_SSL, PROTOCOL_SSL | PROTOCOL_HYBRID]);
    expect(result.error).toBeNull();
    expect(result.nlaPolicy).toBe("required");
    expect(result.confirm).toEqual({ type: "response", selectedProtocol: PROTOCOL_HYBRID, flags: 0 });
    expect(result.certificate?.subject).toBe("CN=GNOME");
    expect(result.tls?.version).toMatch(/^TLSv1\.[23]$/);
  });

  it("the default offer (TLS | CredSSP): HYBRID selected, the certificate read, then one negotiation-only TLS offer learns the policy", async () => {
    const before = grd.offers.length;
    const result = await probe(at(grd.port), { timeoutMs: 5000 });
    expect(grd.offers.slice(before)).toEqual([PROTOCOL_SSL | PROTOCOL_HYBRID, PROTOCOL_SSL]);
    expect(result.error).toBeNull();
    expect(result.nlaPolicy).toBe("required");
    expect(result.confirm).toEqual({ type: "response", selectedProtocol: PROTOCOL_HYBRID, flags: 0 });
    expect(result.tls).not.toBeNull();
    expect(result.certificate?.subject).toBe("CN=GNOME");
  });

  it("nlaPolicy: false makes one connection and learns nothing", async () => {
    const before = grd.offers.length;
    const result = await probe(at(grd.port), { timeoutMs: 5000, nlaPolicy: false });
    expect(grd.offers.length - before).toBe(1);
    expect(result.nlaPolicy).toBeUndefined();
    expect(result.certificate).not.toBeNull();
  });

  it("reofferHybrid: false reports the refusal as it came, with the policy", async () => {
    const result = await probe(at(grd.port), { timeoutMs: 5000, requestedProtocols: PROTOCOL_SSL, reofferHybrid: false });
    expect(result.error).toMatchObject({ kind: "negotiation-failure", failureCode: 5, failureName: "HYBRID_REQUIRED_BY_SERVER" });
    expect(result.nlaPolicy).toBe("required");
    expect(result.certificate).toBeNull();
  });

  it("HYBRID_REQUIRED_BY_SERVER to an offer that included CredSSP stays a fault (the server contradicts itself)", async () => {
    const odd = await hostileListener((s) => onRequest(s, () => s.end(confirmBytes(3, 5))));
    try {
      const result = await probe(at(odd.port), { timeoutMs: 2000 });
      expect(result.error).toMatchObject({ kind: "negotiation-failure", failureCode: 5 });
      expect(result.nlaPolicy).toBeUndefined();
    } finally {
      await odd.close();
    }
  });

  it("a server that selects standard RDP security to a TLS offer is not read as an NLA policy", async () => {
    const result = await probe(at(tlsOnly.port), { timeoutMs: 2000, requestedProtocols: PROTOCOL_SSL });
    expect(result.error?.kind).toBe("rdp-security-only");
    expect(result.nlaPolicy).toBeUndefined();
  });

  it("the exporter's metrics: rdp_nla_required 1 beside the certificate's expiry", async () => {
    const result = await probe(at(grd.port), { timeoutMs: 5000 });
    const registry = new Registry();
    addProbeMetrics(registry, result, { now: new Date(), warnDays: 30 });
    const text = await registry.metrics();
    expect(text).toMatch(/^rdp_nla_required 1$/m);
    expect(text).toMatch(/^rdp_probe_success 1$/m);
    expect(text).toMatch(/^rdp_probe_health\{health="ok"\} 1$/m);
  });

  it("rdpcert probe says NLA required by the server and the certificate's expiry; the exit code follows the expiry", async () => {
    const run = await rdpcert(["probe", `127.0.0.1:${expiring.port}`]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`^127\\.0\\.0\\.1:${expiring.port}  WARNING  certificate expires in (9|10) days`, "m"));
    expect(run.stdout).toMatch(
      /^ {2}nla +NLA required by the server \(it refuses a TLS-only offer with HYBRID_REQUIRED_BY_SERVER; its policy, not a fault\)$/m,
    );
    expect(run.stdout).toMatch(/protocol +HYBRID \(offered SSL, HYBRID\)/);
    const json = JSON.parse((await rdpcert(["probe", "--json", `127.0.0.1:${grd.port}`])).stdout);
    expect(json.results[0]).toMatchObject({
      status: "ok",
      error: null,
      nlaPolicy: "required",
      negotiation: { selectedProtocol: "HYBRID" },
      certificate: { subject: "CN=GNOME" },
    });
  });

  it("rdpcert doctor: the TLS-only row passes as the server's NLA policy, the certificate is checked, nothing fails", async () => {
    const run = await rdpcert(["doctor", `127.0.0.1:${expiring.port}`, "--samples", "2"]);
    expect(run.stdout).toMatch(
      /^\[ ok \] offered TLS only +RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER \(5\): NLA required by the server \(its policy, not a fault\)$/m,
    );
    expect(run.stdout).toMatch(/^\[ ok \] NLA \(CredSSP\) +NLA required by the server/m);
    expect(run.stdout).toMatch(/^\[warn\] certificate validity +(9|10) days left/m);
    expect(run.stdout).not.toMatch(/\[FAIL\]/);
    expect(run.code).toBe(0);
  });
});
