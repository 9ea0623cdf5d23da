import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVER_DETECTORS, detectServer, programName } from "../../../src/hosts/detect-server";
import { shadowConfigDir, shadowSecurity } from "../../../src/hosts/freerdp-shadow/shadow-backend";
import { type ListenerProcess, findListenerProcess, homeOf, processEnvironment } from "../../../src/hosts/local/listening-process";
import { keyOwnership } from "../../../src/hosts/pem-pair/pair-rotation";
import { locateWeston, westonIniCandidates, westonOption } from "../../../src/hosts/weston/weston-backend";

const ROOT_ID = { name: "root", uid: 0, gids: [0] };
const proc = (over: Partial<ListenerProcess>): ListenerProcess => ({ pid: 10, command: "x", identity: ROOT_ID, exe: null, argv: [], proc: "/proc", ...over });

describe("which server listens: the detector registry", () => {
  it("names the program by its executable, else argv[0], else comm", () => {
    expect(programName(proc({ exe: "/usr/bin/weston", argv: ["weston"] }))).toBe("weston");
    expect(programName(proc({ exe: null, argv: ["/usr/bin/freerdp-shadow-cli", "/port:1"], command: "freerdp-shadow-" }))).toBe("freerdp-shadow-cli");
    expect(programName(proc({ exe: null, argv: [], command: "xrdp" }))).toBe("xrdp");
  });

  it("has one entry per Linux kind, and pem-pair is never detected (it is configured)", () => {
    expect(SERVER_DETECTORS.map((d) => d.kind)).toEqual(expect.arrayContaining(["xrdp", "weston", "freerdp-shadow", "pem-pair"]));
    expect(new Set(SERVER_DETECTORS.map((d) => d.kind)).size).toBe(SERVER_DETECTORS.length);
    const anything = proc({ exe: "/usr/bin/ogon-rdp-server" });
    expect(SERVER_DETECTORS.filter((d) => d.matches(anything))).toEqual([]);
  });

  it.each([
    [proc({ exe: "/usr/sbin/xrdp" }), "xrdp"],
    [proc({ exe: "/usr/bin/weston" }), "weston"],
    [proc({ exe: "/usr/bin/freerdp-shadow-cli" }), "freerdp-shadow"],
    [proc({ exe: null, command: "freerdp-shadow-", argv: [] }), "freerdp-shadow"],
  ])("detects %o as %s", (p, kind) => {
    const detected = detectServer(3389, () => ({ kind: "found", process: p }));
    expect(detected.kind === "found" ? detected.detector.kind : detected.kind).toBe(kind);
  });

  it("an unknown program and an empty port are said as such", () => {
    expect(detectServer(3389, () => ({ kind: "found", process: proc({ exe: "/usr/bin/nc" }) })).kind).toBe("unknown-server");
    expect(detectServer(3389, () => ({ kind: "none" })).kind).toBe("not-found");
  });
});

describe("weston's configuration", () => {
  it("reads --rdp-tls-cert/--rdp-tls-key in both spellings; the last one wins", () => {
    const argv = ["weston", "--rdp-tls-cert", "/a.crt", "--rdp-tls-key=/a.key", "--rdp-tls-cert=/b.crt"];
    expect([westonOption(argv, "rdp-tls-cert"), westonOption(argv, "rdp-tls-key"), westonOption(argv, "port")]).toEqual(["/b.crt", "/a.key", null]);
  });

  it("looks for weston.ini where weston does: --config, else XDG_CONFIG_HOME (or HOME/.config), then XDG_CONFIG_DIRS; none with --no-config", () => {
    expect(westonIniCandidates(["weston", "--no-config"], null, "/home/k")).toEqual([]);
    expect(westonIniCandidates(["weston", "--config=/etc/w.ini"], null, "/home/k")).toEqual(["/etc/w.ini"]);
    expect(westonIniCandidates(["weston"], null, "/home/k")).toEqual(["/home/k/.config/weston.ini", "/etc/xdg/weston.ini"]);
    expect(
      westonIniCandidates(
        ["weston", "-c", "kiosk.ini"],
        new Map([
          ["XDG_CONFIG_HOME", "/cfg"],
          ["XDG_CONFIG_DIRS", "/a:/b"],
        ]),
        "/home/k",
      ),
    ).toEqual(["/cfg/kiosk.ini", "/a/kiosk.ini", "/b/kiosk.ini"]);
  });

  it("takes the pair from [rdp] tls-cert/tls-key of weston.ini (weston 13+) when the command line names none, relative to nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "rdpcert-weston-ini-"));
    try {
      mkdirSync(join(dir, "proc", "10"), { recursive: true });
      mkdirSync(join(dir, "home", ".config"), { recursive: true });
      writeFileSync(join(dir, "proc", "10", "environ"), `HOME=${join(dir, "home")}\0PATH=/bin\0`);
      writeFileSync(join(dir, "home", ".config", "weston.ini"), "[core]\nbackend=rdp\n[rdp]\ntls-cert=/srv/rdp.crt\ntls-key=/srv/rdp.key\n");
      const p = proc({ exe: "/usr/bin/weston", argv: ["weston", "--port=4000"], proc: join(dir, "proc") });
      const located = locateWeston(
        { port: 4000, runner: async () => ({ exitCode: 0, stdout: "", stderr: "" }) as never, platform: "linux" },
        { kind: "found", process: p },
      );
      expect(located.ok && [located.location.certPath, located.location.keyPath]).toEqual(["/srv/rdp.crt", "/srv/rdp.key"]);
      expect(located.ok && located.location.source).toContain(join(dir, "home", ".config", "weston.ini"));
      const bare = locateWeston(
        { port: 4000, runner: null as never, platform: "linux" },
        { kind: "found", process: proc({ argv: ["weston", "--no-config"], proc: join(dir, "proc") }) },
      );
      expect(bare.ok ? "" : bare.reason).toContain("was started without --rdp-tls-cert");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the shadow server's configuration", () => {
  it("is in XDG_CONFIG_HOME, else HOME/.config, of its environment; else its user's home in /etc/passwd", () => {
    expect(
      shadowConfigDir(
        new Map([
          ["XDG_CONFIG_HOME", "/x"],
          ["HOME", "/h"],
        ]),
        "/p",
      )?.dir,
    ).toBe("/x/freerdp/shadow");
    expect(shadowConfigDir(new Map([["HOME", "/h"]]), "/p")?.dir).toBe("/h/.config/freerdp/shadow");
    expect(shadowConfigDir(null, "/p")).toEqual({ dir: "/p/.config/freerdp/shadow", basis: expect.stringContaining("could not be read") });
    expect(shadowConfigDir(new Map([["HOME", "relative"]]), null)).toBeNull();
    expect(homeOf(1000, "root:x:0:0:root:/root:/bin/sh\nkiosk:x:1000:1000::/home/kiosk:/bin/sh\n")).toBe("/home/kiosk");
  });

  it("reads the forced security layer from its command line", () => {
    expect(shadowSecurity(["freerdp-shadow-cli", "/port:1"])).toBe("negotiate");
    expect(shadowSecurity(["freerdp-shadow-cli", "/sec:tls"])).toBe("tls");
    expect(shadowSecurity(["freerdp-shadow-cli", "/sec:rdp"])).toBe("rdp");
  });
});

describe("the listening process in a /proc tree: executable, command line and environment", () => {
  it("reports exe, argv and environ of the socket's holder", () => {
    const root = mkdtempSync(join(tmpdir(), "rdpcert-proc-"));
    try {
      mkdirSync(join(root, "net"));
      const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
      writeFileSync(
        join(root, "net", "tcp"),
        `${header}\n   0: 0100007F:0FA0 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n`,
      );
      mkdirSync(join(root, "30", "fd"), { recursive: true });
      writeFileSync(join(root, "30", "comm"), "freerdp-shadow-\n");
      writeFileSync(join(root, "30", "status"), "Name:\tx\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n");
      writeFileSync(join(root, "30", "cmdline"), "freerdp-shadow-cli\0/port:4000\0");
      writeFileSync(join(root, "30", "environ"), "HOME=/home/kiosk\0A=b=c\0");
      symlinkSync("/usr/bin/freerdp-shadow-cli", join(root, "30", "exe"));
      symlinkSync("socket:[4242]", join(root, "30", "fd", "3"));
      const found = findListenerProcess(4000, null, { root: { path: root } });
      expect(found.kind).toBe("found");
      if (found.kind !== "found") return;
      expect([found.process.pid, found.process.exe, found.process.argv]).toEqual([30, "/usr/bin/freerdp-shadow-cli", ["freerdp-shadow-cli", "/port:4000"]]);
      expect([...(processEnvironment(found.process) ?? new Map())]).toEqual([
        ["HOME", "/home/kiosk"],
        ["A", "b=c"],
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("the key's owner after a replacement", () => {
  it("keeps an owner and group that let the serving user in; else the serving user's, 0600", () => {
    const dir = mkdtempSync(join(tmpdir(), "rdpcert-owner-"));
    try {
      const key = join(dir, "k.pem");
      writeFileSync(key, "x", { mode: 0o644 });
      const me = process.getuid?.() ?? 0;
      expect(keyOwnership(key, { name: "me", uid: me, gids: [me] })).toEqual({ mode: 0o600, uid: me, gid: expect.any(Number) });
      expect(keyOwnership(join(dir, "missing"), { name: "kiosk", uid: 4242, gids: [4343] })).toEqual({ mode: 0o600, uid: 4242, gid: 4343 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
