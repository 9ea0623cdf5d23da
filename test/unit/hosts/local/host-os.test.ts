import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { osFamily } from "../../../../src/core/platform";
import { hostOs, hostOsFor, windowsAclArgs } from "../../../../src/hosts/local/host-os";

/** How files and processes differ per OS (src/hosts/local/host-os.ts): one implementation each, chosen once. */
describe("host-os", () => {
  it("Windows: no POSIX ownership, no process groups, no /proc; the event log is a log", () => {
    expect(hostOsFor("win32")).toMatchObject({ family: "windows", posixOwnership: false, processGroups: false, procFs: false, eventLog: true });
  });

  it("Linux: POSIX owners and modes, process groups and /proc; no event log", () => {
    expect(hostOsFor("linux")).toMatchObject({ family: "posix", posixOwnership: true, processGroups: true, procFs: true, eventLog: false });
  });

  it("another POSIX system: the POSIX rules without /proc", () => {
    for (const platform of ["freebsd", "darwin"] as const)
      expect(hostOsFor(platform)).toMatchObject({ family: "posix", posixOwnership: true, processGroups: true, procFs: false, eventLog: false });
  });

  it("this host's is the one for its platform, chosen once", () => {
    expect(hostOs).toEqual({ ...hostOsFor(process.platform), lockDownNewDirectory: expect.any(Function) });
    expect(hostOs.family).toBe(osFamily());
    expect(hostOsFor("win32")).toBe(hostOsFor("win32"));
  });

  it("POSIX: locking down a new directory leaves its mode alone (chmod sets it)", () => {
    const dir = mkdtempSync(join(tmpdir(), "rdpcert-host-os-"));
    try {
      const before = statSync(dir).mode;
      hostOsFor("linux").lockDownNewDirectory(dir);
      expect(statSync(dir).mode).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("Windows: the state dir's ACL is SYSTEM and Administrators by SID, without inheritance", () => {
    expect(windowsAclArgs("C:\\ProgramData\\rdpcert")).toEqual([
      "C:\\ProgramData\\rdpcert",
      "/inheritance:r",
      "/grant:r",
      "*S-1-5-18:(OI)(CI)F",
      "*S-1-5-32-544:(OI)(CI)F",
    ]);
  });

  it("the trust rules ask it: a group-writable file is refused on POSIX, and left to the ACLs when the platform is Windows", () => {
    const dir = mkdtempSync(join(tmpdir(), "rdpcert-host-os-"));
    const file = join(dir, "config.json");
    writeFileSync(file, "{}");
    chmodSync(file, 0o664);
    const reasonOn = (platform: NodeJS.Platform): string | null => {
      const real = Object.getOwnPropertyDescriptor(process, "platform")!;
      Object.defineProperty(process, "platform", { ...real, value: platform });
      try {
        let reason: string | null = null;
        // A fresh module graph: hostOs is chosen once, when host-os.ts loads.
        jest.isolateModules(() => {
          const { untrustedReason } = jest.requireActual<typeof import("../../../../src/hosts/local/trust")>("../../../../src/hosts/local/trust");
          reason = untrustedReason(file, statSync(file));
        });
        return reason;
      } finally {
        Object.defineProperty(process, "platform", real);
      }
    };
    const before = process.platform;
    try {
      expect(reasonOn("linux")).toMatch(/is writable by its group/);
      expect(reasonOn("win32")).toBeNull();
      expect(process.platform).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
