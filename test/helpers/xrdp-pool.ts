import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type XrdpServer, startXrdp, writeOwned } from "../../scripts/xrdp-server";
import { generateKey } from "../../src/core/self-signed";
import { adminDir } from "./admin-dir";
import { certValid } from "./certs";
import { rdpcertJson } from "./cli";

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

/**
 * An rdpcert config file (config.json in `dir`, by default a fresh admin dir) for `server`: its
 * xrdp.ini, state and log dirs in the server's dir, no restart command, 8 s to verify; `extra` on top.
 */
export function writeXrdpConfig(server: XrdpServer, extra: Record<string, unknown> = {}, dir = adminDir()): string {
  const path = join(dir, "config.json");
  writeFileSync(
    path,
    JSON.stringify({
      xrdpIni: server.iniPath,
      stateDir: join(server.dir, "state"),
      logDir: join(server.dir, "log"),
      restartCommand: null,
      verifyTimeoutMs: 8000,
      ...extra,
    }),
  );
  return path;
}

/** xrdp's own output in its dir, which grows with every connection: its log file and its console (xrdp-console.log, scripts/xrdp-server.ts). */
export const isXrdpOutput = (name: string): boolean => name.endsWith(".log");

/** Every file under `dir` (mode, owner, bytes) except xrdp's own output: what a refusal must leave as it was. */
export function snapshotFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const stats = statSync(path);
      if (stats.isDirectory()) walk(path);
      else if (!isXrdpOutput(name)) out[path] = `${stats.mode}:${stats.uid}:${stats.gid}:${readFileSync(path, "base64")}`;
    }
  };
  walk(dir);
  return out;
}

/** The command-line twin of writeXrdpConfig: the server's xrdp.ini, state and log dirs in its dir, no restart, 8 s to verify, --json. */
export function xrdpArgs(server: XrdpServer): string[] {
  return [
    "--xrdp-ini",
    server.iniPath,
    "--state-dir",
    join(server.dir, "state"),
    "--log-dir",
    join(server.dir, "log"),
    "--no-restart",
    "--verify-timeout",
    "8000",
    "--json",
  ];
}

/** `rdpcert rotate --yes --json` on `server` (its xrdp.ini, state in its dir, 8 s to verify), `extra` after; its JSON report. */
export function rotateXrdpJson<T>(server: XrdpServer, ...extra: string[]): Promise<{ code: number | null; json: T; stderr: string }> {
  return rdpcertJson<T>([
    "rotate",
    "--xrdp-ini",
    server.iniPath,
    "--state-dir",
    join(server.dir, "state"),
    "--yes",
    "--json",
    "--verify-timeout",
    "8000",
    ...extra,
  ]);
}
