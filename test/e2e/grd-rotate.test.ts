import { X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { certValid } from "../helpers/certs";
import { rdpcert } from "../helpers/cli";
import { disposeAfterAll } from "../helpers/dispose";
import { type GrdRestarts, type GrdUser, setUpGrdUser, watchRestarts } from "../helpers/grd-user";

/**
 * `rotate` on gnome-remote-desktop 43's user mode (issue 24), with the real gsettings and
 * dconf as the user, and a listener that negotiates as g-r-d does and, like g-r-d, loads its
 * pair only when it "restarts": the restart command touches a file, and the listener then
 * reads the pair GSettings names (as the user) and serves it.
 */
const USER = "rdpcert-grdrot";

describe("rdpcert rotate --backend gnome-remote-desktop (user mode)", () => {
  const made = disposeAfterAll();
  let grd: GrdUser;
  let restarts: GrdRestarts;
  const pair = certValid(-720, 10, "GNOME");
  const configured = () => grd.configured();

  beforeAll(async () => {
    grd = await setUpGrdUser(made, USER, pair);
    restarts = watchRestarts(made, grd);
  });

  const rotate = (restart: string, extra: string[] = []) =>
    rdpcert(["rotate", "--yes", ...grd.targetArgs(), ...grd.dirArgs(), "--restart-command", restart, ...extra], { env: grd.cliEnv() });

  it("--dry-run prints the plan: a new pair beside the old, GSettings pointed at it, the restart", async () => {
    const run = await rotate(`/usr/bin/touch ${restarts.flag}`, ["--dry-run"]);
    expect(run.stdout).toContain(
      `write ${join(grd.home, ".local/share/gnome-remote-desktop/rdpcert-tls.crt")} (0644) and ${join(grd.home, ".local/share/gnome-remote-desktop/rdpcert-tls.key")} (0600), owned by ${USER}`,
    );
    expect(run.stdout).toContain(`point GSettings org.gnome.desktop.remote-desktop.rdp tls-cert and tls-key of ${USER}`);
    expect(run.stdout).toContain(`restart: /usr/bin/touch ${restarts.flag}`);
    expect(await configured()).toEqual(expect.objectContaining({ certPath: grd.certPath, keyPath: grd.keyPath }));
  });

  it("a failed verification (the restart does not load the new pair) points GSettings back at the old pair", async () => {
    const run = await rotate("/usr/bin/true", ["--verify-timeout", "2000"]);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/^rolled-back +verification failed: the listener still presents the old certificate [0-9A-F]{40}/m);
    expect(run.stdout).toMatch(/^ {2}ok {3}restore .*restored GSettings org\.gnome\.desktop\.remote-desktop\.rdp tls-cert and tls-key of rdpcert-grdrot/m);
    expect(run.stdout).toMatch(/^ {2}ok {3}verify-old .*old state presented again$/m);
    expect(await configured()).toEqual(expect.objectContaining({ certPath: grd.certPath, keyPath: grd.keyPath }));
    // The old pair was never touched.
    expect(readFileSync(grd.certPath, "utf8")).toBe(pair.certPem);
  });

  it("rdpcert run --dry-run: GNOME Settings' certificate near its end would be rotated (the schedule is what renews it)", async () => {
    const run = await rdpcert(["run", "--dry-run", "--json", ...grd.targetArgs(), ...grd.dirArgs(), "--restart-command", `/usr/bin/touch ${restarts.flag}`], {
      env: grd.cliEnv(),
    });
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ schema: "rdpcert.run/v1", dryRun: true, action: "rotate", outcome: "dry-run: would rotate" });
    expect(await configured()).toEqual(expect.objectContaining({ certPath: grd.certPath, keyPath: grd.keyPath }));
  });

  it("rotates: a new pair owned by the user (key 0600), GSettings names it, the restarted listener serves it", async () => {
    const before = restarts.count();
    const run = await rotate(`/usr/bin/touch ${restarts.flag}`, ["--verify-timeout", "20000"]);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(restarts.count()).toBeGreaterThan(before);
    const now = await configured();
    expect(now.certPath).toBe(join(grd.home, ".local/share/gnome-remote-desktop/rdpcert-tls.crt"));
    expect(now.keyPath).toBe(join(grd.home, ".local/share/gnome-remote-desktop/rdpcert-tls.key"));
    const key = statSync(now.keyPath);
    expect([key.mode & 0o777, key.uid, key.gid]).toEqual([0o600, grd.user.uid, grd.user.gid]);
    expect(statSync(now.certPath).uid).toBe(grd.user.uid);
    const served = new X509Certificate(readFileSync(now.certPath));
    expect(served.validTo).not.toBe(new X509Certificate(pair.certPem).validTo);
    const probed = JSON.parse((await rdpcert(["probe", "--json", `127.0.0.1:${grd.listener.port}`])).stdout);
    expect(probed.results[0]).toMatchObject({ status: "ok", nlaPolicy: "required", certificate: { sha256: served.fingerprint256.replace(/:/g, "") } });
    // The old pair stays where it was.
    expect(readFileSync(grd.certPath, "utf8")).toBe(pair.certPem);
  });
});
