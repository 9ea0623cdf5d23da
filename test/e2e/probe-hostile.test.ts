import * as tls from "node:tls";
import { probeAll } from "../../src/probe/probe-all";
import { type ProbeResult, type Prober, probe } from "../../src/probe/prober";
import { type HostileListener, confirmBytes, hostileListener, onRequest } from "../helpers/hostile";
import { certValid } from "../helpers/certs";

/** Listeners that misbehave on purpose: each must give its typed error, never a hang or a throw. */
describe("probe against hostile listeners", () => {
  const listeners: HostileListener[] = [];
  afterAll(async () => {
    await Promise.all(listeners.map((l) => l.close()));
  });
  const against = async (behaviour: Parameters<typeof hostileListener>[0], timeoutMs = 800): Promise<ProbeResult> => {
    const listener = await hostileListener(behaviour);
    listeners.push(listener);
    return probe({ input: `127.0.0.1:${listener.port}`, host: "127.0.0.1", port: listener.port }, { timeoutMs });
  };

  it("silent: times out waiting for the Connection Confirm", async () => {
    const result = await against(() => undefined);
    expect(result.error).toMatchObject({ kind: "timeout", phase: "negotiation" });
    expect(result.error?.message).toBe("timed out after 800 ms waiting for the X.224 Connection Confirm");
    expect(result.timings.connectMs).not.toBeNull();
  });

  it("one byte then silence: times out in negotiation", async () => {
    const result = await against((s) => onRequest(s, () => s.write(Buffer.from([0x03]))));
    expect(result.error).toMatchObject({ kind: "timeout", phase: "negotiation" });
  });

  it("garbage: protocol error naming what was wrong", async () => {
    const result = await against((s) => onRequest(s, () => s.write("HTTP/1.1 400 Bad Request\r\n\r\n")));
    expect(result.error).toEqual({ kind: "protocol-error", message: "not a TPKT header: first byte 0x48 (expected 0x03)" });
  });

  it("oversized TPKT length then stall: protocol error at once, not an allocation or a wait", async () => {
    const result = await against((s) => onRequest(s, () => s.write(Buffer.from([0x03, 0x00, 0xff, 0xff]))), 30_000);
    expect(result.error).toEqual({ kind: "protocol-error", message: "TPKT length 65535 is larger than a Connection Confirm can be (259)" });
  });

  it("bytes that are not TLS after a Confirm selecting TLS: a failed TLS handshake, as a client sees it, whether they come with the Confirm or after it", async () => {
    // xrdp that cannot load its certificate sends its Confirm, then a disconnect instead of a TLS handshake.
    const junk = Buffer.alloc(4096, 0x41);
    const together = await against((s) => onRequest(s, () => s.write(Buffer.concat([confirmBytes(2, 1), junk]))));
    const apart = await against((s) =>
      onRequest(s, () => {
        s.write(confirmBytes(2, 1));
        setTimeout(() => s.write(junk), 50);
      }),
    );
    expect(together.error).toEqual({ kind: "tls-handshake-failed", reason: "wrong version number", message: "TLS handshake failed: wrong version number" });
    expect(apart.error).toEqual(together.error);
    expect(together.confirm).toEqual(apart.confirm);
  });

  it.each([
    [1, "SSL_REQUIRED_BY_SERVER"],
    [2, "SSL_NOT_ALLOWED_BY_SERVER"],
    [3, "SSL_CERT_NOT_ON_SERVER"],
    [4, "INCONSISTENT_FLAGS"],
    [5, "HYBRID_REQUIRED_BY_SERVER"],
    [6, "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER"],
  ])("RDP_NEG_FAILURE %i: negotiation-failure %s", async (code, name) => {
    const result = await against((s) => onRequest(s, () => s.end(confirmBytes(3, code))));
    expect(result.error).toMatchObject({ kind: "negotiation-failure", failureCode: code, failureName: name });
    expect(result.error?.message).toMatch(new RegExp(`^negotiation failure ${name} \\(${code}\\): `));
  });

  it("selects standard RDP security: TLS not offered", async () => {
    const result = await against((s) => onRequest(s, () => s.write(confirmBytes(2, 0))));
    expect(result.error?.kind).toBe("rdp-security-only");
  });

  it("old server without negotiation data: TLS not offered", async () => {
    const result = await against((s) => onRequest(s, () => s.write(Buffer.from([0x03, 0x00, 0x00, 0x0b, 0x06, 0xd0, 0, 0, 0x12, 0x34, 0]))));
    expect(result.error).toEqual({
      kind: "rdp-security-only",
      message: "standard RDP security only (TLS not offered): the Connection Confirm carries no negotiation response",
    });
  });

  it("closes right after the confirm: TLS handshake failed", async () => {
    const result = await against((s) => onRequest(s, () => s.end(confirmBytes(2, 1))));
    expect(result.error).toMatchObject({ kind: "tls-handshake-failed", reason: "the listener closed the connection during the TLS handshake" });
    expect(result.confirm).toEqual({ type: "response", selectedProtocol: 1, flags: 0 });
  });

  it("closes without answering: protocol error", async () => {
    const result = await against((s) => onRequest(s, () => s.end()));
    expect(result.error).toEqual({ kind: "protocol-error", message: "the listener closed the connection without answering the Connection Request" });
  });

  it("selects TLS and then stalls: times out in the TLS phase", async () => {
    const result = await against((s) => onRequest(s, () => s.write(confirmBytes(2, 1))));
    expect(result.error).toMatchObject({ kind: "timeout", phase: "tls" });
  });

  it("selects TLS and answers the ClientHello with plain text: TLS handshake failed with OpenSSL's reason", async () => {
    const result = await against((s) =>
      onRequest(s, () => {
        s.write(confirmBytes(2, 1));
        s.once("data", () => s.end("garbage garbage garbage garbage"));
      }),
    );
    expect(result.error?.kind).toBe("tls-handshake-failed");
    expect(result.error?.message).not.toMatch(/\n/);
  });

  it("selects a protocol that was not requested: protocol error", async () => {
    const result = await against((s) => onRequest(s, () => s.write(confirmBytes(2, 0x8))));
    expect(result.error).toEqual({
      kind: "protocol-error",
      message: "the listener selected protocol 0x8 (HYBRID_EX), which was not offered (offered SSL|HYBRID)",
    });
  });

  // 0x10 is no protocol at all (it used to read as "standard RDP security"),
  // and a selection must be one protocol (0x3 and 0xffffffff used to be accepted as TLS).
  it.each([
    [0x10, "the listener selected protocol 0x10 (UNKNOWN(0x10)), which was not offered (offered SSL|HYBRID)"],
    [0x3, "the listener selected protocol 0x3, several protocols at once (it must choose one)"],
    [0xffffffff, "the listener selected protocol 0xffffffff, several protocols at once (it must choose one)"],
  ])("selects 0x%s: a protocol error naming the value, not a downgrade and not TLS", async (value, message) => {
    const result = await against((s) => onRequest(s, () => s.write(confirmBytes(2, value))));
    expect(result.error).toEqual({ kind: "protocol-error", message });
    expect(result.tls).toBeNull();
  });

  it("a plain TLS server after a proper confirm: completes and reads the certificate (CredSSP selected)", async () => {
    const { keyPem, certPem } = certValid(-1, 30, "fake-rdp");
    const result = await against((s) =>
      onRequest(s, () => {
        s.write(confirmBytes(2, 2));
        s.removeAllListeners("data");
        const secure = new tls.TLSSocket(s, { isServer: true, key: keyPem, cert: certPem });
        secure.on("error", () => undefined);
      }),
    );
    expect(result.error).toBeNull();
    expect(result.confirm).toMatchObject({ selectedProtocol: 2 });
    expect(result.certificate?.subject).toBe("CN=fake-rdp");
  });

  it("refused and unresolvable targets give their own kinds", async () => {
    const listener = await hostileListener(() => undefined);
    const port = listener.port;
    await listener.close();
    const refused = await probe({ input: "x", host: "127.0.0.1", port }, { timeoutMs: 2000 });
    expect(refused.error?.kind).toBe("connect-refused");
    const unresolved = await probe({ input: "x", host: "no-such-host.invalid", port: 3389 }, { timeoutMs: 2000 });
    expect(unresolved.error?.kind).toBe("resolve-failed");
  });
});

describe("probeAll", () => {
  it("keeps probing other targets while one is stuck, and returns results in input order", async () => {
    const release: Array<() => void> = [];
    const started: string[] = [];
    const prober: Prober = (target) => {
      started.push(target.host);
      const result = { target, error: null } as unknown as ProbeResult;
      if (target.host === "slow") return new Promise((resolve) => release.push(() => resolve(result)));
      return Promise.resolve(result);
    };
    const targets = ["slow", "a", "b", "c", "d"].map((host) => ({ input: host, host, port: 1 }));
    const pending = probeAll(targets, { timeoutMs: 1 }, 2, prober);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(["slow", "a", "b", "c", "d"]);
    release[0]!();
    expect((await pending).map((r) => r.target.host)).toEqual(["slow", "a", "b", "c", "d"]);
  });

  it("never runs more than `concurrency` probes at once", async () => {
    let inFlight = 0;
    let peak = 0;
    const prober: Prober = async (target) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      return { target } as unknown as ProbeResult;
    };
    const targets = Array.from({ length: 50 }, (_, i) => ({ input: `h${i}`, host: `h${i}`, port: 1 }));
    await probeAll(targets, { timeoutMs: 1 }, 7, prober);
    expect(peak).toBe(7);
  });
});
