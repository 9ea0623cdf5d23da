import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeLeftoverTemps } from "../../../../src/hosts/local/atomic-write";

/** Leftovers of a crash inside writeFileAtomic (a key's temp file is a copy of the key), on real files. */
describe("removeLeftoverTemps", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "rdpcert-atomic-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const deadPid = (): number => Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);

  it("removes the temp files of a dead writer for that file only, and keeps everything else", () => {
    const pid = deadPid();
    const key = join(dir, "key.pem");
    writeFileSync(key, "current");
    const leftover = join(dir, `.key.pem.rdpcert-${pid}-0123abcd`);
    const otherFile = join(dir, `.cert.pem.rdpcert-${pid}-0123abcd`);
    const notPattern = join(dir, `.key.pem.rdpcert-${pid}-xyz`);
    const mine = join(dir, `.key.pem.rdpcert-${process.pid}-0123abcd`);
    const link = join(dir, `.key.pem.rdpcert-${pid}-aaaaaaaa`);
    const directory = join(dir, `.key.pem.rdpcert-${pid}-bbbbbbbb`);
    for (const path of [leftover, otherFile, notPattern, mine]) writeFileSync(path, "x");
    symlinkSync(key, link);
    mkdirSync(directory);
    expect(removeLeftoverTemps(key)).toEqual([leftover]);
    expect(readdirSync(dir).sort()).toEqual(
      [
        `.cert.pem.rdpcert-${pid}-0123abcd`,
        `.key.pem.rdpcert-${pid}-xyz`,
        `.key.pem.rdpcert-${process.pid}-0123abcd`,
        `.key.pem.rdpcert-${pid}-aaaaaaaa`,
        `.key.pem.rdpcert-${pid}-bbbbbbbb`,
        "key.pem",
      ].sort(),
    );
  });

  it("keeps a temp file owned by another user", () => {
    const pid = deadPid();
    const key = join(dir, "key.pem");
    const theirs = join(dir, `.key.pem.rdpcert-${pid}-0123abcd`);
    writeFileSync(theirs, "x");
    chownSync(theirs, 65534, 65534);
    expect(removeLeftoverTemps(key)).toEqual([]);
    expect(existsSync(theirs)).toBe(true);
  });
});
