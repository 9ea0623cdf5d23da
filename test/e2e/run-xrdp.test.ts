import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeXrdpConfig, xrdpPool } from "../helpers/xrdp-pool";
import { caIssued, certValid } from "../helpers/certs";
import { rdpcert } from "../helpers/cli";
import { presented, sha1 } from "../helpers/served";

/** `rdpcert run` (what the scheduler runs) end to end against real xrdp, driven by a real config file. */
interface RunJson {
  schema: string;
  runId: string;
  action: string;
  outcome: string;
  exitCode: number;
  status: string;
  reason: string;
  rotation: { outcome: string; newThumbprint: string | null } | null;
  backoff: { failures: number; nextAttemptAt: string | null };
}

async function run(config: string, ...extra: string[]): Promise<{ code: number | null; json: RunJson; stderr: string }> {
  const result = await rdpcert(["run", "--config", config, "--json", ...extra]);
  try {
    return { code: result.code, json: JSON.parse(result.stdout) as RunJson, stderr: result.stderr };
  } catch {
    throw new Error(`run did not print JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}

describe("rdpcert run against real xrdp", () => {
  const start = xrdpPool();

  it("healthy: does nothing, exit 0, and logs one JSON line with the run id", async () => {
    const pair = certValid(-1, 179);
    const server = await start(pair);
    const config = writeXrdpConfig(server);
    const { code, json } = await run(config);
    expect([json.schema, json.outcome, json.status, code]).toEqual(["rdpcert.run/v1", "nothing", "OK", 0]);
    expect(readFileSync(server.certPath, "utf8")).toBe(pair.certPem);
    const lines = readFileSync(join(server.dir, "log", "rdpcert.log"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { runId: string; level: string; message: string });
    expect(lines.at(-1)).toMatchObject({ runId: json.runId, level: "info", message: expect.stringMatching(/^OK: /) });
  });

  it("past the renewal point: rotates and verifies; a second run right after finds nothing to do", async () => {
    const old = certValid(-130, 50); // 72% of 180 days
    const server = await start(old);
    const config = writeXrdpConfig(server);
    const first = await run(config);
    expect([first.json.outcome, first.code]).toEqual(["rotated", 0]);
    expect((await presented(server.port))!.thumbprint).toBe(first.json.rotation!.newThumbprint);
    expect(first.json.rotation!.newThumbprint).not.toBe(sha1(old.certPem));
    const second = await run(config);
    expect([second.json.outcome, second.code]).toEqual(["nothing", 0]);
  });

  it("corrupt (key missing): repaired", async () => {
    const server = await start({ certPem: certValid(-1, 179).certPem });
    const { code, json } = await run(writeXrdpConfig(server));
    expect([json.status, json.outcome, code]).toEqual(["CORRUPT", "rotated", 0]);
    expect(await presented(server.port)).not.toBeNull();
  });

  it("corrupt with autoRepair off: reported, not touched, exit 2", async () => {
    const server = await start({ certPem: certValid(-1, 179).certPem });
    const { code, json } = await run(writeXrdpConfig(server, { autoRepair: false }));
    expect([json.status, json.outcome, code]).toEqual(["CORRUPT", "nothing", 2]);
    expect(existsSync(server.keyPath)).toBe(false);
  });

  it("CA-issued and expiring: never deleted; without renewCommand a WARNING, with it the hook renews", async () => {
    const ca = caIssued(-300, 20);
    const server = await start(ca);
    const without = await run(writeXrdpConfig(server));
    expect([without.json.outcome, without.code]).toEqual(["nothing", 1]);
    expect(without.json.reason).toMatch(/CA-issued certificate \(never deleted by rdpcert\).*no renewCommand/);
    expect(readFileSync(server.certPath, "utf8")).toBe(ca.certPem);

    // The hook is argv, never a shell string: it installs a renewed CA-issued pair where xrdp looks.
    const renewed = caIssued(-1, 365, "renewed.example.test");
    writeFileSync(join(server.dir, "renewed-cert.pem"), renewed.certPem);
    writeFileSync(join(server.dir, "renewed-key.pem"), renewed.keyPem);
    const hook = ["/bin/sh", "-c", 'cp "$0/renewed-cert.pem" "$0/cert.pem" && cp "$0/renewed-key.pem" "$0/key.pem" && chmod 644 "$0/key.pem"', server.dir];
    const withHook = await run(writeXrdpConfig(server, { renewCommand: hook }));
    expect([withHook.json.outcome, withHook.code]).toEqual(["renewed", 0]);
    expect((await presented(server.port))!.thumbprint).toBe(sha1(renewed.certPem));
  });

  it("CA-issued within criticalDays and no hook: CRITICAL (exit 2), still untouched", async () => {
    const ca = caIssued(-300, 5);
    const server = await start(ca);
    const { code, json } = await run(writeXrdpConfig(server));
    expect([json.outcome, code]).toEqual(["nothing", 2]);
    expect(readFileSync(server.certPath, "utf8")).toBe(ca.certPem);
  });

  it("a rotation failing repeatedly backs off (1 h, then 2 h), remembered across invocations", async () => {
    const old = certValid(-170, 10);
    const server = await start(old);
    const config = writeXrdpConfig(server, { restartCommand: ["false"] });
    const state = join(server.dir, "state");
    // The failing restart happens before verification, and the rollback restores the old pair.
    const first = await run(config);
    expect([first.json.outcome, first.code]).toEqual(["rolled-back", 2]);
    expect(first.json.backoff.failures).toBe(1);
    const next = Date.parse(first.json.backoff.nextAttemptAt!);
    expect(next - Date.now()).toBeGreaterThan(55 * 60_000);
    expect(next - Date.now()).toBeLessThanOrEqual(60 * 60_000);

    const second = await run(config);
    expect([second.json.outcome, second.code]).toEqual(["backoff", 2]);
    expect(second.json.reason).toMatch(/not retrying before .* after 1 failed attempt \(last: restart command false exited with 1\)/);
    const history = () => readFileSync(join(state, "history.jsonl"), "utf8").trim().split("\n");
    expect(history()).toHaveLength(1);

    // An hour later (the remembered time is moved back, as the clock would move forward).
    const backoffFile = join(state, "backoff.json");
    const saved = JSON.parse(readFileSync(backoffFile, "utf8")) as { nextAttemptAt: string };
    writeFileSync(backoffFile, JSON.stringify({ ...saved, nextAttemptAt: new Date(Date.now() - 1000).toISOString() }));
    const third = await run(config);
    expect([third.json.outcome, third.json.backoff.failures]).toEqual(["rolled-back", 2]);
    expect(Date.parse(third.json.backoff.nextAttemptAt!) - Date.now()).toBeGreaterThan(115 * 60_000);
    expect(history()).toHaveLength(2);
    expect((await presented(server.port))!.thumbprint).toBe(sha1(old.certPem));
    expect(statSync(backoffFile).mode & 0o777).toBe(0o600);
  });

  it("--dry-run says what it would do and changes nothing", async () => {
    const pair = certValid(-170, 10);
    const server = await start(pair);
    const { code, json } = await run(writeXrdpConfig(server), "--dry-run");
    expect([json.outcome, code]).toEqual(["dry-run: would rotate", 0]);
    expect(readFileSync(server.certPath, "utf8")).toBe(pair.certPem);
    expect(existsSync(join(server.dir, "state"))).toBe(false);
  });

  it("flags override the config file; a one-off run needs no config file", async () => {
    const server = await start(certValid(-170, 10));
    const noConfig = await rdpcert(
      [
        "run",
        "--xrdp-ini",
        server.iniPath,
        "--state-dir",
        join(server.dir, "state2"),
        "--log-dir",
        join(server.dir, "log2"),
        "--no-restart",
        "--json",
        "--dry-run",
      ],
      {
        env: { RDPCERT_XRDP_INI: "/nonexistent.ini" },
      },
    );
    expect((JSON.parse(noConfig.stdout) as RunJson).outcome).toBe("dry-run: would rotate");
  });
});

describe("rdpcert config", () => {
  const dir = (): string => mkdtempSync(join(tmpdir(), "rdpcert-config-"));

  it("init writes every default; show prints the effective config with environment overrides; validate accepts it", async () => {
    const path = join(dir(), "config.json");
    expect((await rdpcert(["config", "init", "--config", path])).code).toBe(0);
    expect(JSON.parse(readFileSync(path, "utf8"))).toMatchObject({ warnDays: 30, schedule: "0 3 * * *", autoRepair: true });
    expect((await rdpcert(["config", "init", "--config", path])).code).toBe(3);
    const shown = await rdpcert(["config", "show", "--config", path], { env: { RDPCERT_WARN_DAYS: "21" } });
    expect(JSON.parse(shown.stdout)).toMatchObject({ warnDays: 21 });
    expect(await rdpcert(["config", "validate", "--config", path])).toMatchObject({ code: 0, stdout: `${path}: valid\n` });
  });

  it("a bad file is exit 3 with one line naming the field, the value and what is allowed", async () => {
    const path = join(dir(), "config.json");
    writeFileSync(path, JSON.stringify({ warnDays: 30, jitterMinutes: -5 }));
    const result = await rdpcert(["config", "validate", "--config", path]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`rdpcert: ${path}: jitterMinutes: -5 is not allowed (Too small: expected number to be >=0)\n`);
    const runResult = await rdpcert(["run", "--config", path]);
    expect([runResult.code, runResult.stderr]).toEqual([3, result.stderr]);
  });

  it("a --config that does not exist is an error; the default path missing means defaults", async () => {
    const result = await rdpcert(["config", "show", "--config", "/nonexistent/rdpcert.json"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/cannot read the config file \/nonexistent\/rdpcert.json: it does not exist \(create it with: rdpcert config init/);
  });
});
