import {
  chmodSync,
  chownSync,
  lchownSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../../../../src/hosts/local/atomic-write";
import { UntrustedPathError, checkTrustedDirectory, readTrustedFile, trustedChain, untrustedExecutable } from "../../../../src/hosts/local/trust";
import { openTrustedDirectory } from "../../../../src/hosts/local/trusted-dir";
import { ensureUser } from "../../../helpers/users";

/**
 * The trust rules (docs/trust.md): sshd's StrictModes for what root reads, runs and writes into, with a real second
 * user (rdpcert-t2), real links and real directories. Needs root (chown).
 */
const root = process.getuid?.() === 0;
const describeRoot = root ? describe : describe.skip;

describeRoot("trust rules for paths root acts on (issue 19)", () => {
  let base: string;
  let t2: { uid: number; gid: number };
  beforeAll(() => (t2 = ensureUser("rdpcert-t2")));
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), "rdpcert-trust-"));
    chmodSync(base, 0o755);
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  const file = (path: string, text = "x\n", mode = 0o644): string => {
    writeFileSync(path, text, { mode });
    chmodSync(path, mode);
    return path;
  };
  const untrusted = (fn: () => unknown): string => {
    try {
      fn();
    } catch (error) {
      if (error instanceof UntrustedPathError) return error.message;
      throw error;
    }
    throw new Error("not refused");
  };

  it("reads a root-owned file in root-owned directories, also through a root-owned sticky /tmp", () => {
    mkdirSync(join(base, "d"), { mode: 0o755 });
    file(join(base, "d", "f"), "hello\n");
    expect(readTrustedFile(join(base, "d", "f"), "certificate", "the file").toString()).toBe("hello\n");
  });

  it("refuses a file another user owns, or that its group can write", () => {
    const f = file(join(base, "f"));
    chownSync(f, t2.uid, t2.gid);
    expect(untrusted(() => readTrustedFile(f, "certificate", "the file"))).toMatch(/is owned by uid \d+, not by root/);
    chownSync(f, 0, 0);
    chmodSync(f, 0o664);
    expect(untrusted(() => readTrustedFile(f, "certificate", "the file"))).toMatch(/is writable by its group/);
  });

  it("refuses a root-owned file in a directory another user owns, or one that is group-writable, at any depth", () => {
    const d = join(base, "a", "b");
    mkdirSync(d, { recursive: true, mode: 0o755 });
    const f = file(join(d, "f"));
    chownSync(join(base, "a"), t2.uid, t2.gid);
    expect(untrusted(() => readTrustedFile(f, "key", "the key"))).toContain(`${join(base, "a")} is owned by uid ${t2.uid}`);
    chownSync(join(base, "a"), 0, 0);
    chmodSync(d, 0o775);
    expect(untrusted(() => readTrustedFile(f, "key", "the key"))).toContain(`${d} is writable by its group`);
  });

  it("follows links, judging the target and every directory on the way to it (certbot's live/ -> archive/)", () => {
    const archive = join(base, "archive", "rdp");
    const live = join(base, "live", "rdp");
    mkdirSync(archive, { recursive: true, mode: 0o700 });
    mkdirSync(live, { recursive: true, mode: 0o700 });
    file(join(archive, "fullchain1.pem"), "chain\n");
    symlinkSync("../../archive/rdp/fullchain1.pem", join(live, "fullchain.pem"));
    expect(readTrustedFile(join(live, "fullchain.pem"), "certificate", "the chain").toString()).toBe("chain\n");
    expect(trustedChain(join(live, "fullchain.pem"), "x")!.real).toBe(join(archive, "fullchain1.pem"));
    // The target's directory is another user's: refused, though the link and live/ are root's.
    chownSync(archive, t2.uid, t2.gid);
    expect(untrusted(() => readTrustedFile(join(live, "fullchain.pem"), "certificate", "the chain"))).toContain(`${archive} is owned by uid ${t2.uid}`);
  });

  it("refuses a link in a directory another user owns, even to a root-owned file in root's directories", () => {
    const theirs = join(base, "theirs");
    mkdirSync(theirs, { mode: 0o755 });
    chownSync(theirs, t2.uid, t2.gid);
    symlinkSync("/etc/hostname", join(theirs, "link"));
    expect(untrusted(() => readTrustedFile(join(theirs, "link"), "config", "the config file"))).toContain(`${theirs} is owned by uid ${t2.uid}`);
  });

  it("refuses a link another user made in a sticky directory", () => {
    const sticky = join(base, "sticky");
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const target = file(join(base, "root-file"));
    const link = join(sticky, "link");
    symlinkSync(target, link);
    // Made by t2 (lchown: as if t2 had created it in the sticky directory).
    chownSync(sticky, 0, 0);
    lchownSync(link, t2.uid, t2.gid);
    expect(untrusted(() => readTrustedFile(link, "certificate", "the file"))).toContain(`${link} is a link owned by uid ${t2.uid}`);
  });

  it("`..` after a link is taken from the link's target, and every directory it reaches is judged", () => {
    const good = join(base, "good", "live");
    mkdirSync(good, { recursive: true, mode: 0o755 });
    const evil = join(base, "evil");
    mkdirSync(evil, { mode: 0o755 });
    file(join(evil, "f"));
    chownSync(evil, t2.uid, t2.gid);
    expect(untrusted(() => readTrustedFile(join(good, "..", "..", "evil", "f"), "certificate", "the file"))).toContain(`${evil} is owned by uid ${t2.uid}`);
  });

  it("a hard link another user cannot make into root's directory; root's own hard link is the same file and judged by its owner", () => {
    const a = file(join(base, "a"));
    linkSync(a, join(base, "b"));
    expect(readTrustedFile(join(base, "b"), "certificate", "x").toString()).toBe("x\n");
    chownSync(a, t2.uid, t2.gid);
    expect(untrusted(() => readTrustedFile(join(base, "b"), "certificate", "x"))).toMatch(/owned by uid/);
  });

  it("checkTrustedDirectory: missing is 'missing'; a world-writable or another user's directory is refused", () => {
    expect(checkTrustedDirectory(join(base, "none"), "deploySource")).toBe("missing");
    const d = join(base, "d");
    mkdirSync(d, { mode: 0o755 });
    expect(checkTrustedDirectory(d, "deploySource")).toBe("ok");
    chmodSync(d, 0o1777);
    expect(untrusted(() => checkTrustedDirectory(d, "deploySource"))).toContain("writable by every user");
    chmodSync(d, 0o755);
    chownSync(d, t2.uid, t2.gid);
    expect(untrusted(() => checkTrustedDirectory(d, "deploySource"))).toContain(`owned by uid ${t2.uid}`);
  });

  it("untrustedExecutable: a link to a root-owned program is judged by the link's directories and the target's", () => {
    const bin = join(base, "bin");
    mkdirSync(bin, { mode: 0o755 });
    symlinkSync("/bin/true", join(bin, "restart"));
    expect(untrustedExecutable(join(bin, "restart"))).toBeNull();
    chownSync(bin, t2.uid, t2.gid);
    expect(untrustedExecutable(join(bin, "restart"))).toContain(`${bin} is owned by uid ${t2.uid}`);
    // A root-owned program in another user's directory, reached through a root link.
    const theirs = join(base, "theirs");
    mkdirSync(theirs, { mode: 0o755 });
    file(join(theirs, "prog"), "#!/bin/sh\n", 0o755);
    chownSync(theirs, t2.uid, t2.gid);
    const mine = join(base, "mine");
    mkdirSync(mine, { mode: 0o755 });
    symlinkSync(join(theirs, "prog"), join(mine, "restart"));
    expect(untrustedExecutable(join(mine, "restart"))).toContain(`${theirs} is owned by uid ${t2.uid}`);
  });

  it("untrustedExecutable: a bare name is refused when a PATH directory searched before the match is another user's", () => {
    const theirs = join(base, "theirs-bin");
    mkdirSync(theirs, { mode: 0o755 });
    chownSync(theirs, t2.uid, t2.gid);
    const saved = process.env.PATH;
    try {
      process.env.PATH = `${theirs}:/usr/bin:/bin`;
      expect(untrustedExecutable("true", "the renew command")).toContain(`${theirs} is owned by uid ${t2.uid}`);
      process.env.PATH = `/usr/bin:/bin:${theirs}`;
      expect(untrustedExecutable("true", "the renew command")).toBeNull();
    } finally {
      process.env.PATH = saved;
    }
  });

  describe("openTrustedDirectory", () => {
    it("writes into the directory it opened and checked, even when its path is replaced by a link meanwhile", () => {
      const dir = join(base, "managed");
      const opened = openTrustedDirectory(dir, { what: "the managed directory", chain: "last", create: 0o755 });
      try {
        // Between the check and the write, the directory is renamed and a link to another user's directory put in its place.
        const victim = join(base, "victim");
        mkdirSync(victim, { mode: 0o755 });
        chownSync(victim, t2.uid, t2.gid);
        renameSync(dir, join(base, "moved"));
        symlinkSync(victim, dir);
        writeFileAtomic(join(opened.at, "key.pem"), "secret\n", { mode: 0o600 });
        expect(readdirSync(victim)).toEqual([]);
        expect(readFileSync(join(base, "moved", "key.pem"), "utf8")).toBe("secret\n");
      } finally {
        opened.close();
      }
    });

    it("refuses a link, another user's directory, or a group-writable one, and creates nothing through them", () => {
      const victim = join(base, "victim");
      mkdirSync(victim, { mode: 0o755 });
      chownSync(victim, t2.uid, t2.gid);
      const link = join(base, "rdpcert");
      symlinkSync(victim, link);
      expect(untrusted(() => openTrustedDirectory(link, { what: "rdpcert's own directory", chain: "last", create: 0o755 }))).toContain(`${link} is a link`);
      expect(untrusted(() => openTrustedDirectory(victim, { what: "rdpcert's own directory", chain: "last" }))).toContain(`owned by uid ${t2.uid}`);
      const loose = join(base, "loose");
      mkdirSync(loose);
      chmodSync(loose, 0o775);
      expect(untrusted(() => openTrustedDirectory(loose, { what: "the textfile directory", chain: "full" }))).toContain("writable by its group");
      expect(readdirSync(victim)).toEqual([]);
    });

    it("chain full: a directory reached through another user's directory is refused", () => {
      const theirs = join(base, "theirs");
      mkdirSync(join(theirs, "textfile"), { recursive: true, mode: 0o755 });
      chownSync(theirs, t2.uid, t2.gid);
      expect(untrusted(() => openTrustedDirectory(join(theirs, "textfile"), { what: "the textfile directory", chain: "full" }))).toContain(
        `${theirs} is owned by uid ${t2.uid}`,
      );
    });
  });
});
