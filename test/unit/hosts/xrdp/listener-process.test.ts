import { configFromCmdline, identityFromStatus, listeningSockets } from "../../../../src/hosts/xrdp/listener-process";

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
});
