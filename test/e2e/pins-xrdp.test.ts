import { X509Certificate } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { probe } from "../../src/probe/prober";
import type { XrdpServer } from "../../scripts/xrdp-server";
import { adminDir } from "../helpers/admin-dir";
import { certValid } from "../helpers/certs";
import { rdpcert } from "../helpers/cli";
import { xrdpPool } from "../helpers/xrdp-pool";

/**
 * Issue 25: every verified change publishes the clients' pin bundle next to the
 * state (<stateDir>/pins/), says so in its output, and an unattended `run`
 * logs the new SHA-256 as well as the SHA-1. Against real xrdp.
 */
interface Pins {
  written: boolean;
  path: string;
  reason?: string;
  bundle: {
    listener: { host: string; port: number };
    sha1: { thumbprint: string };
    sha256: { hex: string };
    freerdp2KnownHosts2: string;
    freerdp3ServerPem: { content: string };
    mstscReg: string;
  };
}

const presentedSha256 = async (server: XrdpServer): Promise<string> =>
  (await probe({ input: "", host: "127.0.0.1", port: server.port }, { timeoutMs: 5000 })).certificate!.sha256.toLowerCase();

describe("pin bundles after a change (issue 25)", () => {
  const start = xrdpPool({ requireRoot: true });
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  function expectBundleFiles(pins: Pins, sha256: string): void {
    expect(pins.written).toBe(true);
    expect(pins.bundle.sha256.hex).toBe(sha256);
    const stem = pins.path.replace(/\.json$/, "");
    expect(JSON.parse(readFileSync(pins.path, "utf8"))).toEqual(pins.bundle);
    expect(readFileSync(`${stem}.known_hosts2`, "utf8")).toBe(`${pins.bundle.freerdp2KnownHosts2}\n`);
    expect(readFileSync(`${stem}.pem`, "utf8")).toBe(pins.bundle.freerdp3ServerPem.content);
    // regedit's .reg files: UTF-16LE with a BOM.
    const reg = readFileSync(`${stem}.reg`);
    expect([...reg.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(reg.subarray(2).toString("utf16le")).toBe(pins.bundle.mstscReg);
    for (const suffix of [".json", ".known_hosts2", ".pem", ".reg"]) expect(statSync(`${stem}${suffix}`).mode & 0o777).toBe(0o644);
    expect(new X509Certificate(pins.bundle.freerdp3ServerPem.content).fingerprint256.replace(/:/g, "").toLowerCase()).toBe(sha256);
  }

  it("rotate: writes the bundle of the certificate presented now, and the text names it", async () => {
    const server = await start(certValid(-170, 10, "rdp-pins"));
    const state = join(server.dir, "state");
    const run = await rdpcert(["rotate", "--xrdp-ini", server.iniPath, "--state-dir", state, "--yes", "--no-restart", "--verify-timeout", "8000"]);
    expect(run.code).toBe(0);
    const sha256 = await presentedSha256(server);
    const line = run.stdout.split("\n").find((l) => l.includes("pins for clients"));
    expect(line).toMatch(new RegExp(`pins for clients  ${state}/pins/[a-z0-9.-]+_${server.port}\\.json`));
    const path = /pins for clients {2}(\S+)/.exec(line!)![1]!;
    const bundle = JSON.parse(readFileSync(path, "utf8")) as Pins["bundle"];
    expectBundleFiles({ written: true, path, bundle }, sha256);
    expect(bundle.listener.port).toBe(server.port);
  }, 60_000);

  it("an unattended run that rotates: 'pins' in --json, and the log line carries SHA-1 and SHA-256", async () => {
    const server = await start(certValid(-130, 50));
    const admin = adminDir();
    dirs.push(admin);
    const config = join(admin, "config.json");
    writeFileSync(
      config,
      JSON.stringify({ xrdpIni: server.iniPath, stateDir: join(server.dir, "state"), logDir: join(admin, "log"), restartCommand: null, verifyTimeoutMs: 8000 }),
    );
    const run = await rdpcert(["run", "--config", config, "--json"]);
    const json = JSON.parse(run.stdout) as { outcome: string; rotation: { newThumbprint: string; pins: Pins } };
    expect([json.outcome, run.code]).toEqual(["rotated", 0]);
    const sha256 = await presentedSha256(server);
    expectBundleFiles(json.rotation.pins, sha256);
    const lines = readFileSync(join(admin, "log", "rdpcert.log"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { level: string; message: string });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "info",
        message: `new certificate SHA-1 ${json.rotation.newThumbprint}, SHA-256 ${sha256}; pins for clients in ${json.rotation.pins.path}`,
      }),
    );
  }, 60_000);

  it("a change that could not be published is said, and the change stands", async () => {
    const server = await start(certValid(-170, 10, "rdp-pins-2"));
    const state = join(server.dir, "state");
    // A file where the pins directory would go: the bundle cannot be written.
    mkdirSync(state, { mode: 0o700 });
    writeFileSync(join(state, "pins"), "not a directory", { mode: 0o600 });
    const run = await rdpcert(["rotate", "--xrdp-ini", server.iniPath, "--state-dir", state, "--yes", "--no-restart", "--verify-timeout", "8000", "--json"]);
    const json = JSON.parse(run.stdout) as { outcome: string; newSha256: string; pins: Pins };
    expect([json.outcome, run.code]).toEqual(["rotated", 0]);
    expect(json.pins.written).toBe(false);
    expect(json.pins.reason).toBe(`cannot write the pin bundle: EEXIST on ${join(state, "pins")}`);
    expect(await presentedSha256(server)).toBe(json.newSha256.toLowerCase());
  }, 60_000);
});
