import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { certValid } from "../helpers/certs";
import { rdpcert } from "../helpers/cli";
import { xrdpPool } from "../helpers/xrdp-pool";

/**
 * Every command reads the config file: with only `--config`, and
 * no --xrdp-ini or --state-dir flag, status, rotate, doctor and backups use
 * the file's `xrdpIni` and `stateDir`; a flag still overrides the file.
 */
describe("the config file counts for every command", () => {
  const start = xrdpPool();
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "rdpcert-cfg-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("status, rotate, backups list and restore, and doctor use the file's xrdpIni and stateDir", async () => {
    const pair = certValid(-175, 5);
    const server = await start(pair);
    const stateDir = join(dir, "state");
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ xrdpIni: server.iniPath, stateDir, restartCommand: null, verifyTimeoutMs: 8000 }), { mode: 0o600 });
    const sha1 = (pem: string | Buffer): string => new X509Certificate(pem).fingerprint.replace(/:/g, "");

    const status = await rdpcert(["status", "--json", "--config", config]);
    const report = JSON.parse(status.stdout) as { status: string; source: string };
    expect([report.source, report.status, status.code]).toEqual([server.iniPath, "WARN", 1]);

    const rotate = await rdpcert(["rotate", "--yes", "--json", "--config", config]);
    expect(JSON.parse(rotate.stdout)).toMatchObject({ outcome: "rotated", backupId: "0001", backupPath: join(stateDir, "backups", "0001") });
    expect(sha1(readFileSync(server.certPath))).not.toBe(sha1(pair.certPem));

    const list = await rdpcert(["backups", "list", "--json", "--config", config]);
    expect(JSON.parse(list.stdout)).toMatchObject({ stateDir, backups: [{ id: "0001", thumbprint: sha1(pair.certPem) }] });

    const doctor = await rdpcert(["doctor", "--json", "--samples", "1", "--config", config]);
    expect(JSON.parse(doctor.stdout)).toMatchObject({ target: { port: server.port, local: true }, exitCode: 0 });

    const restore = await rdpcert(["backups", "restore", "0001", "--yes", "--json", "--config", config]);
    expect(JSON.parse(restore.stdout)).toMatchObject({ outcome: "restored", presentedThumbprint: sha1(pair.certPem) });
    expect(readFileSync(server.certPath, "utf8")).toBe(pair.certPem);

    // A flag overrides the file: another (empty) state dir has no backups.
    const other = await rdpcert(["backups", "list", "--json", "--config", config, "--state-dir", join(dir, "other")]);
    expect(JSON.parse(other.stdout)).toMatchObject({ stateDir: join(dir, "other"), backups: [] });
  });
});
