/**
 * The training run behind the bundle's code cache (scripts/bundle.ts). V8's
 * cache of a script holds the functions compiled so far: made right after
 * compiling, it has only the top level, and every function a command calls
 * is compiled again from source on every run. So the build runs the quick
 * commands once, in-process, through the bundle's exported `main`:
 * `probe` and `status` (text and --json) against a throwaway listener on
 * loopback that answers as an RDP server (X.224 Connection Confirm selecting
 * TLS, then TLS with a fresh self-signed certificate), with a throwaway
 * xrdp.ini and state dir; then it writes the cache. Nothing of the host is
 * read beyond what `status` reads anyway (/proc, the xrdp unit); nothing is
 * written outside the temporary directory; their output is discarded.
 *
 * Training only decides which functions are in the cache, never what they
 * do: a training that fails leaves the untrained cache (the build says so).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { DAY_MS } from "../src/core/certificate";
import { buildSelfSigned, generateKey } from "../src/core/self-signed";

/** TPKT + X.224 Connection Confirm + RDP_NEG_RSP selecting PROTOCOL_SSL (1). */
const CONFIRM_TLS = Buffer.from("030000130ed000001234000200080001000000", "hex");

export type CommandMain = (argv: readonly string[]) => Promise<number>;

interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

function listen(pair: { keyPem: string; certPem: string }): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    socket.once("data", () => {
      socket.write(CONFIRM_TLS);
      const secure = new tls.TLSSocket(socket, { isServer: true, key: pair.keyPem, cert: pair.certPem });
      secure.on("error", () => undefined);
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () =>
          new Promise((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      }),
    );
  });
}

/** Runs the quick commands once through `main`, output discarded. */
export async function train(main: CommandMain): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "rdpcert-bundle-training-"));
  const now = Date.now();
  const pair = buildSelfSigned(generateKey(), {
    commonName: "rdpcert-bundle-training",
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 179 * DAY_MS),
  });
  const listener = await listen(pair);
  const write = { out: process.stdout.write, err: process.stderr.write };
  const exitCode = process.exitCode;
  try {
    const certPath = join(dir, "cert.pem");
    const keyPath = join(dir, "key.pem");
    const ini = join(dir, "xrdp.ini");
    writeFileSync(certPath, pair.certPem, { mode: 0o644 });
    writeFileSync(keyPath, pair.keyPem, { mode: 0o600 });
    writeFileSync(
      ini,
      ["[Globals]", `port=tcp://127.0.0.1:${listener.port}`, "security_layer=negotiate", `certificate=${certPath}`, `key_file=${keyPath}`, ""].join("\n"),
    );
    const status = ["status", "--backend", "xrdp", "--xrdp-ini", ini, "--state-dir", join(dir, "state")];
    const probe = ["probe", `127.0.0.1:${listener.port}`];
    process.stdout.write = process.stderr.write = () => true;
    for (const argv of [probe, [...probe, "--json"], status, [...status, "--json"]]) await main(argv);
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
    process.exitCode = exitCode;
    await listener.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
