/**
 * The floor for the probe benchmark: the least a Node process can do to read
 * an RDP listener's certificate. node: modules only, no rdpcert code, no CLI
 * parsing: TCP connect, the 19-byte X.224 Connection Request with RDP_NEG_REQ
 * (TLS | CredSSP), the 19-byte Connection Confirm, TLS on the same socket,
 * the peer certificate's SHA-1. Usage: node bench-floor.js HOST PORT
 */
import * as net from "node:net";
import * as tls from "node:tls";

const [host = "127.0.0.1", portText = "3389"] = process.argv.slice(2);
const request = Buffer.from("030000130ee000000000000100080003000000", "hex");
const socket = net.connect({ host, port: Number(portText) });
socket.once("connect", () => socket.write(request));
let received = Buffer.alloc(0);
const onData = (chunk: Buffer): void => {
  received = Buffer.concat([received, chunk]);
  if (received.length < 19) return;
  socket.off("data", onData);
  const secured = tls.connect({ socket, rejectUnauthorized: false, minVersion: "TLSv1", ciphers: "DEFAULT:@SECLEVEL=0" });
  secured.once("secureConnect", () => {
    const cert = secured.getPeerX509Certificate();
    process.stdout.write(`${JSON.stringify({ thumbprint: cert?.fingerprint.replace(/:/g, "") ?? null })}\n`);
    secured.destroy();
  });
  secured.once("error", (error) => {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 1;
  });
};
socket.on("data", onData);
socket.once("error", (error) => {
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
});
