import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKey } from "../../src/core/self-signed";
import { certValid } from "../helpers/certs";
import { rdpcert, rdpcertJson } from "../helpers/cli";
import { disposeAfterAll } from "../helpers/dispose";
import { presented, sha1 } from "../helpers/served";
import { type ShadowServer, startShadow } from "../helpers/shadow";
import { ensureUser } from "../helpers/users";

/**
 * rdpcert against FreeRDP's real shadow server (Debian 12's freerdp2-shadow-x11) on Xvfb,
 * found by its port (--backend auto); its pair is in the config directory of the user it
 * runs as (HOME/.config/freerdp/shadow), and it reads the pair for every new connection.
 */
interface StatusJson {
  backend: string;
  status: string;
  exitCode: number;
  reason: string;
  source: string;
  problems: { code: string; verdict: string }[];
  configured: { location: string; key: { state: string; location: string }; server: { basis: string; pid: number; name: string } | null };
  findings: { code: string; severity: string; message: string }[];
}
interface RotateJson {
  outcome: string;
  exitCode: number;
  reason: string;
  newThumbprint: string | null;
  oldThumbprint: string | null;
  steps: { step: string; ok: boolean; detail: string | null }[];
}
interface RunJson {
  action: string;
  outcome: string;
  exitCode: number;
  rotation: { outcome: string; newThumbprint: string | null } | null;
}

describe("FreeRDP's shadow server", () => {
  const made = disposeAfterAll();
  const start = made.starter(startShadow);
  const scratch = (): string => made.tempDir("rdpcert-shadow-state-");
  const status = (server: ShadowServer) =>
    rdpcertJson<StatusJson>(["status", "--port", String(server.port), "--state-dir", join(scratch(), "state"), "--json"]);

  it("its own generated pair: the world-readable key (0644) is reported CRITICAL, and `run` replaces it: key 0600, new certificate on the wire, same process", async () => {
    const server = await start(null);
    expect(statSync(server.keyPath).mode & 0o777).toBe(0o644);
    const { code, json } = await status(server);
    expect([json.backend, json.status, code]).toEqual(["freerdp-shadow", "WARN", 1]);
    expect(json.configured.location).toBe(server.certPath);
    expect(json.configured.key.state).toBe("ok");
    expect(json.findings).toContainEqual(expect.objectContaining({ code: "key-exposed", severity: "critical" }));
    expect(json.problems.map((p) => p.code)).toContain("key-exposed");
    const before = readFileSync(server.certPath);

    const dir = scratch();
    const run = await rdpcertJson<RunJson>([
      "run",
      "--port",
      String(server.port),
      "--state-dir",
      join(dir, "state"),
      "--log-dir",
      join(dir, "log"),
      "--json",
      "--verify-timeout",
      "8000",
    ]);
    expect([run.json.action, run.json.rotation?.outcome, run.code]).toEqual(["rotate", "rotated", 0]);
    expect(statSync(server.keyPath).mode & 0o777).toBe(0o600);
    expect((await presented(server.port))!.thumbprint).toBe(run.json.rotation!.newThumbprint);
    expect(sha1(readFileSync(server.certPath))).not.toBe(sha1(before));
    expect(server.running()).toBe(true);
    const after = await status(server);
    expect([after.json.status, after.code]).toEqual(["OK", 0]);
    expect(after.json.findings.map((f) => f.code)).not.toContain("key-exposed");
  }, 120_000);

  it("run as an unprivileged user: found through its environment's HOME; expiring -> WARN; rotate writes the key 0600 owned by that user, no restart", async () => {
    const user = ensureUser("rdpcert-t2");
    const old = certValid(-170, 10, "shadow-expiring");
    const server = await start({ ...old, keyMode: 0o600 }, { runAs: user });
    const { code, json } = await status(server);
    expect([json.backend, json.status, code]).toEqual(["freerdp-shadow", "WARN", 1]);
    expect(json.problems.map((p) => p.code)).toEqual(expect.arrayContaining(["expiring"]));
    expect(json.configured.server).toEqual(expect.objectContaining({ basis: "listener", pid: server.pid, name: "rdpcert-t2" }));
    expect(json.source).toContain("HOME of its environment");

    const rotate = await rdpcertJson<RotateJson>([
      "rotate",
      "--port",
      String(server.port),
      "--state-dir",
      join(scratch(), "state"),
      "--yes",
      "--json",
      "--verify-timeout",
      "8000",
    ]);
    expect([rotate.json.outcome, rotate.code, rotate.json.outcome === "rotated" ? "" : rotate.json.reason]).toEqual(["rotated", 0, ""]);
    expect((await presented(server.port))!.thumbprint).toBe(rotate.json.newThumbprint);
    const key = statSync(server.keyPath);
    expect([key.mode & 0o777, key.uid, key.gid]).toEqual([0o600, user.uid, user.gid]);
    expect(statSync(server.certPath).uid).toBe(user.uid);
    expect(server.running()).toBe(true);
  }, 120_000);

  it("a key the serving user cannot read: key unreadable, with the fix", async () => {
    const user = ensureUser("rdpcert-t2");
    const server = await start({ ...certValid(-1, 179, "shadow-unreadable"), keyMode: 0o600 }, { runAs: user });
    // After start: root takes the key away from the user the server runs as.
    const { chownSync } = await import("node:fs");
    chownSync(server.keyPath, 0, 0);
    const { code, json } = await status(server);
    expect(code).toBe(2);
    expect(json.configured.key.state).toBe("unreadable");
    expect(json.reason).toContain("freerdp-shadow-cli cannot read its private key");
  }, 120_000);

  it("a latent exposure (0644 key behind a closed home) is a WARN finding, not CRITICAL", async () => {
    const server = await start({ ...certValid(-1, 179, "shadow-latent") });
    chmodSync(server.home, 0o700);
    const { json } = await status(server);
    expect(json.findings).toContainEqual(expect.objectContaining({ code: "key-exposed", severity: "warn" }));
  }, 120_000);

  it("a key that does not match its certificate: key-mismatch; a failed verification rolls back, the old pair served again", async () => {
    const mismatched = await start({
      certPem: certValid(-1, 179, "shadow-mismatch").certPem,
      keyPem: generateKey().export({ type: "pkcs8", format: "pem" }).toString(),
      keyMode: 0o600,
    });
    const m = await status(mismatched);
    expect([m.json.configured.key.state, m.code]).toEqual(["mismatch", 2]);

    const old = certValid(-170, 10, "shadow-rollback");
    const server = await start({ ...old, keyMode: 0o600 });
    const saved = join(scratch(), "saved.crt");
    writeFileSync(saved, old.certPem);
    const before = { cert: readFileSync(server.certPath), key: readFileSync(server.keyPath) };
    const { code, json } = await rdpcertJson<RotateJson>([
      "rotate",
      "--port",
      String(server.port),
      "--state-dir",
      join(scratch(), "state"),
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
    expect((await presented(server.port))!.thumbprint).toBe(sha1(old.certPem));
    expect(server.running()).toBe(true);
  }, 120_000);

  it.each(["after-replace", "before-verify"])(
    "a rotation killed %s: the next status finishes or rolls it back in the user's own directory; the served pair is the one in the files",
    async (point) => {
      const user = ensureUser("rdpcert-t2");
      const server = await start({ ...certValid(-170, 10, "shadow-killed"), keyMode: 0o600 }, { runAs: user });
      const state = join(scratch(), "state");
      const killed = await rdpcert(["rotate", "--port", String(server.port), "--state-dir", state, "--yes"], { env: { RDPCERT_TEST_FAULT: point } });
      expect(killed.code).toBeNull(); // SIGKILL
      const after = await rdpcertJson<StatusJson & { recovered: { outcome: string } | null }>([
        "status",
        "--port",
        String(server.port),
        "--state-dir",
        state,
        "--json",
      ]);
      expect(after.json.recovered?.outcome).toMatch(/^(completed|rolled-back)$/);
      expect(existsSync(join(state, "journal.json"))).toBe(false);
      expect((await presented(server.port))!.thumbprint).toBe(sha1(readFileSync(server.certPath)));
      const key = statSync(server.keyPath);
      expect([key.mode & 0o777, key.uid]).toEqual([0o600, user.uid]);
    },
    120_000,
  );
});
