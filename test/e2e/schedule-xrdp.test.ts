import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { probe } from "../../src/probe/prober";
import { type XrdpServer, startXrdp } from "../../scripts/xrdp-server";
import { certValid } from "../helpers/certs";
import { rdpcert } from "../helpers/cli";
import { adminDir } from "../helpers/admin-dir";
import { scheduleDaemon } from "../helpers/schedule-daemon";

/** The `rdpcert schedule` daemon as a real process, against a real xrdp. */

describe("rdpcert schedule", () => {
  const servers: XrdpServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it("a bad cron expression is a startup error (exit 3, one line)", async () => {
    const result = await rdpcert(["schedule", "--schedule", "every day at 3", "--state-dir", "/tmp/rdpcert-unused", "--log-dir", "/tmp/rdpcert-unused-log"]);
    expect(result.code).toBe(3);
    expect(result.stderr.trim()).toBe(
      'rdpcert: schedule "every day at 3" is not a valid cron expression (5 fields: minute hour day-of-month month day-of-week, or 6 with seconds first): fix "schedule" in the config or --schedule',
    );
  });

  it("never overlaps runs; SIGTERM during a rotation lets it finish and leaves a consistent state", async () => {
    // Expiring in 10 days: the first pass rotates, and its restart takes 3 s while a tick comes every second.
    const server = await startXrdp(certValid(-170, 10));
    servers.push(server);
    const state = join(server.dir, "state");
    const config = join(adminDir(), "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        xrdpIni: server.iniPath,
        stateDir: state,
        logDir: join(server.dir, "log"),
        schedule: "* * * * * *",
        jitterMinutes: 0,
        restartCommand: ["sleep", "3"],
        verifyTimeoutMs: 8000,
      }),
    );
    const d = scheduleDaemon(config);
    await d.waitFor(/rotating: /);
    await d.waitFor(/skipped, the previous run is still in progress/);
    d.child.kill("SIGTERM");
    expect(await d.exited).toBe(0);
    const out = d.output();
    expect(out).toContain("SIGTERM: stopping after the run in progress");
    const started = (out.match(/rotating: /g) ?? []).length;
    const finished = (out.match(/run finished: rotated/g) ?? []).length;
    expect([started, finished]).toEqual([1, 1]);
    // Consistent: no open journal, no lock, every rotation in the history, and the listener serves the file's certificate.
    expect(existsSync(join(state, "journal.json"))).toBe(false);
    expect(existsSync(join(state, "rotate.lock"))).toBe(false);
    const history = readFileSync(join(state, "history.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { outcome: string });
    expect(history.map((h) => h.outcome)).toEqual(Array(started).fill("rotated"));
    const now = await probe({ input: "", host: "127.0.0.1", port: server.port }, { timeoutMs: 5000 });
    expect(now.certificate!.thumbprint).toBe(new X509Certificate(readFileSync(server.certPath)).fingerprint.replace(/:/g, ""));
  });

  it("SIGHUP runs a pass now; SIGTERM when idle exits 0 at once", async () => {
    const server = await startXrdp(certValid(-1, 179));
    servers.push(server);
    const config = join(adminDir(), "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        xrdpIni: server.iniPath,
        stateDir: join(server.dir, "state"),
        logDir: join(server.dir, "log"),
        schedule: "0 3 * * *",
        jitterMinutes: 30,
      }),
    );
    const d = scheduleDaemon(config);
    await d.waitFor(/scheduled "0 3 \* \* \*" plus up to 30 min jitter; next run at \d{4}-/);
    d.child.kill("SIGHUP");
    await d.waitFor(/run finished: nothing \(exit 0\)/);
    d.child.kill("SIGTERM");
    expect(await d.exited).toBe(0);
  });
});
