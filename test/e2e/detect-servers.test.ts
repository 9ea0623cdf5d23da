import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { certValid } from "../helpers/certs";
import { rdpcertJson } from "../helpers/cli";
import { xrdpPool } from "../helpers/xrdp-pool";

/** `--backend auto` picks the server kind from the process listening on `--port` (weston and shadow: their own test files). */
interface StatusJson {
  backend: string | null;
  status: string;
  reason: string;
  fix: string | null;
  source: string | null;
}

describe("--backend auto: the server listening on --port", () => {
  const start = xrdpPool();
  const dirs: string[] = [];
  let plain: net.Server;
  beforeAll(async () => {
    plain = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => plain.close(resolve));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const stateDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), "rdpcert-detect-"));
    dirs.push(dir);
    return join(dir, "state");
  };

  it("xrdp started with -c INI: that ini is read, found through the port alone", async () => {
    const server = await start(certValid(-170, 10, "detected-xrdp"));
    const { code, json } = await rdpcertJson<StatusJson>(["status", "--port", String(server.port), "--state-dir", stateDir(), "--json"]);
    expect([json.backend, json.source, json.status, code]).toEqual(["xrdp", server.iniPath, "WARN", 1]);
  }, 60_000);

  it("a program rdpcert does not know, and no xrdp.ini: UNKNOWN naming the program and pointing at pem-pair", async () => {
    const port = (plain.address() as net.AddressInfo).port;
    const { code, json } = await rdpcertJson<StatusJson>([
      "status",
      "--port",
      String(port),
      "--xrdp-ini",
      "/nonexistent/xrdp.ini",
      "--state-dir",
      stateDir(),
      "--json",
    ]);
    expect([json.status, code]).toEqual(["UNKNOWN", 3]);
    expect(json.reason).toMatch(
      new RegExp(`^no RDP server found on this host: node \\(pid ${process.pid}\\) listens on port ${port}, a server rdpcert does not recognise`),
    );
    expect(json.fix).toContain("--backend pem-pair");
  }, 60_000);
});
