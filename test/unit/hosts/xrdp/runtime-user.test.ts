import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommandRunner } from "../../../../src/hosts/command-runner";
import { execFileSync } from "node:child_process";
import { runCommand } from "../../../../src/hosts/command-runner";
import { type AccountFiles, resolveIdentity, xrdpServiceIdentity } from "../../../../src/hosts/xrdp/runtime-user";

describe("xrdpServiceIdentity", () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), "rdpcert-unit-"))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const dirs = (): string[] => [join(root, "lib"), join(root, "etc")];
  const write = (path: string, text: string): void => {
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, text);
  };

  it("reads User= and Group= from [Service] of the unit, as Debian ships it", () => {
    write(join(root, "lib", "xrdp.service"), "[Unit]\nUser=nobody\n[Service]\nUser=xrdp\nGroup=xrdp\nExecStart=/usr/sbin/xrdp\n");
    expect(xrdpServiceIdentity(dirs())).toEqual({ user: "xrdp", group: "xrdp", sources: [join(root, "lib", "xrdp.service")] });
  });

  it("lets /etc override /lib and drop-ins override the unit, in name order", () => {
    write(join(root, "lib", "xrdp.service"), "[Service]\nUser=xrdp\nGroup=xrdp\n");
    write(join(root, "etc", "xrdp.service"), "[Service]\nUser=admin\n");
    write(join(root, "lib", "xrdp.service.d", "20-group.conf"), "[Service]\nGroup=ssl-cert\n");
    write(join(root, "etc", "xrdp.service.d", "10-user.conf"), "[Service]\nUser=rdp\n");
    expect(xrdpServiceIdentity(dirs())).toMatchObject({ user: "rdp", group: "ssl-cert" });
  });

  it("is root (no user) when no unit names one", () => {
    expect(xrdpServiceIdentity(dirs())).toEqual({ user: null, group: null, sources: [] });
  });
});

describe("resolveIdentity", () => {
  let root: string;
  let files: AccountFiles;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "rdpcert-accounts-"));
    files = { passwd: join(root, "passwd"), group: join(root, "group") };
    writeFileSync(files.passwd, "root:x:0:0:root:/root:/bin/bash\n");
    writeFileSync(files.group, "root:x:0:\n");
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const never: CommandRunner = async (file) => {
    throw new Error(`${file} was run for a local user`);
  };

  it("a local user: read from /etc/passwd and /etc/group, no process; Group= from the file too", async () => {
    writeFileSync(files.passwd, "root:x:0:0:root:/root:/bin/bash\nxrdp:x:102:109::/run/xrdp:/usr/sbin/nologin\n");
    writeFileSync(files.group, "root:x:0:\nssl-cert:x:103:postgres,xrdp\nxrdp:x:109:\nrdpkeys:x:120:\nadm:x:4:syslog\n");
    expect(await resolveIdentity(never, "xrdp", null, files)).toEqual({ ok: true, identity: { name: "xrdp", uid: 102, gids: [109, 103] } });
    expect(await resolveIdentity(never, "xrdp", "rdpkeys", files)).toEqual({ ok: true, identity: { name: "xrdp:rdpkeys", uid: 102, gids: [120, 103] } });
  });

  it("agrees with id(1) for the local users of this machine (the real files, the real id)", async () => {
    const users = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .map((l) => l.split(":")[0]!)
      .filter(Boolean)
      .slice(0, 40);
    expect(users).toContain("root");
    for (const user of users) {
      const fromFiles = await resolveIdentity(never, user, null);
      const fromId = await resolveIdentity(runCommand, user, null, { passwd: "/dev/null", group: "/dev/null" });
      const real = execFileSync("id", ["-G", "--", user], { encoding: "utf8" }).trim().split(/\s+/).map(Number);
      if (!fromFiles.ok || !fromId.ok) throw new Error(`${user}: ${JSON.stringify([fromFiles, fromId])}`);
      const sorted = (gids: readonly number[]): number[] => [...new Set(gids)].sort((a, b) => a - b);
      expect([user, fromFiles.identity.uid, fromFiles.identity.gids[0], sorted(fromFiles.identity.gids)]).toEqual([
        user,
        fromId.identity.uid,
        fromId.identity.gids[0],
        sorted(real),
      ]);
    }
  });

  const reply = (stdout: string, exitCode = 0) => ({
    exitCode,
    stdout,
    stderr: exitCode ? "id: 'ghost': no such user\n" : "",
    timedOut: false,
    spawnError: null,
  });

  it("asks id once with argv only, ending options before the name; a Group= among the user's groups needs no getent", async () => {
    const calls: string[][] = [];
    const runner: CommandRunner = async (file, args) => {
      calls.push([file, ...args]);
      return reply("uid=102(xrdp) gid=109(xrdp) groups=109(xrdp),103(ssl-cert)\n");
    };
    expect(await resolveIdentity(runner, "xrdp", "ssl-cert", files)).toEqual({ ok: true, identity: { name: "xrdp:ssl-cert", uid: 102, gids: [103, 103] } });
    expect(await resolveIdentity(runner, "xrdp", null, files)).toEqual({ ok: true, identity: { name: "xrdp", uid: 102, gids: [109, 103] } });
    expect(calls).toEqual([
      ["id", "--", "xrdp"],
      ["id", "--", "xrdp"],
    ]);
  });

  it("looks up a Group= the user is not in with getent", async () => {
    const calls: string[][] = [];
    const runner: CommandRunner = async (file, args) => {
      calls.push([file, ...args]);
      return file === "id" ? reply("uid=102(xrdp) gid=109(xrdp) groups=109(xrdp)\n") : reply("rdpkeys:x:120:\n");
    };
    expect(await resolveIdentity(runner, "xrdp", "rdpkeys", files)).toEqual({ ok: true, identity: { name: "xrdp:rdpkeys", uid: 102, gids: [120] } });
    expect(calls[1]).toEqual(["getent", "group", "--", "rdpkeys"]);
  });

  it("says so when the user does not exist", async () => {
    const runner: CommandRunner = async () => reply("", 1);
    expect(await resolveIdentity(runner, "ghost", null, files)).toEqual({
      ok: false,
      reason: expect.stringContaining("user ghost (xrdp's runtime user) does not exist"),
    });
  });
});
