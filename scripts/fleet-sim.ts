/**
 * Fleet simulator for the benchmarks (issue 14): many lightweight RDP-speaking
 * TLS listeners in one process, one per loopback address (127.77.x.y, one
 * port), each of a kind:
 * - healthy: X.224 Connection Confirm selecting TLS, then TLS 1.2/1.3 with an
 *   ECDSA P-256 certificate valid for 179 more days;
 * - expiring: the same with a certificate that expires in 5 days;
 * - downgraded: the Confirm selects standard RDP security (0): no TLS;
 * - silent: accepts the connection and never answers.
 * Latency is a delaying layer (network namespaces with netem would touch the
 * shared machine's loopback): every server write leaves one RTT late, and the
 * Confirm two RTTs late (the TCP connect's round trip is charged to it), so one
 * probe costs connect + negotiation + TLS = 3 RTTs, as over a real link.
 *
 * Usage: node fleet-sim.js COUNT RTT_MS. Prints one JSON line
 * {"ready":true,"port":P,"targets":[{"host","kind"}...]} then serves until SIGTERM.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Duplex } from "node:stream";
import * as tls from "node:tls";

export type FleetKind = "healthy" | "expiring" | "downgraded" | "silent";

/** 80% healthy, 10% expiring, 5% downgraded, 5% silent, interleaved. */
export function kindOf(index: number): FleetKind {
  const slot = index % 20;
  if (slot === 0) return "downgraded";
  if (slot === 10) return "silent";
  if (slot === 5 || slot === 15) return "expiring";
  return "healthy";
}

export function addressOf(index: number): string {
  return `127.77.${Math.floor(index / 250) + 1}.${(index % 250) + 1}`;
}

/** An ECDSA P-256 pair from openssl (fixed argv, no shell). */
function ecdsaPair(dir: string, name: string, days: number): { cert: string; key: string } {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.pem`);
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", String(days), "-subj", `/CN=${name}`, "-keyout", keyPath, "-out", certPath], { stdio: "ignore" });
  return { cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8") };
}

/** X.224 Connection Confirm with RDP_NEG_RSP selecting `protocol` ([MS-RDPBCGR] 2.2.1.2). */
function confirm(protocol: number): Buffer {
  return Buffer.from([0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34, 0x00, 0x02, 0x00, 0x08, 0x00, protocol, 0x00, 0x00, 0x00]);
}

/** The socket as a stream whose writes leave `delayMs` late: TLS runs over it unchanged. */
class DelayedSocket extends Duplex {
  constructor(
    private readonly socket: net.Socket,
    private readonly delayMs: number,
  ) {
    super();
    socket.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on("end", () => this.push(null));
    socket.on("error", (error) => this.destroy(error));
    socket.on("close", () => this.destroy());
  }
  override _read(): void {
    this.socket.resume();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    setTimeout(() => {
      if (!this.socket.destroyed) this.socket.write(chunk);
    }, this.delayMs);
    callback();
  }
  override _final(callback: (error?: Error | null) => void): void {
    setTimeout(() => this.socket.end(), this.delayMs);
    callback();
  }
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}

export async function main(count: number, rttMs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "rdpcert-fleet-"));
  const contexts = {
    healthy: Array.from({ length: 8 }, (_, i) => tls.createSecureContext(ecdsaPair(dir, `fleet-healthy-${i}`, 179))),
    expiring: Array.from({ length: 2 }, (_, i) => tls.createSecureContext(ecdsaPair(dir, `fleet-expiring-${i}`, 5))),
  };
  rmSync(dir, { recursive: true, force: true });

  const serve = (kind: FleetKind, index: number) => (socket: net.Socket): void => {
    socket.setNoDelay(true);
    socket.on("error", () => undefined);
    if (kind === "silent") return;
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < received.readUInt16BE(2)) return;
      socket.off("data", onData);
      socket.pause();
      setTimeout(() => {
        if (socket.destroyed) return;
        if (kind === "downgraded") {
          socket.write(confirm(0));
          socket.resume();
          return;
        }
        socket.write(confirm(1));
        const pool = kind === "healthy" ? contexts.healthy : contexts.expiring;
        const secure = new tls.TLSSocket(new DelayedSocket(socket, rttMs), { isServer: true, secureContext: pool[index % pool.length]! });
        secure.on("error", () => socket.destroy());
        secure.on("secureConnect", () => undefined);
      }, 2 * rttMs);
    };
    socket.on("data", onData);
  };

  const port = Number(process.env.FLEET_PORT ?? 13389);
  const servers: net.Server[] = [];
  const targets: Array<{ host: string; kind: FleetKind }> = [];
  for (let i = 0; i < count; i++) {
    const kind = kindOf(i);
    const host = addressOf(i);
    const server = net.createServer(serve(kind, i));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port, backlog: 511 }, () => resolve());
    });
    servers.push(server);
    targets.push({ host, kind });
  }
  process.stdout.write(`${JSON.stringify({ ready: true, port, targets })}\n`);
  const stop = (): void => {
    for (const s of servers) s.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (require.main === module) {
  const [countText = "1000", rttText = "50"] = process.argv.slice(2);
  main(Number(countText), Number(rttText)).catch((error: Error) => {
    process.stderr.write(`fleet-sim: ${error.message}\n`);
    process.exit(1);
  });
}
