import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand, type CommandRunner } from "../../../../src/hosts/command-runner";
import { readGrdSystemSettings } from "../../../../src/hosts/gnome-remote-desktop/grd-conf";
import { createGrdRotation, grdTargets } from "../../../../src/hosts/gnome-remote-desktop/grd-rotation";
import type { BackupSet, HostInspection, SuppliedCertificate } from "../../../../src/hosts/host-backend";
import { thumbprintOf } from "../../../../src/core/certificate";
import { certValid } from "../../../helpers/certs";
import { ensureUser } from "../../../helpers/users";

/** System mode (46+) without grdctl: grd.conf rewritten crash-safely, every other line kept; restored byte for byte. */
describe("gnome-remote-desktop rotation steps, system mode", () => {
  let dir: string;
  let conf: string;
  let account: { name: string; uid: number; gid: number; home: string };
  const pair = certValid(-700, 30, "GNOME");
  const original = "# grd.conf, as grdctl --system writes it\n[RDP]\nenabled=true\nport=3390\n";
  let inspection: HostInspection;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "rdpcert-grdsys-"));
    const ids = ensureUser("rdpcert-t2");
    account = { name: "rdpcert-t2", uid: ids.uid, gid: ids.gid, home: "/nonexistent" };
    writeFileSync(join(dir, "tls.crt"), pair.certPem);
    writeFileSync(join(dir, "tls.key"), pair.keyPem, { mode: 0o600 });
    conf = join(dir, "grd.conf");
    writeFileSync(conf, `${original}tls-cert=${join(dir, "tls.crt")}\ntls-key=${join(dir, "tls.key")}\n`);
    const der = Buffer.from(pair.certPem.replace(/-----[^-]+-----|\s+/g, ""), "base64");
    inspection = {
      backend: "gnome-remote-desktop",
      source: conf,
      listener: { address: null, port: 3390, securityLayer: "tls", nla: true },
      certificate: { state: "present", der, location: join(dir, "tls.crt") },
      key: { state: "ok", location: join(dir, "tls.key"), reason: null },
      issuance: "self-signed",
      configuredThumbprint: null,
      findings: [],
    };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the new pair beside the old one, owned by the serving user, points [RDP] at it, restores grd.conf exactly", async () => {
    const before = readFileSync(conf, "utf8");
    const steps = createGrdRotation({ runner: runCommand, mode: "system", account, confPath: conf, grdctl: null });
    const backup = await steps.collectBackup(inspection);
    expect(backup.ok).toBe(true);
    const set = (backup as { value: BackupSet }).value;
    expect(set.items.map((i) => [i.role, i.originalPath])).toEqual([
      ["certificate", join(dir, "tls.crt")],
      ["key", join(dir, "tls.key")],
      ["config", conf],
    ]);
    const replaced = await steps.replace(
      inspection,
      { kind: "self-signed", spec: { keyBits: 2048, validityDays: 30, names: ["grd.example.test"] } },
      new Date(),
    );
    expect(replaced.ok).toBe(true);
    const targets = grdTargets(inspection);
    expect(targets).toEqual({ cert: join(dir, "rdpcert-tls.crt"), key: join(dir, "rdpcert-tls.key") });
    const key = statSync(targets.key);
    expect([key.mode & 0o777, key.uid, key.gid]).toEqual([0o600, account.uid, account.gid]);
    expect(readFileSync(conf, "utf8")).toBe(`${original}tls-cert=${targets.cert}\ntls-key=${targets.key}\n`);
    const read = readGrdSystemSettings([conf]);
    expect(read.ok && [read.settings.tlsCert?.path, read.settings.tlsKey?.path, read.settings.port]).toEqual([targets.cert, targets.key, 3390]);
    // The old pair is untouched.
    expect(readFileSync(join(dir, "tls.crt"), "utf8")).toBe(pair.certPem);
    const restored = await steps.restore(set);
    expect(restored.ok).toBe(true);
    expect(readFileSync(conf, "utf8")).toBe(before);
  });

  it("deploys a supplied pair the same way: leaf and chain in the new certificate file, its key 0600 the user's, [RDP] pointed at them, grd.conf restored exactly", async () => {
    const before = readFileSync(conf, "utf8");
    const steps = createGrdRotation({ runner: runCommand, mode: "system", account, confPath: conf, grdctl: null });
    const issued = certValid(-1, 90, "grd.example.test");
    const intermediate = certValid(-1, 900, "Intermediate");
    const der = (pem: string): Buffer => Buffer.from(pem.replace(/-----[^-]+-----|\s+/g, ""), "base64");
    const supplied: SuppliedCertificate = {
      origin: "--cert test",
      chain: [der(issued.certPem), der(intermediate.certPem)],
      keyPem: issued.keyPem,
      thumbprint: thumbprintOf(der(issued.certPem)),
      names: ["DNS:grd.example.test"],
      notAfter: new Date(Date.now() + 90 * 86_400_000),
    };
    expect(steps.refuseSupplied(inspection, supplied)).toBeNull();
    expect(steps.refuseSupplied(inspection, { ...supplied, keyPem: null })?.reason).toBe(
      "gnome-remote-desktop needs the certificate and its private key as files",
    );
    expect(
      steps.describe(inspection, { kind: "supplied", certificate: supplied, removeOld: false }, { enabled: true, command: null, timeoutMs: 1000 }).join("\n"),
    ).toContain(`take the certificate ${supplied.thumbprint}`);
    const set = (await steps.collectBackup(inspection)) as { ok: true; value: BackupSet };
    const replaced = await steps.replace(inspection, { kind: "supplied", certificate: supplied, removeOld: false }, new Date());
    expect(replaced).toEqual({
      ok: true,
      value: { thumbprint: supplied.thumbprint, written: [join(dir, "rdpcert-tls.key"), join(dir, "rdpcert-tls.crt"), conf] },
    });
    expect(readFileSync(join(dir, "rdpcert-tls.crt"), "utf8").replace(/\s+/g, "")).toBe((issued.certPem + intermediate.certPem).replace(/\s+/g, ""));
    expect(readFileSync(join(dir, "rdpcert-tls.key"), "utf8")).toBe(issued.keyPem);
    const key = statSync(join(dir, "rdpcert-tls.key"));
    expect([key.mode & 0o777, key.uid, key.gid]).toEqual([0o600, account.uid, account.gid]);
    expect(readFileSync(conf, "utf8")).toBe(`${original}tls-cert=${join(dir, "rdpcert-tls.crt")}\ntls-key=${join(dir, "rdpcert-tls.key")}\n`);
    expect(readFileSync(join(dir, "tls.crt"), "utf8")).toBe(pair.certPem);
    expect((await steps.restore(set.value)).ok).toBe(true);
    expect(readFileSync(conf, "utf8")).toBe(before);
  });

  it("with grdctl: grdctl --system rdp set-tls-cert PATH, then set-tls-key PATH (argv, no shell); the default restart is the system unit", async () => {
    const calls: string[][] = [];
    const runner: CommandRunner = async (file, args) => {
      calls.push([file, ...args]);
      return { exitCode: 0, stdout: "", stderr: "", timedOut: false, spawnError: null };
    };
    const steps = createGrdRotation({ runner, mode: "system", account, confPath: join(dir, "unused.conf"), grdctl: "/usr/bin/grdctl" });
    const again = { ...inspection, certificate: { ...inspection.certificate, location: join(dir, "rdpcert-tls.crt") } } as HostInspection;
    const replaced = await steps.replace(again, { kind: "self-signed", spec: { keyBits: 2048, validityDays: 30, names: ["grd.example.test"] } }, new Date());
    expect(replaced.ok).toBe(true);
    await steps.restart({ enabled: true, command: null, timeoutMs: 1000 }, null);
    expect(calls).toEqual([
      ["/usr/bin/grdctl", "--system", "rdp", "set-tls-cert", join(dir, "rdpcert-tls-b.crt")],
      ["/usr/bin/grdctl", "--system", "rdp", "set-tls-key", join(dir, "rdpcert-tls-b.key")],
      ["systemctl", "restart", "gnome-remote-desktop.service"],
    ]);
  });

  it("refuses to write as root into a directory that is a link, another user's, or writable by others", () => {
    const steps = createGrdRotation({ runner: runCommand, mode: "user", account, confPath: conf, grdctl: null });
    const at = (d: string) => ({ ...inspection, certificate: { ...inspection.certificate, location: join(d, "rdp-tls.crt") } }) as HostInspection;
    expect(steps.refuseTargets?.(at(dir))).toBeNull();
    const open = join(dir, "open");
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(steps.refuseTargets?.(at(open))?.reason).toBe(`the certificate's directory ${open} is writable by others (mode 0777)`);
    const link = join(dir, "link");
    symlinkSync("/etc", link);
    expect(steps.refuseTargets?.(at(link))?.reason).toBe(`the certificate's directory ${link} is a link (to /etc): rdpcert does not write through it as root`);
    const foreign = join(dir, "foreign");
    mkdirSync(foreign, { mode: 0o755 });
    chownSync(foreign, account.uid + 1, account.gid);
    expect(steps.refuseTargets?.(at(foreign))?.reason).toBe(
      `the certificate's directory ${foreign} belongs to uid ${account.uid + 1}, neither root nor rdpcert-t2`,
    );
  });
});
