import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { StateDir, windowsAclArgs } from "../../../../src/hosts/local/state-dir";

describe("StateDir", () => {
  let dir: string;
  beforeEach(() => (dir = join(mkdtempSync(join(tmpdir(), "rdpcert-state-")), "state")));
  afterEach(() => rmSync(join(dir, ".."), { recursive: true, force: true }));

  it("locks once: a second lock by a live process is refused and names the holder", () => {
    const state = new StateDir(dir);
    const first = state.lock();
    expect(first.ok).toBe(true);
    const second = new StateDir(dir).lock();
    expect(second).toEqual({ ok: false, heldBy: { pid: process.pid, host: hostname(), since: expect.any(String) } });
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

  it("numbers backups, writes them 0700/0600, and keeps the newest N", () => {
    const state = new StateDir(dir);
    const set = (n: number) => ({
      backend: "xrdp" as const,
      thumbprint: `T${n}`,
      items: [{ role: "key" as const, originalPath: "/etc/xrdp/key.pem", data: Buffer.from(`key ${n}`), mode: 0o600, uid: 0, gid: 0, wasLink: false }],
    });
    const ids = [1, 2, 3, 4].map((n) => state.saveBackup(set(n), `reason ${n}`, 3));
    expect(ids).toEqual(["0001", "0002", "0003", "0004"]);
    expect(state.backupIds()).toEqual(["0002", "0003", "0004"]);
    expect(state.listBackups().map((b) => [b.id, b.thumbprint, b.reason])).toEqual([
      ["0002", "T2", "reason 2"],
      ["0003", "T3", "reason 3"],
      ["0004", "T4", "reason 4"],
    ]);
    const loaded = state.loadBackup("4");
    expect(loaded?.items[0]?.data.toString()).toBe("key 4");
    expect(statSync(state.backupPath("0004")).mode & 0o777).toBe(0o700);
    expect(statSync(join(state.backupPath("0004"), "0-key")).mode & 0o777).toBe(0o600);
    expect(state.loadBackup("../../etc")).toBeNull();
    expect(state.loadBackup("0001")).toBeNull();
  });

  it("keeps the open journal until it is closed into history", () => {
    const state = new StateDir(dir);
    const journal = { id: "j1", pid: 1, startedAt: "t", backend: "xrdp", step: "replaced" as const, oldThumbprint: "A", newThumbprint: "B", backupId: "0001", reason: null, presentedBefore: "A" };
    state.writeJournal(journal);
    expect(state.readJournal()).toEqual(journal);
    state.closeJournal(journal, { outcome: "rotated", reason: null, finishedAt: "t2" });
    expect(state.readJournal()).toBeNull();
    expect(state.history()).toEqual([{ ...journal, outcome: "rotated", reason: null, finishedAt: "t2" }]);
  });
});

describe("windowsAclArgs", () => {
  it("limits the state dir to SYSTEM and Administrators by SID, without inheritance", () => {
    expect(windowsAclArgs("C:\\ProgramData\\rdpcert")).toEqual(["C:\\ProgramData\\rdpcert", "/inheritance:r", "/grant:r", "*S-1-5-18:(OI)(CI)F", "*S-1-5-32-544:(OI)(CI)F"]);
  });
});
