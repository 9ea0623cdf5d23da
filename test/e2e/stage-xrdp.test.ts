import { X509Certificate, createPrivateKey } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { XrdpServer } from "../../scripts/xrdp-server";
import { disposeAfterAll } from "../helpers/dispose";
import { certValid } from "../helpers/certs";
import { rdpcertJson } from "../helpers/cli";
import { isXrdpOutput, writeXrdpConfig, xrdpArgs, xrdpPool } from "../helpers/xrdp-pool";
import { presented } from "../helpers/served";

/**
 * Staged rotation (issue 25) against real xrdp: `rotate --stage` makes the next pair and its pin
 * bundle without changing what the listener presents; `rotate --activate` puts exactly that pair
 * on the wire, once; `run` with stageDays stages, waits, and activates (earlier when expiry comes
 * first); status shows the staged pair.
 */
interface Staged {
  sha1: string;
  sha256: string;
  stagedAt: string;
  notAfter: string;
  activateAt: string | null;
  bundle: string | null;
  dir: string | null;
}
interface RotateJson {
  outcome: string;
  exitCode: number;
  reason: string;
  fix?: string | null;
  newThumbprint?: string | null;
  newSha256?: string | null;
  plan?: string[];
  staged?: Staged;
  postChange?: { ok: boolean } | null;
}
interface RunJson {
  outcome: string;
  exitCode: number;
  reason: string;
  postChange?: { ok: boolean } | null;
}

const made = disposeAfterAll();

const wire = async (server: XrdpServer) => (await presented(server.port))!;
const sha256Of = (pem: string): string => new X509Certificate(pem).fingerprint256.replace(/:/g, "");

/** Every file of the server (contents and modes), xrdp's own log and console output and rdpcert's state and log excepted. */
function snapshot(server: XrdpServer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(server.dir)) {
    const path = join(server.dir, name);
    const stats = statSync(path);
    if (stats.isFile() && !isXrdpOutput(name)) out[path] = `${stats.mode}:${readFileSync(path, "base64")}`;
  }
  return out;
}

const writeConfig = (server: XrdpServer, extra: Record<string, unknown>): string => writeXrdpConfig(server, extra, made.tempDir("rdpcert-stage-"));

describe("staged rotation against real xrdp", () => {
  const start = xrdpPool({ requireRoot: true });

  it("--stage: the wire and the server's files are unchanged; the key is 0600; the bundle pins the staged certificate; status shows it", async () => {
    const server = await start(certValid(-1, 179));
    const before = await wire(server);
    const files = snapshot(server);

    const dry = await rdpcertJson<RotateJson>(["rotate", ...xrdpArgs(server), "--stage", "--dry-run"]);
    expect([dry.json.outcome, dry.code]).toEqual(["planned", 0]);
    expect(existsSync(join(server.dir, "state", "staged"))).toBe(false);

    const { code, json } = await rdpcertJson<RotateJson>(["rotate", ...xrdpArgs(server), "--stage"]);
    expect([json.outcome, code]).toEqual(["staged", 0]);
    const staged = json.staged!;
    const dir = join(server.dir, "state", "staged");
    expect(staged.dir).toBe(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "key.pem")).mode & 0o777).toBe(0o600);
    const certPem = readFileSync(join(dir, "cert.pem"), "utf8");
    expect(sha256Of(certPem)).toBe(staged.sha256);
    // The staged pair is rotate's: a new key, the old certificate's names.
    expect(new X509Certificate(certPem).subjectAltName).toBe(new X509Certificate(readFileSync(server.certPath)).subjectAltName);
    expect(new X509Certificate(certPem).checkPrivateKey(createPrivateKey(readFileSync(join(dir, "key.pem"))))).toBe(true);
    const bundle = JSON.parse(readFileSync(staged.bundle!, "utf8")) as { sha256: { hex: string }; freerdp2KnownHosts2: string };
    expect(bundle.sha256.hex).toBe(staged.sha256.toLowerCase());
    expect(bundle.freerdp2KnownHosts2.split(" ").slice(0, 3)).toEqual([
      "rdpcert-test",
      String(server.port),
      staged.sha256.toLowerCase().replace(/(..)(?!$)/g, "$1:"),
    ]);

    // Nothing on the wire changed, and no byte of the server's files.
    expect((await wire(server)).sha256).toBe(before.sha256);
    expect(snapshot(server)).toEqual(files);

    const status = await rdpcertJson<{ staged: Staged | null; status: string }>([
      "status",
      "--xrdp-ini",
      server.iniPath,
      "--state-dir",
      join(server.dir, "state"),
      "--json",
    ]);
    expect(status.json.staged).toMatchObject({ sha1: staged.sha1, sha256: staged.sha256, activateAt: null });

    // A second --stage would waste the pin clients were given: refused, the staged pair kept.
    const again = await rdpcertJson<RotateJson>(["rotate", ...xrdpArgs(server), "--stage"]);
    expect([again.json.outcome, again.code]).toEqual(["refused", 3]);
    expect(again.json.reason).toContain(`a pair is already staged (SHA-256 ${staged.sha256}`);
    expect(sha256Of(readFileSync(join(dir, "cert.pem"), "utf8"))).toBe(staged.sha256);
  });

  it("--activate: exactly the staged certificate on the wire; a second --activate is a one-line refusal, exit 3", async () => {
    const server = await start(certValid(-1, 179));
    const staged = (await rdpcertJson<RotateJson>(["rotate", ...xrdpArgs(server), "--stage"])).json.staged!;
    const before = await wire(server);
    const dry = await rdpcertJson<RotateJson>(["rotate", ...xrdpArgs(server), "--activate", "--dry-run"]);
    expect([dry.json.outcome, dry.code]).toEqual(["planned", 0]);
    expect((await wire(server)).sha256).toBe(before.sha256);
    expect(existsSync(join(server.dir, "state", "staged", "key.pem"))).toBe(true);
    const activated = await rdpcertJson<RotateJson>(["rotate", ...xrdpArgs(server), "--activate", "--yes"]);
    expect([activated.json.outcome, activated.code]).toEqual(["deployed", 0]);
    const shown = await wire(server);
    expect(shown.sha256).toBe(staged.sha256);
    expect(activated.json.newSha256).toBe(staged.sha256);
    expect(existsSync(join(server.dir, "state", "staged"))).toBe(false);

    const twice = await rdpcertJson<RotateJson>(["rotate", ...xrdpArgs(server), "--activate", "--yes"]);
    expect([twice.json.outcome, twice.code]).toEqual(["refused", 3]);
    expect(twice.json.reason).toMatch(new RegExp(`^nothing is staged: the last staged pair \\(SHA-256 ${staged.sha256}\\) was activated at \\S+$`));
    expect((await wire(server)).sha256).toBe(staged.sha256);
    const status = await rdpcertJson<{ staged: Staged | null }>(["status", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), "--json"]);
    expect(status.json.staged).toBeNull();
  });

  it("run with stageDays: stages when due, waits, then activates the staged pair stageDays later (the hook sees it)", async () => {
    const server = await start(certValid(-130, 50));
    const before = await wire(server);
    const dir = made.tempDir("rdpcert-stage-hook-");
    const hook = join(dir, "record.sh");
    writeFileSync(hook, '#!/bin/sh\nenv | grep "^RDPCERT_" | sort > "$1"\n', { mode: 0o755 });
    const config = writeConfig(server, { stageDays: 10, postChangeCommand: [hook, join(dir, "hook.env")] });

    const first = await rdpcertJson<RunJson>(["run", "--config", config, "--json"]);
    expect([first.json.outcome, first.code]).toEqual(["staged", 0]);
    expect((await wire(server)).sha256).toBe(before.sha256);
    const status = await rdpcertJson<{ staged: Staged }>(["status", "--config", config, "--json"]);
    const staged = status.json.staged;
    expect(Date.parse(staged.activateAt!) - Date.parse(staged.stagedAt)).toBe(10 * 86_400_000);

    const waiting = await rdpcertJson<RunJson>(["run", "--config", config, "--json"]);
    expect([waiting.json.outcome, waiting.code]).toEqual(["staged-waiting", 0]);
    expect(waiting.json.reason).toContain(`run activates it on ${staged.activateAt!.slice(0, 10)}`);
    expect((await wire(server)).sha256).toBe(before.sha256);
    expect(existsSync(join(dir, "hook.env"))).toBe(false);

    const later = { prefix: ["faketime", "+11 days"] };
    const dry = await rdpcertJson<RunJson>(["run", "--config", config, "--json", "--dry-run"], later);
    expect([dry.json.outcome, dry.code]).toEqual(["dry-run: would activate", 0]);
    expect((await wire(server)).sha256).toBe(before.sha256);

    const activation = await rdpcertJson<RunJson>(["run", "--config", config, "--json"], later);
    expect([activation.json.outcome, activation.code, activation.json.postChange?.ok]).toEqual(["activated", 0, true]);
    expect((await wire(server)).sha256).toBe(staged.sha256);
    const env = readFileSync(join(dir, "hook.env"), "utf8");
    expect(env).toContain(`RDPCERT_NEW_SHA256=${staged.sha256}\n`);
    expect(env).toContain(`RDPCERT_OLD_SHA256=${before.sha256}\n`);
  });

  it("run: when the current certificate would expire within criticalDays, the staged pair is activated before stageDays, and said so", async () => {
    const server = await start(certValid(-170, 5));
    const config = writeConfig(server, { stageDays: 10 });
    const staged = (await rdpcertJson<RotateJson>(["rotate", "--config", config, "--stage", "--json"])).json.staged!;
    const { code, json } = await rdpcertJson<RunJson>(["run", "--config", config, "--json"]);
    expect([json.outcome, code]).toEqual(["activated", 0]);
    expect(json.reason).toMatch(/before its stageDays \(10\) have passed: the current certificate expires in \d days \(criticalDays 7\)/);
    expect((await wire(server)).sha256).toBe(staged.sha256);
  });
});
