import { chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { certValid } from "../helpers/certs";
import { rdpcertJson } from "../helpers/cli";
import { disposeAfterAll } from "../helpers/dispose";
import { presented, sha1 } from "../helpers/served";
import { ensureUser } from "../helpers/users";
import { type WestonServer, startWeston } from "../helpers/weston";

/**
 * The generic pem-pair backend (`--backend pem-pair`, certFile and keyFile configured; here
 * through RDPCERT_* variables) against a real server that serves a PEM pair: weston's RDP
 * backend on loopback, taken as "some server rdpcert has no backend for".
 */
interface StatusJson {
  backend: string;
  status: string;
  reason: string;
  fix: string | null;
  source: string;
  configured: { location: string; key: { state: string }; server: { basis: string; pid: number } | null } | null;
}
interface RotateJson {
  outcome: string;
  reason: string;
  newThumbprint: string | null;
  plan: string[];
  steps: { step: string; ok: boolean; detail: string | null }[];
}

describe("the pem-pair backend", () => {
  const made = disposeAfterAll();
  const start = made.starter(startWeston);
  const scratch = (): string => made.tempDir("rdpcert-pem-pair-");
  const env = (server: WestonServer, reload?: string[]): NodeJS.ProcessEnv => ({
    RDPCERT_CERT_FILE: server.certPath,
    RDPCERT_KEY_FILE: server.keyPath,
    ...(reload ? { RDPCERT_RELOAD_COMMAND: JSON.stringify(reload) } : {}),
  });

  it("without certFile and keyFile: UNKNOWN (exit 3), saying which settings are missing", async () => {
    const { code, json } = await rdpcertJson<StatusJson>(["status", "--backend", "pem-pair", "--state-dir", join(scratch(), "state"), "--json"]);
    expect([json.status, code]).toEqual(["UNKNOWN", 3]);
    expect(json.reason).toContain("certFile and keyFile are not both configured");
    expect(json.fix).toContain("RDPCERT_CERT_FILE");
  });

  it("expiring -> WARN; rotate writes the configured files in place and runs the reloadCommand (argv, no shell)", async () => {
    const old = certValid(-170, 10, "pem-pair-expiring");
    const server = await start(old);
    const status = await rdpcertJson<StatusJson>(
      ["status", "--backend", "pem-pair", "--port", String(server.port), "--state-dir", join(scratch(), "state"), "--json"],
      { env: env(server) },
    );
    expect([status.json.backend, status.json.status, status.code]).toEqual(["pem-pair", "WARN", 1]);
    expect(status.json.source).toContain(`certFile ${server.certPath}`);
    expect(status.json.configured?.server).toEqual(expect.objectContaining({ basis: "listener", pid: server.pid }));

    const marker = join(scratch(), "reloaded; not a shell");
    const { code, json } = await rdpcertJson<RotateJson>(
      [
        "rotate",
        "--backend",
        "pem-pair",
        "--port",
        String(server.port),
        "--state-dir",
        join(scratch(), "state"),
        "--yes",
        "--json",
        "--verify-timeout",
        "8000",
      ],
      {
        env: env(server, ["/usr/bin/touch", marker]),
      },
    );
    expect([json.outcome, code, json.outcome === "rotated" ? "" : json.reason]).toEqual(["rotated", 0, ""]);
    expect(json.plan.join("\n")).toContain(`then run /usr/bin/touch ${marker}`);
    expect(existsSync(marker)).toBe(true);
    expect((await presented(server.port))!.thumbprint).toBe(json.newThumbprint);
    expect(sha1(readFileSync(server.certPath))).toBe(json.newThumbprint);
    expect(statSync(server.keyPath).mode & 0o777).toBe(0o600);
  }, 90_000);

  it("a failing reloadCommand rolls back: the files as they were, the old certificate served", async () => {
    const old = certValid(-170, 10, "pem-pair-failing-reload");
    const server = await start(old);
    const before = { cert: readFileSync(server.certPath), key: readFileSync(server.keyPath) };
    const { code, json } = await rdpcertJson<RotateJson>(
      [
        "rotate",
        "--backend",
        "pem-pair",
        "--port",
        String(server.port),
        "--state-dir",
        join(scratch(), "state"),
        "--yes",
        "--json",
        "--verify-timeout",
        "5000",
      ],
      {
        env: env(server, ["/bin/false"]),
      },
    );
    expect([json.outcome, code]).toEqual(["rolled-back", 2]);
    expect(json.reason).toContain("/bin/false exited with 1");
    expect(readFileSync(server.certPath).equals(before.cert)).toBe(true);
    expect(readFileSync(server.keyPath).equals(before.key)).toBe(true);
    expect((await presented(server.port))!.thumbprint).toBe(sha1(old.certPem));
  }, 90_000);

  it("a reloadCommand another user can change is refused before anything is written, like a restart command", async () => {
    const old = certValid(-170, 10, "pem-pair-untrusted");
    const server = await start(old);
    const user = ensureUser("rdpcert-t2");
    const dir = join(scratch(), "theirs");
    mkdirSync(dir);
    const script = join(dir, "reload");
    writeFileSync(script, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    chownSync(script, user.uid, user.gid);
    const before = readFileSync(server.certPath);
    const run = await rdpcertJson<RotateJson>(
      ["rotate", "--backend", "pem-pair", "--port", String(server.port), "--state-dir", join(scratch(), "state"), "--yes", "--json"],
      { env: env(server, [script]) },
    );
    expect(run.code).toBe(3);
    expect(JSON.stringify(run.json)).toContain("refusing to run it as root");
    expect(readFileSync(server.certPath).equals(before)).toBe(true);
  }, 90_000);
});
