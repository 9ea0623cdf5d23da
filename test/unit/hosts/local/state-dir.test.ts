import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { bootId, processStartTime } from "../../../../src/hosts/local/process-info";
import { StateDir } from "../../../../src/hosts/local/state-dir";
import { UntrustedPathError } from "../../../../src/hosts/local/trust";

describe("StateDir", () => {
  let dir: string;
  beforeEach(() => (dir = join(mkdtempSync(join(tmpdir(), "rdpcert-state-")), "state")));
  afterEach(() => rmSync(join(dir, ".."), { recursive: true, force: true }));

  it("locks once: a second lock by a live process is refused and names the holder", () => {
    const state = new StateDir(dir);
    const first = state.lock();
    expect(first.ok).toBe(true);
    const second = new StateDir(dir).lock();
    expect(second).toEqual({
      ok: false,
      heldBy: { pid: process.pid, host: hostname(), since: expect.any(String), startTime: expect.stringMatching(/^\d+$/), bootId: expect.any(String) },
    });
    if (first.ok) first.release();
    const third = state.lock();
    expect(third.ok).toBe(true);
    if (third.ok) third.release();
    expect(existsSync(join(dir, "rotate.lock"))).toBe(false);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it("takes over a lock whose process is gone, and says from whom", () => {
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const deadPid = Number(gone.stdout);
    new StateDir(dir).ensure();
    writeFileSync(join(dir, "rotate.lock"), JSON.stringify({ pid: deadPid, host: hostname(), since: "2026-01-01T00:00:00.000Z" }));
    const lock = new StateDir(dir).lock();
    expect(lock).toMatchObject({ ok: true, tookOverFrom: { pid: deadPid } });
    expect(JSON.parse(readFileSync(join(dir, "rotate.lock"), "utf8"))).toMatchObject({ pid: process.pid });
  });

  describe("a lock whose pid now belongs to another live process (issue 12, case 9)", () => {
    let sleeper: ChildProcess;
    beforeEach(async () => {
      sleeper = spawn("sleep", ["600"], { stdio: "ignore" });
      await new Promise((resolve) => sleeper.once("spawn", resolve));
    });
    afterEach(() => {
      sleeper.kill("SIGKILL");
    });

    it("is stale when the start time differs, and is taken over with the reason", () => {
      const pid = sleeper.pid!;
      new StateDir(dir).ensure();
      writeFileSync(join(dir, "rotate.lock"), JSON.stringify({ pid, host: hostname(), since: "2026-01-01T00:00:00.000Z", startTime: "1", bootId: bootId() }), {
        mode: 0o600,
      });
      const lock = new StateDir(dir).lock();
      expect(lock).toMatchObject({ ok: true, tookOverFrom: { pid }, tookOverBecause: `pid ${pid} is now another process` });
      expect(JSON.parse(readFileSync(join(dir, "rotate.lock"), "utf8"))).toMatchObject({
        pid: process.pid,
        startTime: processStartTime(process.pid),
        bootId: bootId(),
      });
      if (lock.ok) lock.release();
    });

    it("is stale when it was taken in another boot", () => {
      const pid = sleeper.pid!;
      new StateDir(dir).ensure();
      writeFileSync(
        join(dir, "rotate.lock"),
        JSON.stringify({
          pid,
          host: hostname(),
          since: "2026-01-01T00:00:00.000Z",
          startTime: processStartTime(pid),
          bootId: "00000000-0000-0000-0000-000000000000",
        }),
        { mode: 0o600 },
      );
      expect(new StateDir(dir).lock()).toMatchObject({ ok: true, tookOverFrom: { pid }, tookOverBecause: "it was taken before the last reboot" });
    });

    it("a lock of an older version (no start time) is stale when its pid started after it was taken", () => {
      const pid = sleeper.pid!;
      new StateDir(dir).ensure();
      writeFileSync(join(dir, "rotate.lock"), JSON.stringify({ pid, host: hostname(), since: "2026-01-01T00:00:00.000Z" }), { mode: 0o600 });
      expect(new StateDir(dir).lock()).toMatchObject({
        ok: true,
        tookOverFrom: { pid },
        tookOverBecause: `pid ${pid} is now another process (it started after the lock was taken)`,
      });
    });

    it("a lock of an older version is still held when its pid is older than the lock", () => {
      const pid = sleeper.pid!;
      new StateDir(dir).ensure();
      writeFileSync(join(dir, "rotate.lock"), JSON.stringify({ pid, host: hostname(), since: new Date(Date.now() + 60_000).toISOString() }), { mode: 0o600 });
      expect(new StateDir(dir).lock()).toMatchObject({ ok: false, heldBy: { pid } });
    });

    it("is still held when pid, start time and boot id all match", () => {
      const pid = sleeper.pid!;
      new StateDir(dir).ensure();
      writeFileSync(
        join(dir, "rotate.lock"),
        JSON.stringify({ pid, host: hostname(), since: "2026-01-01T00:00:00.000Z", startTime: processStartTime(pid), bootId: bootId() }),
        { mode: 0o600 },
      );
      expect(new StateDir(dir).lock()).toMatchObject({ ok: false, heldBy: { pid } });
    });
  });

  it("never prunes a protected backup (the one being restored: issue 12, case 13)", () => {
    const state = new StateDir(dir);
    const set = { backend: "xrdp" as const, thumbprint: "T", items: [] };
    for (let n = 0; n < 4; n++) state.saveBackup(set, null, 2);
    expect(state.backupIds()).toEqual(["0001", "0003", "0004"]);
    state.saveBackup(set, "safety", 2, ["3"]);
    expect(state.backupIds()).toEqual(["0001", "0003", "0004", "0005"]);
  });

  it("restores permission bits only: a backup's setuid, setgid and sticky bits are dropped", () => {
    const state = new StateDir(dir);
    state.saveBackup(
      {
        backend: "xrdp",
        thumbprint: null,
        items: [{ role: "certificate", originalPath: "/etc/xrdp/cert.pem", data: Buffer.from("x"), mode: 0o7755, uid: 0, gid: 0, wasLink: false }],
      },
      null,
      5,
    );
    expect(state.loadBackup("1")?.items[0]?.mode).toBe(0o755);
  });

  it("refuses a journal that rdpcert did not write (bad shape), in one line", () => {
    const state = new StateDir(dir);
    state.ensure();
    writeFileSync(join(dir, "journal.json"), JSON.stringify({ id: "x", step: "replaced", backupId: "../../etc" }), { mode: 0o600 });
    expect(() => state.readJournal()).toThrow(UntrustedPathError);
  });

  it.each([
    [
      "the state dir is a symlink",
      (d: string) => {
        const real = `${d}.real`;
        mkdirSync(real, { mode: 0o700 });
        symlinkSync(real, d);
      },
    ],
    [
      "backups/ is a symlink",
      (d: string) => {
        mkdirSync(d, { mode: 0o700 });
        mkdirSync(`${d}.elsewhere`, { mode: 0o700 });
        symlinkSync(`${d}.elsewhere`, join(d, "backups"));
      },
    ],
    [
      "history.jsonl is a symlink",
      (d: string) => {
        mkdirSync(d, { mode: 0o700 });
        writeFileSync(`${d}.target`, "", { mode: 0o644 });
        symlinkSync(`${d}.target`, join(d, "history.jsonl"));
      },
    ],
    [
      "the state dir is writable by others",
      (d: string) => {
        mkdirSync(d);
        chmodSync(d, 0o777);
      },
    ],
    [
      "a file in it is writable by its group",
      (d: string) => {
        mkdirSync(d, { mode: 0o700 });
        writeFileSync(join(d, "journal.json"), "{}");
        chmodSync(join(d, "journal.json"), 0o620);
      },
    ],
  ])("refuses when %s, before touching anything", (_name, make) => {
    make(dir);
    const state = new StateDir(dir);
    expect(() => state.lock()).toThrow(UntrustedPathError);
    expect(() => state.check()).toThrow(/refusing to use it/);
    if (existsSync(`${dir}.target`)) {
      expect(statSync(`${dir}.target`).mode & 0o777).toBe(0o644);
      expect(readFileSync(`${dir}.target`, "utf8")).toBe("");
    }
  });

  it("numbers backups, writes them 0700/0600, and keeps the newest N and 0001, the pair before rdpcert's first change (issue 23)", () => {
    const state = new StateDir(dir);
    const set = (n: number) => ({
      backend: "xrdp" as const,
      thumbprint: `T${n}`,
      items: [{ role: "key" as const, originalPath: "/etc/xrdp/key.pem", data: Buffer.from(`key ${n}`), mode: 0o600, uid: 0, gid: 0, wasLink: false }],
    });
    const ids = [1, 2, 3, 4, 5].map((n) => state.saveBackup(set(n), `reason ${n}`, 3));
    expect(ids).toEqual(["0001", "0002", "0003", "0004", "0005"]);
    expect(state.backupIds()).toEqual(["0001", "0003", "0004", "0005"]);
    expect(state.listBackups().map((b) => [b.id, b.thumbprint, b.reason])).toEqual([
      ["0001", "T1", "reason 1"],
      ["0003", "T3", "reason 3"],
      ["0004", "T4", "reason 4"],
      ["0005", "T5", "reason 5"],
    ]);
    const loaded = state.loadBackup("4");
    expect(loaded?.items[0]?.data.toString()).toBe("key 4");
    expect(statSync(state.backupPath("0004")).mode & 0o777).toBe(0o700);
    expect(statSync(join(state.backupPath("0004"), "0-key")).mode & 0o777).toBe(0o600);
    expect(state.loadBackup("../../etc")).toBeNull();
    expect(state.loadBackup("0002")).toBeNull();
    expect(state.loadBackup("0001")?.thumbprint).toBe("T1");
  });

  it("remembers run's backoff in backoff.json (0600), and reads it only as a state file: never through a link", () => {
    const state = new StateDir(dir);
    expect(state.readBackoff()).toEqual({ failures: 0, lastFailureAt: null, nextAttemptAt: null, lastReason: null, unfixed: null });
    const failed = {
      failures: 2,
      lastFailureAt: "2027-01-01T00:00:00.000Z",
      nextAttemptAt: "2027-01-01T02:00:00.000Z",
      lastReason: "restart failed",
      unfixed: null,
    };
    state.writeBackoff(failed);
    expect(statSync(join(dir, "backoff.json")).mode & 0o777).toBe(0o600);
    expect(new StateDir(dir).readBackoff()).toEqual(failed);
    // A link in its place (to a file that would say 9 failures) is not followed: no backoff.
    const elsewhere = join(dir, "..", "elsewhere.json");
    writeFileSync(elsewhere, JSON.stringify({ ...failed, failures: 9 }));
    rmSync(join(dir, "backoff.json"));
    symlinkSync(elsewhere, join(dir, "backoff.json"));
    expect(new StateDir(dir).readBackoff().failures).toBe(0);
    // Not rdpcert's shape: no backoff either.
    rmSync(join(dir, "backoff.json"));
    writeFileSync(join(dir, "backoff.json"), "[1,2]", { mode: 0o600 });
    expect(new StateDir(dir).readBackoff().failures).toBe(0);
  });

  it("keeps run's last textfile outcome in textfile.json (0600) for module=local, and reads it only as a state file", () => {
    const state = new StateDir(dir);
    expect(state.readTextfileRecord()).toBeNull();
    const at = new Date("2026-01-10T00:00:00Z");
    state.writeTextfileRecord({ at, error: "EACCES" });
    expect(statSync(join(dir, "textfile.json")).mode & 0o777).toBe(0o600);
    expect(new StateDir(dir).readTextfileRecord()).toEqual({ at, error: "EACCES" });
    state.writeTextfileRecord({ at, error: null });
    expect(new StateDir(dir).readTextfileRecord()).toEqual({ at, error: null });
    // Unparseable, or a date that is not one: no record.
    writeFileSync(join(dir, "textfile.json"), "{not json", { mode: 0o600 });
    expect(state.readTextfileRecord()).toBeNull();
    writeFileSync(join(dir, "textfile.json"), JSON.stringify({ at: "yesterday", error: null }), { mode: 0o600 });
    expect(state.readTextfileRecord()).toBeNull();
    // A link in its place is not followed.
    const elsewhere = join(dir, "..", "elsewhere.json");
    writeFileSync(elsewhere, JSON.stringify({ at: at.toISOString(), error: "EACCES" }));
    rmSync(join(dir, "textfile.json"));
    symlinkSync(elsewhere, join(dir, "textfile.json"));
    expect(new StateDir(dir).readTextfileRecord()).toBeNull();
  });

  it("writes the textfile record best effort: an untrusted or unusable state dir is skipped, not thrown, and not written", () => {
    // A state "dir" that is a file.
    mkdirSync(join(dir, ".."), { recursive: true });
    writeFileSync(dir, "");
    expect(() => new StateDir(dir).writeTextfileRecord({ at: new Date(), error: null })).not.toThrow();
    expect(readFileSync(dir, "utf8")).toBe("");
    rmSync(dir);
    // A state dir others can write: refused by the trust checks, nothing written into it.
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o777);
    expect(() => new StateDir(dir).writeTextfileRecord({ at: new Date(), error: null })).not.toThrow();
    expect(existsSync(join(dir, "textfile.json"))).toBe(false);
  });

  it("keeps the open journal until it is closed into history", () => {
    const state = new StateDir(dir);
    const journal = {
      id: "j1",
      pid: 1,
      startedAt: "t",
      backend: "xrdp",
      step: "replaced" as const,
      oldThumbprint: "A",
      newThumbprint: "B",
      backupId: "0001",
      reason: null,
      presentedBefore: "A",
    };
    state.writeJournal(journal);
    expect(state.readJournal()).toEqual(journal);
    state.closeJournal(journal, { outcome: "rotated", reason: null, finishedAt: "t2" });
    expect(state.readJournal()).toBeNull();
    expect(state.history()).toEqual([{ ...journal, outcome: "rotated", reason: null, finishedAt: "t2" }]);
  });
});

describe("StateDir: lock files left by a crash (issue 19)", () => {
  let dir: string;
  beforeEach(() => (dir = join(mkdtempSync(join(tmpdir(), "rdpcert-state-")), "state")));
  afterEach(() => rmSync(join(dir, ".."), { recursive: true, force: true }));

  it("removes rotate.lock.PID, rotate.lock.stale.PID and their temps whose process is gone; keeps a live writer's and other names", () => {
    const dead = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
    new StateDir(dir).ensure();
    const stale = [`rotate.lock.${dead}`, `rotate.lock.stale.${dead}`, `.rotate.lock.${dead}.rdpcert-${dead}-0a1b2c3d`];
    // A live process that wrote its file after it started: still at work, kept.
    const live = `rotate.lock.${process.ppid}`;
    const other = ["rotate.lock.notapid", `rotate.lock.${dead}.bak`, "history.jsonl"];
    for (const name of [...stale, live, ...other]) writeFileSync(join(dir, name), "{}", { mode: 0o600 });
    const lock = new StateDir(dir).lock();
    expect(lock.ok).toBe(true);
    if (lock.ok) lock.release();
    const left = readdirSync(dir).sort();
    for (const name of stale) expect(left).not.toContain(name);
    for (const name of [live, ...other]) expect(left).toContain(name);
  });
});
