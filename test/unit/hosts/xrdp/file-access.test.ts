import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readableBy } from "../../../../src/hosts/xrdp/file-access";

// Real files with real modes; identities are plain values, so no other user is needed.
describe("readableBy", () => {
  let dir: string;
  const alice = { name: "alice", uid: 4001, gids: [4001] };
  const team = { name: "bob", uid: 4002, gids: [4002, 4100] };
  const root = { name: "root", uid: 0, gids: [0] };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rdpcert-access-"));
    chmodSync(dir, 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function file(name: string, mode: number, uid: number, gid: number): string {
    const path = join(dir, name);
    writeFileSync(path, "x");
    chownSync(path, uid, gid);
    chmodSync(path, mode);
    return path;
  }

  it("uses owner, then group, then other bits", () => {
    const path = file("key.pem", 0o640, 4001, 4100);
    expect(readableBy(path, alice)).toEqual({ ok: true });
    expect(readableBy(path, team)).toEqual({ ok: true });
    expect(readableBy(path, { name: "eve", uid: 4003, gids: [4003] })).toEqual({
      ok: false,
      checked: true,
      reason: expect.stringContaining("eve cannot read"),
    });
    expect(readableBy(path, { name: "eve", uid: 4003, gids: [4003] })).toMatchObject({ reason: expect.stringContaining("mode 0640, owner 4001:4100") });
  });

  it("denies the owner when the owner bits deny, even if other bits allow", () => {
    expect(readableBy(file("odd.pem", 0o044, 4001, 4001), alice).ok).toBe(false);
  });

  it("needs execute on every directory on the way", () => {
    mkdirSync(join(dir, "private"));
    const path = join(dir, "private", "key.pem");
    writeFileSync(path, "x");
    chmodSync(path, 0o644);
    chownSync(join(dir, "private"), 0, 4100);
    chmodSync(join(dir, "private"), 0o710);
    expect(readableBy(path, team)).toEqual({ ok: true });
    expect(readableBy(path, alice)).toEqual({
      ok: false,
      checked: true,
      reason: expect.stringContaining(`alice cannot enter ${join(dir, "private")}`),
      closedDir: join(dir, "private"),
    });
  });

  it("follows links and names the target", () => {
    const target = file("real.key", 0o600, 0, 0);
    symlinkSync(target, join(dir, "key.pem"));
    const access = readableBy(join(dir, "key.pem"), alice);
    expect(access).toEqual({ ok: false, checked: true, reason: expect.stringContaining(`-> ${target}`) });
    expect(readableBy(join(dir, "key.pem"), root)).toEqual({ ok: true });
  });

  it("reports a dangling link", () => {
    symlinkSync(join(dir, "nowhere"), join(dir, "key.pem"));
    expect(readableBy(join(dir, "key.pem"), root)).toEqual({ ok: false, checked: true, reason: expect.stringContaining("cannot be resolved (ENOENT)") });
  });
});
