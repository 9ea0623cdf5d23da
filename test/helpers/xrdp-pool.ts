import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type XrdpServer, startXrdp, writeOwned } from "../../scripts/xrdp-server";
import { generateKey } from "../../src/core/self-signed";
import { certValid } from "./certs";

/** Throwaway xrdp servers for one describe block, all stopped in afterAll. */
export function xrdpPool(options: { requireRoot?: boolean } = {}): (...args: Parameters<typeof startXrdp>) => Promise<XrdpServer> {
  const servers: XrdpServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });
  return async (...args) => {
    const server = await startXrdp(...args);
    servers.push(server);
    if (options.requireRoot && !server.runAs) throw new Error("this test needs root, so that xrdp runs as the xrdp user and file modes apply");
    return server;
  };
}

/** Writes a second, fresh pair next to a server's own and returns the ini text naming it instead. */
export function secondPair(server: XrdpServer, commonName: string): { certPath: string; keyPath: string; ini: string } {
  const fresh = certValid(-1, 179, commonName, generateKey());
  const certPath = join(server.dir, "new-cert.pem");
  const keyPath = join(server.dir, "new-key.pem");
  writeOwned(certPath, fresh.certPem, 0o644, server.runAs);
  writeOwned(keyPath, fresh.keyPem, 0o600, server.runAs);
  const ini = readFileSync(server.iniPath, "utf8")
    .replace(`certificate=${server.certPath}`, `certificate=${certPath}`)
    .replace(`key_file=${server.keyPath}`, `key_file=${keyPath}`);
  return { certPath, keyPath, ini };
}

export function writeIni(path: string, text: string): string {
  writeFileSync(path, text);
  return path;
}
