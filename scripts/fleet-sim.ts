/**
 * Fleet simulator for the benchmarks: many lightweight RDP-speaking
 * TLS listeners in one process, one per loopback address (127.77.x.y, one
 * port), each of a kind:
 * - healthy: X.224 Connection Confirm selecting TLS, then TLS (1.3 with the
 *   clients benchmarked) with an ECDSA P-256 certificate valid for 179 more days;
 * - expiring: the same with a certificate that expires in 5 days;
 * - downgraded: the Confirm selects standard RDP security (0): no TLS;
 * - silent: accepts the connection and never answers.
 * Latency is a delaying layer (network namespaces with netem would touch the
 * shared machine's loopback): the Confirm leaves two RTTs after the request
 * (the TCP connect's round trip is charged to it) and the server answers the
 * ClientHello one RTT after that (TLS 1.3 has one server flight), so one probe
 * costs connect + negotiation + TLS = 3 RTTs, as over a real link. The delay
 * is timers, not a stream in between: TLS runs on the socket's native handle,
 * so the simulator spends as little CPU per listener as Node allows.
 *
 * Usage: [FLEET_THREADS=N] node fleet-sim.js COUNT RTT_MS. Prints one JSON line
 * {"ready":true,"port":P,"targets":[{"host","kind"}...]} then serves until SIGTERM.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

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
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      String(days),
      "-subj",
      `/CN=${name}`,
      "-keyout",
      keyPath,
      "-out",
      certPath,
    ],
    { stdio: "ignore" },
  );
  return { cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8") };
}

/** X.224 Connection Confirm with RDP_NEG_RSP selecting `protocol` ([MS-RDPBCGR] 2.2.1.2). */
function confirm(protocol: number): Buffer {
  return Buffer.from([0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34, 0x00, 0x02, 0x00, 0x08, 0x00, protocol, 0x00, 0x00, 0x00]);
}

interface Pair {
  readonly cert: string;
  readonly key: string;
}

/** What one thread of the simulator serves: the listeners whose index % threads is its own. */
interface Share {
  readonly count: number;
  readonly rttMs: number;
  readonly port: number;
  readonly thread: number;
  readonly threads: number;
  readonly healthy: readonly Pair[];
  readonly expiring: readonly Pair[];
}

async function serveShare(share: Share): Promise<void> {
  const { rttMs } = share;
  const contexts = { healthy: share.healthy.map((p) => tls.createSecureContext(p)), expiring: share.expiring.map((p) => tls.createSecureContext(p)) };
  const serve =
    (kind: FleetKind, index: number) =>
    (socket: net.Socket): void => {
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
          // TLS 1.3's handshake has one server flight: answering the ClientHello one
          // RTT late is that flight leaving one RTT late. The ClientHello waits in the
          // kernel meanwhile, and TLS runs on the socket's own handle (no JS stream).
          setTimeout(() => {
            if (socket.destroyed) return;
            const pool = kind === "healthy" ? contexts.healthy : contexts.expiring;
            const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: pool[index % pool.length]! });
            secure.on("error", () => socket.destroy());
          }, rttMs);
        }, 2 * rttMs);
      };
      socket.on("data", onData);
    };
  for (let i = share.thread; i < share.count; i += share.threads) {
    const server = net.createServer(serve(kindOf(i), i));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: addressOf(i), port: share.port, backlog: 511 }, () => resolve());
    });
  }
}

/**
 * Serves COUNT listeners from FLEET_THREADS threads (2 by default): the
 * simulator must keep up with the client it serves, and a handshake costs the
 * server as much CPU as the client.
 */
export async function main(count: number, rttMs: number, threads = Math.max(1, Number(process.env.FLEET_THREADS ?? 2))): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "rdpcert-fleet-"));
  const healthy = Array.from({ length: 8 }, (_, i) => ecdsaPair(dir, `fleet-healthy-${i}`, 179));
  const expiring = Array.from({ length: 2 }, (_, i) => ecdsaPair(dir, `fleet-expiring-${i}`, 5));
  rmSync(dir, { recursive: true, force: true });
  const port = Number(process.env.FLEET_PORT ?? 13389);
  const shares = Array.from({ length: threads }, (_, thread): Share => ({ count, rttMs, port, thread, threads, healthy, expiring }));
  await Promise.all([
    serveShare(shares[0]!),
    ...shares.slice(1).map(
      (share) =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(__filename, { workerData: share });
          worker.once("message", () => resolve());
          worker.once("error", reject);
          worker.once("exit", (code) => reject(new Error(`simulator thread exited with ${code}`)));
        }),
    ),
  ]);
  const targets = Array.from({ length: count }, (_, i) => ({ host: addressOf(i), kind: kindOf(i) }));
  process.stdout.write(`${JSON.stringify({ ready: true, port, targets })}\n`);
  const stop = (): void => process.exit(0);
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (!isMainThread) {
  serveShare(workerData as Share).then(
    () => parentPort!.postMessage("ready"),
    (error: Error) => {
      throw error;
    },
  );
} else if (require.main === module) {
  const [countText = "1000", rttText = "50"] = process.argv.slice(2);
  main(Number(countText), Number(rttText)).catch((error: Error) => {
    process.stderr.write(`fleet-sim: ${error.message}\n`);
    process.exit(1);
  });
}
