/**
 * The floor for the fleet benchmark: the least a Node process does to read the
 * certificates of a list of RDP listeners (node: modules only, no rdpcert code):
 * connect, X.224 request, Confirm, TLS with one client context shared by every
 * connection, the raw peer certificate; the same concurrency and deadline as
 * rdpcert. MODE "tcp" stops after the Confirm: what a probe costs without TLS,
 * so that the benchmark can tell the TLS handshake's own share.
 * Usage: node bench-fleet-floor.js FILE CONCURRENCY TIMEOUT_MS [tls|tcp]
 * Prints {"ok":N,"failed":N,"medianMs":M}.
 */
import { readFileSync } from "node:fs";
import * as net from "node:net";
import * as tls from "node:tls";
import { performance } from "node:perf_hooks";

const [file = "", concurrencyText = "256", timeoutText = "2000", mode = "tls"] = process.argv.slice(2);
const context = tls.createSecureContext();
const request = Buffer.from("030000130ee000000000000100080003000000", "hex");
const targets = readFileSync(file, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((line) => {
    const at = line.lastIndexOf(":");
    return { host: line.slice(0, at), port: Number(line.slice(at + 1)) };
  });

function once(target: { host: string; port: number }): Promise<number | null> {
  return new Promise((resolve) => {
    const started = performance.now();
    let secured: tls.TLSSocket | undefined;
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      secured?.destroy();
      socket.destroy();
      resolve(ok ? performance.now() - started : null);
    };
    const timer = setTimeout(() => done(false), Number(timeoutText));
    const socket = net.connect(target);
    socket.once("connect", () => socket.write(request));
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 19) return;
      socket.off("data", onData);
      if (received[15] === 0) return done(false);
      if (mode === "tcp") return done(true);
      secured = tls.connect({ socket, rejectUnauthorized: false, secureContext: context });
      secured.once("secureConnect", () => done(secured!.getPeerX509Certificate() !== undefined));
      secured.once("error", () => done(false));
    };
    socket.on("data", onData);
    socket.once("error", () => done(false));
  });
}

async function main(): Promise<void> {
  const times: number[] = [];
  let failed = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < targets.length) {
      const ms = await once(targets[next++]!);
      if (ms === null) failed++;
      else times.push(ms);
    }
  };
  await Promise.all(Array.from({ length: Number(concurrencyText) }, worker));
  times.sort((a, b) => a - b);
  process.stdout.write(`${JSON.stringify({ ok: times.length, failed, medianMs: times[Math.floor(times.length / 2)] ?? null })}\n`);
}

void main();
