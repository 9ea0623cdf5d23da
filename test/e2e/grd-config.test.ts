import { chownSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCommand } from "../../src/hosts/command-runner";
import { createGrdBackend } from "../../src/hosts/gnome-remote-desktop/grd-backend";
import { readGsettingsPair, userAccount } from "../../src/hosts/gnome-remote-desktop/grd-gsettings";
import type { HostInspection } from "../../src/hosts/host-backend";
import { certValid } from "../helpers/certs";
import { rdpcert } from "../helpers/cli";
import { disposeAfterAll } from "../helpers/dispose";
import { type GrdUser, setUpGrdUser } from "../helpers/grd-user";

/**
 * gnome-remote-desktop's configuration, read as the daemon reads it (issue 24):
 * - 43 user mode: the real `gsettings` and dconf, as the serving user, against that user's own
 *   dconf database in a temporary home (written through dconf's service on a private session
 *   bus, as GNOME Settings writes it). The schema declares the keys of Debian 12's
 *   gnome-remote-desktop 43.3-1 (org.gnome.desktop.remote-desktop.rdp: tls-cert, tls-key as
 *   strings), compiled with glib-compile-schemas; g-r-d itself needs mutter and is not installed.
 * - 46+ system mode: grd.conf files (Debian 12 has no 46: no grdctl --system to run).
 * Then status and doctor against a listener that negotiates as g-r-d does, serving that pair.
 */
const USER = "rdpcert-grd";

describe("gnome-remote-desktop configuration", () => {
  const made = disposeAfterAll();
  let grd: GrdUser;
  const pair = certValid(-720, 10, "GNOME");

  beforeAll(async () => {
    grd = await setUpGrdUser(made, USER, pair);
  });

  it("reads tls-cert and tls-key from the user's dconf database with the real gsettings, as that user", async () => {
    const got = await readGsettingsPair(runCommand, userAccount(USER)!, grd.userEnv());
    expect(got).toEqual({ ok: true, certPath: grd.certPath, keyPath: grd.keyPath, source: `GSettings org.gnome.desktop.remote-desktop.rdp of ${USER}` });
  });

  it("a path with quotes and spaces survives GVariant's quoting", async () => {
    const odd = join(grd.home, 'it\'s a "pair".crt');
    grd.gsettingsSet("tls-cert", odd);
    try {
      const got = await readGsettingsPair(runCommand, userAccount(USER)!, {
        HOME: grd.home,
        GSETTINGS_SCHEMA_DIR: grd.schemas,
        GSETTINGS_BACKEND: "dconf",
        PATH: "/usr/bin:/bin",
      });
      expect(got).toMatchObject({ ok: true, certPath: odd });
    } finally {
      grd.gsettingsSet("tls-cert", grd.certPath);
    }
  });

  it("the backend inspects user mode: the pair GSettings names, the key matches, GNOME Settings' certificate that nothing renews is a WARN", async () => {
    process.env.GSETTINGS_SCHEMA_DIR = grd.schemas;
    try {
      const outcome = await createGrdBackend({
        user: USER,
        confPath: join(grd.admin, "absent.conf"),
        port: grd.listener.port,
        warnDays: 30,
        findListener: () => ({ kind: "none" }),
      }).inspect();
      expect(outcome.ok).toBe(true);
      const inspection = (outcome as { inspection: HostInspection }).inspection;
      expect(inspection).toMatchObject({
        backend: "gnome-remote-desktop",
        source: `GSettings org.gnome.desktop.remote-desktop.rdp of ${USER}`,
        listener: { port: grd.listener.port, nla: true },
        certificate: { state: "present", location: grd.certPath },
        key: { state: "ok", location: grd.keyPath },
        issuance: "self-signed",
      });
      const finding = inspection.findings.find((f) => f.code === "grd-certificate-not-renewed");
      expect(finding?.severity).toBe("warn");
      expect(finding?.message).toMatch(/was made by GNOME Settings, and nothing renews it .*: it expires in (9|10) days/);
    } finally {
      delete process.env.GSETTINGS_SCHEMA_DIR;
    }
  });

  it("a key the serving user cannot read is reported as unreadable for that user, with the fix", async () => {
    chownSync(grd.keyPath, 0, 0);
    process.env.GSETTINGS_SCHEMA_DIR = grd.schemas;
    try {
      const outcome = await createGrdBackend({
        user: USER,
        confPath: join(grd.admin, "absent.conf"),
        port: grd.listener.port,
        findListener: () => ({ kind: "none" }),
      }).inspect();
      const inspection = (outcome as { inspection: HostInspection }).inspection;
      expect(inspection.key.state).toBe("unreadable");
      expect(inspection.key.reason).toMatch(new RegExp(`gnome-remote-desktop \\(${USER}\\) cannot read its private key`));
      expect(inspection.key.fix).toBe(`chown ${USER} ${grd.keyPath} && chmod 600 ${grd.keyPath}`);
    } finally {
      delete process.env.GSETTINGS_SCHEMA_DIR;
      chownSync(grd.keyPath, grd.user.uid, grd.user.gid);
    }
  });

  it("system mode: [RDP] tls-cert/tls-key/port of grd.conf, the local-state copy layered over it", async () => {
    const conf = join(grd.admin, "grd.conf");
    const local = join(grd.admin, "local-grd.conf");
    writeFileSync(conf, `# written by grdctl\n[RDP]\nenabled=true\ntls-cert=/nonexistent/old.crt\ntls-key = ${grd.keyPath}\nport=${grd.listener.port}\n`);
    writeFileSync(local, `[RDP]\ntls-cert=${grd.certPath}\n`);
    const outcome = await createGrdBackend({ confPath: conf, localStateConf: local, findListener: () => ({ kind: "none" }) }).inspect();
    const inspection = (outcome as { inspection: HostInspection }).inspection;
    expect(inspection).toMatchObject({
      source: `${conf}, ${local}`,
      listener: { port: grd.listener.port },
      certificate: { state: "present", location: grd.certPath },
      key: { location: grd.keyPath },
    });
  });

  it("system mode without tls-cert: no pair, one line and the grdctl fix", async () => {
    const conf = join(grd.admin, "grd-empty.conf");
    writeFileSync(conf, "[RDP]\nenabled=true\n");
    const outcome = await createGrdBackend({ confPath: conf, localStateConf: join(grd.admin, "absent"), findListener: () => ({ kind: "none" }) }).inspect();
    expect(outcome).toEqual({
      ok: false,
      reason: `${conf}: [RDP] tls-cert is not set, so gnome-remote-desktop has no TLS pair and does not serve RDP`,
      fix: "sudo grdctl --system rdp set-tls-cert CERT.pem and sudo grdctl --system rdp set-tls-key KEY.pem, then sudo systemctl restart gnome-remote-desktop",
    });
  });

  it("rdpcert status on the user's g-r-d: the configured pair is what the NLA-only listener presents; NLA required by the server; the expiry and that nothing renews it", async () => {
    const run = await rdpcert(["status", ...grd.targetArgs(), "--state-dir", join(grd.admin, "state")], { env: grd.cliEnv() });
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(/NLA required by the server \(its policy, not a fault\)/);
    expect(run.stdout).toMatch(/was made by GNOME Settings, and nothing renews it/);
    expect(run.stdout).toMatch(/expires in (9|10) days/);
    expect(run.code).toBe(1);
    const json = JSON.parse((await rdpcert(["status", "--json", ...grd.targetArgs(), "--state-dir", join(grd.admin, "state")], { env: grd.cliEnv() })).stdout);
    expect(json.presented).toMatchObject({ nlaPolicy: "required", error: null, negotiation: { selectedProtocol: "HYBRID" } });
    expect(json.status).toBe("WARN");
  });

  it("rdpcert doctor on the host: the NLA policy passes, the certificate's expiry and the unrenewed finding are warnings", async () => {
    const run = await rdpcert(["doctor", "--samples", "2", ...grd.targetArgs()], {
      env: grd.cliEnv(),
    });
    expect(run.stdout).toMatch(/^\[ ok \] offered TLS only +RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER \(5\): NLA required by the server/m);
    expect(run.stdout).toMatch(/^\[warn\] certificate validity +(9|10) days left/m);
    expect(run.stdout).toMatch(/^\[warn\] grd-certificate-not-renewed +the certificate .* nothing renews it/m);
  });
});
