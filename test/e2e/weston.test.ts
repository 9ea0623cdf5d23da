import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../scripts/xrdp-server";
import { generateKey } from "../../src/core/self-signed";
import { certValid } from "../helpers/certs";
import { rdpcertJson } from "../helpers/cli";
import { disposeAfterAll } from "../helpers/dispose";
import { presented, sha1 } from "../helpers/served";
import { type WestonServer, startWeston } from "../helpers/weston";

/**
 * rdpcert against a real weston RDP backend on loopback (Debian 12's weston 10), found by
 * the port it listens on (--backend auto), its pair read from its command line.
 */
interface StatusJson {
  backend: string;
  status: string;
  exitCode: number;
  source: string;
  problems: { code: string; verdict: string }[];
  configured: { location: string; key: { state: string; location: string }; server: { basis: string; pid: number } | null };
  findings: { code: string; severity: string }[];
}
interface RotateJson {
  outcome: string;
  backupPath: string | null;
  exitCode: number;
  reason: string;
  oldThumbprint: string | null;
  newThumbprint: string | null;
  plan: string[];
  steps: { step: string; ok: boolean; detail: string | null }[];
}

describe("weston's RDP backend", () => {
  const made = disposeAfterAll();
  const start = made.starter(startWeston);
  const stateDir = (): string => join(made.tempDir("rdpcert-weston-state-"), "state");
  const status = (server: WestonServer, ...extra: string[]) =>
    rdpcertJson<StatusJson>(["status", "--port", String(server.port), "--state-dir", stateDir(), "--json", ...extra]);

  it("auto-detects weston from the port, reads the pair from its command line, and warns about an expiring certificate", async () => {
    const server = await start(certValid(-170, 10, "weston-expiring"));
    const { code, json } = await status(server);
    expect([json.backend, json.status, code]).toEqual(["weston", "WARN", 1]);
    expect(json.problems.map((p) => p.code)).toContain("expiring");
    expect(json.configured.location).toBe(server.certPath);
    expect(json.configured.key).toEqual(expect.objectContaining({ state: "ok", location: server.keyPath }));
    expect(json.configured.server).toEqual(expect.objectContaining({ basis: "listener", pid: server.pid }));
    expect(json.source).toContain(`weston (pid ${server.pid}) command line`);
  }, 60_000);

  it("rotate: the new certificate is on the wire with no restart (same pid), key 0600, backup of the old pair", async () => {
    const old = certValid(-170, 10, "weston-rotate");
    const server = await start(old);
    const state = stateDir();
    const { code, json } = await rdpcertJson<RotateJson>([
      "rotate",
      "--port",
      String(server.port),
      "--state-dir",
      state,
      "--yes",
      "--json",
      "--verify-timeout",
      "8000",
    ]);
    expect([json.outcome, code, json.outcome === "rotated" ? "" : json.reason]).toEqual(["rotated", 0, ""]);
    expect(json.oldThumbprint).toBe(sha1(old.certPem));
    expect(json.plan.join("\n")).toContain("no restart: weston reads its pair for every new connection");
    expect(json.steps.find((s) => s.step === "restart")?.detail).toContain("no restart");
    const now = await presented(server.port);
    expect(now!.thumbprint).toBe(json.newThumbprint);
    expect(now!.thumbprint).toBe(sha1(readFileSync(server.certPath)));
    // The same process serves it: nothing was restarted.
    expect(server.running()).toBe(true);
    const after = await status(server);
    expect([after.json.status, after.json.configured.server?.pid]).toEqual(["OK", server.pid]);
    const key = statSync(server.keyPath);
    expect([key.mode & 0o777, key.uid]).toEqual([0o600, 0]);
    expect(readFileSync(join(json.backupPath!, "0-certificate"), "utf8")).toBe(old.certPem);
  }, 90_000);

  it("a key that does not belong to the certificate: status says so (key-mismatch), and deploy refuses such a pair, changing nothing", async () => {
    const served = certValid(-10, 170, "weston-mismatch");
    const other = generateKey().export({ type: "pkcs8", format: "pem" }).toString();
    const server = await start({ certPem: served.certPem, keyPem: other });
    const { code, json } = await status(server);
    expect(code).toBe(2);
    expect(json.configured.key.state).toBe("mismatch");
    expect(json.problems.map((p) => p.code)).toContain("key-mismatch");

    const healthy = await start(certValid(-10, 170, "weston-deploy"));
    const before = { cert: readFileSync(healthy.certPath), key: readFileSync(healthy.keyPath) };
    const dir = made.tempDir("rdpcert-weston-supplied-");
    const supplied = certValid(-1, 90, "weston-supplied", generateKey());
    writeFileSync(join(dir, "cert.pem"), supplied.certPem);
    writeFileSync(join(dir, "key.pem"), other, { mode: 0o600 });
    const deploy = await rdpcertJson<RotateJson>([
      "deploy",
      "--port",
      String(healthy.port),
      "--state-dir",
      stateDir(),
      "--cert",
      join(dir, "cert.pem"),
      "--key",
      join(dir, "key.pem"),
      "--yes",
      "--json",
    ]);
    expect([deploy.json.outcome, deploy.code]).toEqual(["refused", 3]);
    expect(deploy.json.reason).toContain("the private key does not belong to the certificate");
    expect(readFileSync(healthy.certPath).equals(before.cert)).toBe(true);
    expect(readFileSync(healthy.keyPath).equals(before.key)).toBe(true);
    expect((await presented(healthy.port))!.thumbprint).toBe(sha1(before.cert));
  }, 90_000);

  it("a failed verification rolls back: the old pair is served again by the same weston, the files as they were", async () => {
    const old = certValid(-170, 10, "weston-rollback");
    const server = await start(old);
    const saved = join(server.dir, "saved.crt");
    writeFileSync(saved, old.certPem);
    const before = { cert: readFileSync(server.certPath), key: readFileSync(server.keyPath), mode: statSync(server.keyPath).mode & 0o777 };
    // The "restart" puts the old certificate back beside the new key: the listener never presents the new one.
    const { code, json } = await rdpcertJson<RotateJson>([
      "rotate",
      "--port",
      String(server.port),
      "--state-dir",
      stateDir(),
      "--yes",
      "--json",
      "--verify-timeout",
      "3000",
      "--restart-command",
      `/bin/cp ${saved} ${server.certPath}`,
    ]);
    expect([json.outcome, code]).toEqual(["rolled-back", 2]);
    expect(json.steps.find((s) => s.step === "verify")?.ok).toBe(false);
    expect(readFileSync(server.certPath).equals(before.cert)).toBe(true);
    expect(readFileSync(server.keyPath).equals(before.key)).toBe(true);
    expect(statSync(server.keyPath).mode & 0o777).toBe(before.mode);
    expect((await presented(server.port))!.thumbprint).toBe(sha1(old.certPem));
    expect(server.running()).toBe(true);
  }, 90_000);

  it("--backend weston where nothing listens on the port: UNKNOWN (exit 3) saying so, never a guess", async () => {
    const port = await freePort();
    const run = await rdpcertJson<StatusJson & { reason: string }>([
      "status",
      "--backend",
      "weston",
      "--port",
      String(port),
      "--state-dir",
      stateDir(),
      "--json",
    ]);
    expect([run.json.status, run.code]).toEqual(["UNKNOWN", 3]);
    expect(run.json.reason).toContain(`nothing listens on port ${port}`);
  }, 60_000);
});
