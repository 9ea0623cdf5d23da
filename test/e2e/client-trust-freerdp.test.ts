import { X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { XrdpServer } from "../../scripts/xrdp-server";
import { certValid } from "../helpers/certs";
import { rdpcert, rdpcertJson } from "../helpers/cli";
import { disposeAfterAll } from "../helpers/dispose";
import { type ClientRun, type FreerdpClient, XF_EXIT_TLS_CONNECT_FAILED, haveFreerdpClient, startFreerdpClient } from "../helpers/freerdp-client";
import { xrdpPool } from "../helpers/xrdp-pool";

/**
 * Issue 25 with the real FreeRDP 2 client (Debian's freerdp2-x11, 2.11.7) under
 * Xvfb against real xrdp: a strict client (/cert-deny) connects after
 * `client trust`, is refused after a rotation, and connects again after a
 * verified `client trust --from-bundle`; a wrong pin is never written.
 *
 * What xfreerdp 2.11.7 really does with `+auth-only /sec:tls` against xrdp:
 * - certificate refused: exit 143 (XF_EXIT_TLS_CONNECT_FAILED, client/X11/xfreerdp.h),
 *   "ERRCONNECT_TLS_CONNECT_FAILED", and for a changed pin "Host key verification failed";
 *   xrdp logs "Connect-Initial failed" (the client hung up inside TLS).
 * - certificate accepted: the client goes on to the MCS connection inside TLS, and
 *   xrdp logs "Connected client computer name" (from the client's MCS Connect
 *   Initial, which FreeRDP sends only after accepting the certificate). xfreerdp
 *   then fails at xrdp's channel join and exits 147 (XF_EXIT_CONNECT_TRANSPORT_FAILED)
 *   printing "Authentication only, exit status 1": not the "exit status 0".
 * So "accepted" is asserted as: not exit 143, no TLS/host-key failure in the
 * client's output, and one more "Connected client computer name" in xrdp's log.
 */
const maybe = haveFreerdpClient ? describe : describe.skip;

maybe("client trust with the real FreeRDP 2 client (issue 25)", () => {
  const start = xrdpPool({ requireRoot: true });
  let server: XrdpServer;
  const made = disposeAfterAll();
  let client: FreerdpClient;
  let home: string;
  const env = (): NodeJS.ProcessEnv => client.env();
  const knownHosts = (): string => join(home, ".config", "freerdp", "known_hosts2");
  const serverPem = (): string => join(home, ".config", "freerdp", "server", `127.0.0.1_${server.port}.pem`);
  const target = (): string => `127.0.0.1:${server.port}`;
  const sha256 = (pem: string | Buffer): string => new X509Certificate(pem).fingerprint256.replace(/:/g, "").toLowerCase();
  const accepted = (): number => (server.log().match(/Connected client computer name/g) ?? []).length;

  const xfreerdp = (extra?: readonly string[], environment?: NodeJS.ProcessEnv): Promise<ClientRun> => client.connect(target(), extra, environment);

  async function expectAccepted(): Promise<void> {
    const before = accepted();
    const run = await xfreerdp();
    expect(run.code).not.toBe(XF_EXIT_TLS_CONNECT_FAILED);
    expect(run.output).not.toMatch(/Host key verification failed|ERRCONNECT_TLS_CONNECT_FAILED|certificate not trusted/);
    expect(run.output).toContain("Authentication only");
    // xrdp writes the line to its console and to its log file, both in server.log().
    expect(accepted()).toBeGreaterThan(before);
  }

  async function expectRefused(why: RegExp): Promise<void> {
    const before = accepted();
    const run = await xfreerdp();
    expect(run.code).toBe(XF_EXIT_TLS_CONNECT_FAILED);
    expect(run.output).toMatch(why);
    expect(run.output).toContain("ERRCONNECT_TLS_CONNECT_FAILED");
    expect(accepted()).toBe(before);
  }

  const trust = (args: readonly string[]) => rdpcert(["client", "trust", ...args], { env: env() });
  const snapshot = () => [knownHosts(), serverPem()].map((p) => ({ p, data: readFileSync(p), mode: statSync(p).mode, mtimeMs: statSync(p).mtimeMs }));

  beforeAll(async () => {
    client = await startFreerdpClient(made, "rdpcert-client-home-");
    home = client.home;
    // Due for renewal (10 days left), so `rotate` replaces it as an admin would.
    server = await start({ ...certValid(-170, 10, "rdp-a"), securityLayer: "tls" });
  }, 60_000);

  it("before any pin, the strict client refuses the listener", async () => {
    await expectRefused(/No certificate stored, automatically denying/);
  }, 60_000);

  it("client trust with the presented SHA-256 pins it (other hosts' lines and the file's mode kept); the strict client then passes TLS", async () => {
    // The user's own known_hosts2: another host's pin, mode 0600.
    const other = "rdp-other.example 3389 aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99 Q04gPSBv Q04gPSBv\n";
    writeFileSync(knownHosts(), other);
    chmodSync(knownHosts(), 0o600);
    const run = await trust([target(), "--expect-sha256", sha256(readFileSync(server.certPath)).toUpperCase()]);
    expect([run.code, run.stderr]).toEqual([0, ""]);
    expect(run.stdout).toMatch(/^updated +FreeRDP 2 known_hosts2/m);
    expect(run.stdout).toMatch(/^updated +FreeRDP 3 server\/\*\.pem/m);
    const text = readFileSync(knownHosts(), "utf8");
    expect(text.startsWith(other)).toBe(true);
    expect(statSync(knownHosts()).mode & 0o777).toBe(0o600);
    expect(readFileSync(serverPem(), "utf8")).toBe(new X509Certificate(readFileSync(server.certPath)).toString());
    await expectAccepted();
  }, 60_000);

  it("the known_hosts2 line is byte for byte the one FreeRDP 2 itself writes on first use (/cert-tofu)", async () => {
    const tofuHome = mkdtempSync(join(tmpdir(), "rdpcert-client-tofu-"));
    try {
      const run = await xfreerdp(["/cert-tofu"], { ...env(), HOME: tofuHome, XDG_CONFIG_HOME: join(tofuHome, ".config") });
      expect(run.code).not.toBe(XF_EXIT_TLS_CONNECT_FAILED);
      const freerdpLine = readFileSync(join(tofuHome, ".config", "freerdp", "known_hosts2"), "utf8");
      expect(readFileSync(knownHosts(), "utf8").split("\n")).toContain(freerdpLine.trimEnd());
    } finally {
      rmSync(tofuHome, { recursive: true, force: true });
    }
  }, 60_000);

  let bundlePath: string;
  let oldSha256: string;
  it("after a rotation (which writes the pin bundle), the strict client is refused and doctor --client names both FreeRDP stores", async () => {
    oldSha256 = sha256(readFileSync(server.certPath));
    const state = join(server.dir, "state");
    const { code, json } = await rdpcertJson<{
      outcome: string;
      newSha256: string;
      pins: { written: boolean; path: string; bundle: { sha256: { hex: string }; freerdp2KnownHosts2: string } };
    }>(["rotate", "--xrdp-ini", server.iniPath, "--state-dir", state, "--yes", "--json", "--no-restart", "--verify-timeout", "8000"]);
    expect([json.outcome, code]).toEqual(["rotated", 0]);
    expect(json.pins.written).toBe(true);
    bundlePath = json.pins.path;
    expect(bundlePath.startsWith(join(state, "pins") + "/")).toBe(true);
    expect(json.pins.bundle.sha256.hex).toBe(json.newSha256.toLowerCase());
    expect(json.pins.bundle.sha256.hex).toBe(sha256(readFileSync(server.certPath)));
    for (const suffix of [".known_hosts2", ".pem", ".reg"]) expect(existsSync(bundlePath.replace(/\.json$/, suffix))).toBe(true);
    await expectRefused(/REMOTE HOST IDENTIFICATION HAS CHANGED[^]*Host key verification failed/);
    const doctor = await rdpcert(["doctor", "--client", target()], { env: env() });
    expect(doctor.code).toBe(2);
    expect(doctor.stdout).toMatch(/^\[FAIL\] FreeRDP 2 known_hosts2 +pins ANOTHER certificate \(/m);
    expect(doctor.stdout).toMatch(/^\[FAIL\] FreeRDP 3 server\/\*\.pem +pins ANOTHER certificate/m);
    expect(doctor.stdout).toContain(`FreeRDP 2 known_hosts2 and FreeRDP 3 server/*.pem disagree`);
  }, 90_000);

  it("client trust with a wrong expected SHA-256 (the old one) exits 2 and leaves both stores byte-identical", async () => {
    const before = snapshot();
    const run = await trust([target(), "--expect-sha256", oldSha256]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain(`not the expected ${oldSha256}: nothing written`);
    expect(snapshot()).toEqual(before);
    await expectRefused(/Host key verification failed/);
  }, 60_000);

  it("client trust --from-bundle with the new pin: the strict client passes again, doctor --client agrees", async () => {
    const run = await trust([target(), "--from-bundle", bundlePath]);
    expect(run.code).toBe(0);
    await expectAccepted();
    const doctor = await rdpcert(["doctor", "--client", target(), "--json"], { env: env() });
    expect(doctor.code).toBe(0);
    const report = JSON.parse(doctor.stdout) as { stores: { store: string; verdict: string }[] };
    expect(report.stores.map((s) => [s.store, s.verdict])).toEqual([
      ["freerdp2", "matches"],
      ["freerdp3", "matches"],
    ]);
    // Only this listener's line changed.
    expect(
      readFileSync(knownHosts(), "utf8")
        .split("\n")
        .filter((l) => l.startsWith("rdp-other.example ")),
    ).toHaveLength(1);
  }, 60_000);
});
