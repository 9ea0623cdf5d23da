import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keyFileString, parseKeyFile, readGrdSystemSettings, withTlsPair } from "../../../../src/hosts/gnome-remote-desktop/grd-conf";
import { detectGnomeRemoteDesktop } from "../../../../src/hosts/gnome-remote-desktop/detect";
import { parseGVariantString } from "../../../../src/hosts/gnome-remote-desktop/grd-gsettings";

/** grd.conf as grd-settings-system.c reads it (GKeyFile, [RDP] enabled/tls-cert/tls-key/port), and gsettings' GVariant strings. */
describe("grd.conf", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "rdpcert-grdconf-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads [RDP] with GKeyFile's rules: comments, spaces around =, escapes; other groups ignored", () => {
    const kf = parseKeyFile("# c\n[VNC]\ntls-cert=/no\n[RDP]\n  tls-cert = /etc/grd/a\\sb.crt\ntls-key=/k\n");
    expect(keyFileString(kf.get("RDP")!.get("tls-cert")!.value)).toBe("/etc/grd/a b.crt");
    expect(kf.get("RDP")!.get("tls-key")).toEqual({ value: "/k", line: 6 });
  });

  it("layers files: the last that sets a key wins; a missing file is skipped; a bad port is a problem, not a value", () => {
    const a = join(dir, "a.conf");
    const b = join(dir, "b.conf");
    writeFileSync(a, "[RDP]\ntls-cert=/a.crt\ntls-key=/a.key\nport=3390\n");
    writeFileSync(b, "[RDP]\ntls-key=/b.key\nport=99999\n");
    const read = readGrdSystemSettings([a, join(dir, "missing.conf"), b]);
    expect(read).toEqual({
      ok: true,
      settings: {
        tlsCert: { path: "/a.crt", source: `${a}:2` },
        tlsKey: { path: "/b.key", source: `${b}:2` },
        port: 3390,
        enabled: null,
        read: [a, b],
        problems: [`${b}:3: port=99999 is not a TCP port; g-r-d ignores it`],
      },
    });
  });

  it("no file at all: one line saying system mode is not configured", () => {
    const read = readGrdSystemSettings([join(dir, "none.conf")]);
    expect(read).toMatchObject({
      ok: false,
      code: "ENOENT",
      reason: `${join(dir, "none.conf")} does not exist: gnome-remote-desktop's system mode is not configured`,
    });
  });

  it("withTlsPair replaces the keys in [RDP], keeps every other line, adds the group when missing", () => {
    expect(withTlsPair("# kept\n[RDP]\nenabled=true\ntls-cert=/old.crt\n\n[VNC]\nx=1\n", "/new.crt", "/new.key")).toBe(
      "# kept\n[RDP]\nenabled=true\ntls-cert=/new.crt\ntls-key=/new.key\n\n[VNC]\nx=1\n",
    );
    expect(withTlsPair("", "/n.crt", " /lead.key")).toBe("[RDP]\ntls-cert=/n.crt\ntls-key=\\s/lead.key\n");
    const back = parseKeyFile(withTlsPair("[RDP]\nport=3389\n", "/a\\b.crt", "/k"));
    expect(keyFileString(back.get("RDP")!.get("tls-cert")!.value)).toBe("/a\\b.crt");
  });
});

describe("gsettings' GVariant string", () => {
  it.each([
    ["'/home/u/.local/share/gnome-remote-desktop/rdp-tls.crt'\n", "/home/u/.local/share/gnome-remote-desktop/rdp-tls.crt"],
    ["''", ""],
    [`"it's"`, "it's"],
    [`'a\\'b\\\\c'`, "a'b\\c"],
    ["'\\u00e9'", "é"],
  ])("%s -> %s", (text, value) => expect(parseGVariantString(text)).toBe(value));
  it.each(["", "@s ''", "'open", "'a'b'", "'bad\\q'", "true"])("%s is not one string", (text) => expect(parseGVariantString(text)).toBeNull());
});

describe("detectGnomeRemoteDesktop (--backend auto)", () => {
  it("the system daemon, a headless session, a user's screen sharing; comm cut at 15 characters", () => {
    expect(
      detectGnomeRemoteDesktop({
        command: "gnome-remote-de",
        executable: "/usr/libexec/gnome-remote-desktop-daemon",
        argv: ["/usr/libexec/gnome-remote-desktop-daemon", "--system"],
        user: "gnome-remote-desktop",
      }),
    ).toEqual({ kind: "gnome-remote-desktop", mode: "system", user: null });
    expect(detectGnomeRemoteDesktop({ command: "gnome-remote-de", argv: ["/usr/libexec/gnome-remote-desktop-daemon", "--headless"], user: "alice" })).toEqual({
      kind: "gnome-remote-desktop",
      mode: "headless",
      user: "alice",
    });
    expect(detectGnomeRemoteDesktop({ command: "gnome-remote-de", user: "bob" })).toEqual({ kind: "gnome-remote-desktop", mode: "user", user: "bob" });
  });
  it("anything else is not g-r-d", () => {
    expect(detectGnomeRemoteDesktop({ command: "xrdp", executable: "/usr/sbin/xrdp", argv: ["/usr/sbin/xrdp", "--nodaemon"] })).toBeNull();
    expect(detectGnomeRemoteDesktop({ command: "weston", argv: ["weston", "--backend=rdp-backend.so"] })).toBeNull();
  });
});
