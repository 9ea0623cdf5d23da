import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freerdpConfigDir, readStoreFile, writeStoreFile } from "../../../../src/hosts/local/client-stores";

describe("the user's FreeRDP stores (issue 25)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rdpcert-stores-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("finds FreeRDP's config dir as WinPR does: $XDG_CONFIG_HOME/freerdp, else $HOME/.config/freerdp (a relative or empty XDG_CONFIG_HOME is ignored)", () => {
    expect(freerdpConfigDir({ XDG_CONFIG_HOME: "/x/cfg", HOME: "/home/u" })).toBe("/x/cfg/freerdp");
    expect(freerdpConfigDir({ XDG_CONFIG_HOME: "", HOME: "/home/u" })).toBe("/home/u/.config/freerdp");
    expect(freerdpConfigDir({ XDG_CONFIG_HOME: "rel", HOME: "/home/u" })).toBe("/home/u/.config/freerdp");
  });

  it("keeps an existing file's mode, creates missing directories 0700 and new files 0644", () => {
    const existing = join(dir, "known_hosts2");
    writeFileSync(existing, "old\n");
    chmodSync(existing, 0o600);
    writeStoreFile(existing, "new\n");
    expect([readFileSync(existing, "utf8"), statSync(existing).mode & 0o777]).toEqual(["new\n", 0o600]);
    const fresh = join(dir, "cfg", "freerdp", "server", "h_3389.pem");
    writeStoreFile(fresh, "pem\n");
    expect(statSync(fresh).mode & 0o777).toBe(0o644);
    expect(statSync(join(dir, "cfg", "freerdp", "server")).mode & 0o777).toBe(0o700);
  });

  it("updates a symlinked store at its target and keeps the link (a dotfiles manager's)", () => {
    mkdirSync(join(dir, "dotfiles"));
    const real = join(dir, "dotfiles", "known_hosts2");
    writeFileSync(real, "old\n");
    const link = join(dir, "known_hosts2");
    symlinkSync(real, link);
    writeStoreFile(link, "new\n");
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(real);
    expect(readFileSync(real, "utf8")).toBe("new\n");
  });

  it("reads a missing store as null, and refuses a device (/dev/zero) instead of reading it", () => {
    expect(readStoreFile(join(dir, "none")).text).toBeNull();
    expect(() => readStoreFile("/dev/zero")).toThrow();
  });
});
