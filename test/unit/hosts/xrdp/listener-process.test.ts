import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFromCmdline, findListeningProcess, identityFromStatus, listeningSockets } from "../../../../src/hosts/xrdp/listener-process";

/** The /proc parsers, on text shaped as the kernel writes it (proc(5)); the e2e tests read the real /proc. */
describe("listener-process parsers", () => {
  const tcp = [
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "   0: 0100007F:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000   102        0 41234 1 0000000000000000 100 0 0 10 0",
    "   1: 00000000:0D3E 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41235 1 0000000000000000 100 0 0 10 0",
    "   2: 0100007F:0D3D 0100007F:C350 01 00000000:00000000 00:00000000 00000000   102        0 41299 1 0000000000000000 100 0 0 10 0",
  ].join("\n");
  const tcp6 = [
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "   0: 00000000000000000000000001000000:0D3D 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 51234 1 0000000000000000 100 0 0 10 0",
  ].join("\n");

  it("finds LISTEN sockets on the port only (established connections and other ports are not listeners)", () => {
    expect(listeningSockets(tcp, 3389)).toEqual([{ inode: "41234", uid: 102, address: "127.0.0.1" }]);
    expect(listeningSockets(tcp, 3390)).toEqual([{ inode: "41235", uid: 0, address: "0.0.0.0" }]);
    expect(listeningSockets(tcp6, 3389)).toEqual([{ inode: "51234", uid: 0, address: "0:0:0:0:0:0:0:1" }]);
    expect(listeningSockets(tcp, 3391)).toEqual([]);
  });

  it("takes the filesystem uid and gid and the supplementary groups from /proc/PID/status", () => {
    const status = "Name:\txrdp\nUid:\t102\t102\t102\t102\nGid:\t109\t109\t109\t109\nGroups:\t103 109 \n";
    expect(identityFromStatus(status, (uid) => (uid === 102 ? "xrdp" : `uid ${uid}`))).toEqual({ name: "xrdp", uid: 102, gids: [109, 103] });
    expect(identityFromStatus("Name:\tx\n", () => "?")).toBeNull();
  });

  it("reads the ini from xrdp's command line in each of its spellings", () => {
    expect(configFromCmdline(["/usr/sbin/xrdp", "-n", "-c", "/tmp/a.ini"])).toBe("/tmp/a.ini");
    expect(configFromCmdline(["xrdp", "--config", "/tmp/b.ini"])).toBe("/tmp/b.ini");
    expect(configFromCmdline(["xrdp", "--config=/tmp/c.ini"])).toBe("/tmp/c.ini");
    expect(configFromCmdline(["xrdp", "-c/tmp/d.ini"])).toBe("/tmp/d.ini");
    expect(configFromCmdline(["/usr/sbin/xrdp"])).toBeNull();
  });

  it("finds the holder of the listening socket in a /proc tree, stops at the first socket that is not listening, and says when it cannot see", () => {
    const proc = mkdtempSync(join(tmpdir(), "rdpcert-proc-"));
    try {
      mkdirSync(join(proc, "net"));
      const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
      const row = (sl: number, port: number, st: string, inode: number): string =>
        `   ${sl}: 0100007F:${port.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 ${st} 00000000:00000000 00:00000000 00000000   102        0 ${inode} 1 0000000000000000 100 0 0 10 0`;
      // A listener for 3389, then an established socket, then a (malformed) LISTEN row past it that must not be read.
      writeFileSync(join(proc, "net", "tcp"), [header, row(0, 3389, "0A", 777), row(1, 3389, "01", 778), row(2, 3390, "0A", 779)].join("\n") + "\n");
      const pid = (n: number, comm: string, fds: Record<string, string>, cmdline: string[]): void => {
        mkdirSync(join(proc, String(n), "fd"), { recursive: true });
        writeFileSync(join(proc, String(n), "comm"), `${comm}\n`);
        writeFileSync(join(proc, String(n), "status"), `Name:\t${comm}\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n`);
        writeFileSync(join(proc, String(n), "cmdline"), `${cmdline.join("\0")}\0`);
        for (const [fd, target] of Object.entries(fds)) symlinkSync(target, join(proc, String(n), "fd", fd));
      };
      pid(10, "bash", { "0": "/dev/null" }, ["bash"]);
      pid(20, "xrdp", { "3": "socket:[777]", "4": "/var/log/xrdp.log" }, ["/usr/sbin/xrdp", "-n", "-c", "/etc/xrdp/alt.ini"]);
      expect(findListeningProcess(3389, "127.0.0.1", { path: proc })).toEqual({
        kind: "found",
        process: { pid: 20, command: "xrdp", identity: { name: "root", uid: 0, gids: [0] }, configPath: "/etc/xrdp/alt.ini" },
      });
      expect(findListeningProcess(3390, null, { path: proc })).toEqual({ kind: "none" });
      expect(findListeningProcess(3391, null, { path: proc })).toEqual({ kind: "none" });
      rmSync(join(proc, "20"), { recursive: true });
      expect(findListeningProcess(3389, null, { path: proc })).toMatchObject({ kind: "hidden", socketUid: 102 });
      expect(findListeningProcess(3389, null, { path: join(proc, "missing") })).toMatchObject({
        kind: "hidden",
        reason: expect.stringContaining("cannot be read"),
      });
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });

  it("prefers an xrdp holder over a lower pid that holds the socket too, and falls back to the lowest other holder when no xrdp holds it", () => {
    const proc = mkdtempSync(join(tmpdir(), "rdpcert-proc-"));
    try {
      mkdirSync(join(proc, "net"));
      const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
      writeFileSync(
        join(proc, "net", "tcp"),
        `${header}\n   0: 0100007F:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0\n`,
      );
      const pid = (n: number, comm: string, fds: Record<string, string>): void => {
        mkdirSync(join(proc, String(n), "fd"), { recursive: true });
        writeFileSync(join(proc, String(n), "comm"), `${comm}\n`);
        writeFileSync(join(proc, String(n), "status"), `Name:\t${comm}\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n`);
        writeFileSync(join(proc, String(n), "cmdline"), `${comm}\0`);
        for (const [fd, target] of Object.entries(fds)) symlinkSync(target, join(proc, String(n), "fd", fd));
      };
      // systemd-style socket activation: pid 5 holds the socket too, and so does an unrelated later process.
      pid(5, "systemd", { "9": "socket:[777]" });
      pid(8, "xrdp", { "3": "/dev/null" });
      pid(20, "xrdp", { "3": "socket:[777]" });
      pid(30, "sshd", { "3": "socket:[777]" });
      expect(findListeningProcess(3389, null, { path: proc })).toMatchObject({ kind: "found", process: { pid: 20, command: "xrdp" } });
      rmSync(join(proc, "20"), { recursive: true });
      expect(findListeningProcess(3389, null, { path: proc })).toMatchObject({ kind: "found", process: { pid: 5, command: "systemd" } });
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });
});
