import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { certValid } from "../helpers/certs";
import { rdpcert, rdpcertJson } from "../helpers/cli";
import { disposeAfterAll } from "../helpers/dispose";
import { type GrdRestarts, type GrdUser, setUpGrdUser, watchRestarts } from "../helpers/grd-user";
import { httpGet, startExporterCli } from "../helpers/prometheus";
import { type TestCa, makeTestCa, opensslThumbprint } from "../helpers/test-ca";

/**
 * `deploy` of a CA-issued certificate on gnome-remote-desktop's user mode, and the exporter's
 * module=local on the same setup (issue 24): the real gsettings and dconf as the user, a test
 * CA made by openssl, and the listener of grd-rotate.test.ts that loads the pair GSettings
 * names only when it "restarts" (the restart command touches a file).
 */
const USER = "rdpcert-grddep";

interface DeployJson {
  outcome: string;
  reason: string;
  newThumbprint: string | null;
  steps: { step: string; ok: boolean; detail: string | null }[];
}

describe("rdpcert deploy and exporter module=local --backend gnome-remote-desktop (user mode)", () => {
  const made = disposeAfterAll();
  let grd: GrdUser;
  let restarts: GrdRestarts;
  let ca: TestCa;
  const pair = certValid(-720, 10, "GNOME");
  const configured = () => grd.configured();
  /** The user's dconf database: what `gsettings set` changes, byte for byte. */
  const database = (): string => readFileSync(join(grd.home, ".config", "dconf", "user"), "base64");

  beforeAll(async () => {
    ca = makeTestCa(join(made.tempDir("rdpcert-ca-"), "ca"));
    grd = await setUpGrdUser(made, USER, pair);
    restarts = watchRestarts(made, grd);
  }, 60_000);

  const deploy = (restart: string, extra: string[]) =>
    rdpcertJson<DeployJson>(["deploy", "--yes", "--json", ...grd.targetArgs(), ...grd.dirArgs(), "--restart-command", restart, ...extra], {
      env: grd.cliEnv(),
    });
  const presented = async (): Promise<string> => {
    const probed = JSON.parse((await rdpcert(["probe", "--json", `127.0.0.1:${grd.listener.port}`])).stdout);
    return probed.results[0].certificate.sha256 as string;
  };

  it("a key that does not belong to the certificate is refused before any change: GSettings byte-identical, no file written", async () => {
    const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
    const other = ca.issue("other.example.test");
    const before = database();
    const { code, json } = await deploy(`/usr/bin/touch ${restarts.flag}`, ["--cert", leaf.fullchainPath, "--key", other.keyPath, "--verify-timeout", "5000"]);
    expect(code).not.toBe(0);
    expect(json.outcome).toBe("refused");
    expect(json.reason).toMatch(/private key does not belong to the certificate/);
    expect(database()).toBe(before);
    expect(await configured()).toEqual(expect.objectContaining({ certPath: grd.certPath, keyPath: grd.keyPath }));
    expect(existsSync(join(grd.dataDir, "rdpcert-tls.crt"))).toBe(false);
    expect(existsSync(join(grd.dataDir, "rdpcert-tls.key"))).toBe(false);
  }, 60_000);

  it("a failed verification (the restart does not load the new pair) points GSettings back at the old pair", async () => {
    const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
    const { code, json } = await deploy("/usr/bin/true", [
      "--cert",
      leaf.certPath,
      "--key",
      leaf.keyPath,
      "--chain",
      leaf.chainPath,
      "--verify-timeout",
      "2000",
    ]);
    expect(code).not.toBe(0);
    expect(json.outcome).toBe("rolled-back");
    expect(json.steps.find((s) => s.step === "restore")).toMatchObject({ ok: true });
    expect(await configured()).toEqual(expect.objectContaining({ certPath: grd.certPath, keyPath: grd.keyPath }));
    // The old pair was never touched, and the listener still serves it.
    expect(readFileSync(grd.certPath, "utf8")).toBe(pair.certPem);
    expect(await presented()).toBe(new X509Certificate(pair.certPem).fingerprint256.replace(/:/g, ""));
  }, 60_000);

  it("deploys a CA-issued certificate: written beside the old pair (key 0600, the user's), GSettings names it, the restarted listener presents exactly it", async () => {
    const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
    const before = restarts.count();
    const { code, json } = await deploy(`/usr/bin/touch ${restarts.flag}`, [
      "--cert",
      leaf.certPath,
      "--key",
      leaf.keyPath,
      "--chain",
      leaf.chainPath,
      "--verify-timeout",
      "20000",
    ]);
    expect([json.outcome, code]).toEqual(["deployed", 0]);
    expect(json.newThumbprint).toBe(opensslThumbprint(leaf.certPath));
    expect(restarts.count()).toBeGreaterThan(before);
    const now = await configured();
    expect(now).toEqual(expect.objectContaining({ certPath: join(grd.dataDir, "rdpcert-tls.crt"), keyPath: join(grd.dataDir, "rdpcert-tls.key") }));
    const key = statSync(now.keyPath);
    expect([key.mode & 0o777, key.uid, key.gid]).toEqual([0o600, grd.user.uid, grd.user.gid]);
    expect(statSync(now.certPath).uid).toBe(grd.user.uid);
    expect(readFileSync(now.keyPath, "utf8").trim()).toBe(leaf.keyPem.trim());
    // Leaf first, then its chain, as certbot's fullchain.pem.
    expect(new X509Certificate(readFileSync(now.certPath)).fingerprint256).toBe(new X509Certificate(leaf.certPem).fingerprint256);
    expect(readFileSync(now.certPath, "utf8").match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(await presented()).toBe(new X509Certificate(leaf.certPem).fingerprint256.replace(/:/g, ""));
    // The old pair stays where it was.
    expect(readFileSync(grd.certPath, "utf8")).toBe(pair.certPem);
    expect(readFileSync(grd.keyPath, "utf8")).toBe(pair.keyPem);
  }, 90_000);

  it("deploys a certbot lineage next (--from-certbot): the other A/B names, GSettings moved to them, the restarted listener presents it", async () => {
    const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
    const lineage = join(dirname(ca.dir), "live", "rdp.example.test");
    mkdirSync(lineage, { recursive: true, mode: 0o700 });
    writeFileSync(join(lineage, "fullchain.pem"), readFileSync(leaf.fullchainPath));
    writeFileSync(join(lineage, "privkey.pem"), leaf.keyPem, { mode: 0o600 });
    const { code, json } = await rdpcertJson<DeployJson>(
      [
        "deploy",
        "--yes",
        "--json",
        "--from-certbot",
        ...grd.targetArgs(),
        ...grd.dirArgs(),
        "--restart-command",
        `/usr/bin/touch ${restarts.flag}`,
        "--verify-timeout",
        "20000",
      ],
      { env: grd.cliEnv({ RENEWED_LINEAGE: lineage }) },
    );
    expect([json.outcome, code]).toEqual(["deployed", 0]);
    expect(json.newThumbprint).toBe(opensslThumbprint(leaf.certPath));
    expect(await configured()).toEqual(
      expect.objectContaining({ certPath: join(grd.dataDir, "rdpcert-tls-b.crt"), keyPath: join(grd.dataDir, "rdpcert-tls-b.key") }),
    );
    expect(await presented()).toBe(new X509Certificate(leaf.certPem).fingerprint256.replace(/:/g, ""));
  }, 90_000);

  it("exporter module=local reports the expiry of the certificate GSettings names", async () => {
    const now = await configured();
    const notAfter = Math.floor(Date.parse(new X509Certificate(readFileSync(now.certPath)).validTo) / 1000);
    const config = join(grd.admin, "rdpcert.json");
    writeFileSync(config, JSON.stringify({ backend: "gnome-remote-desktop", grdUser: USER, grdConf: join(grd.admin, "absent.conf"), port: grd.listener.port }));
    const exporter = await startExporterCli(["--config", config], ["/usr/bin/env", `GSETTINGS_SCHEMA_DIR=${grd.schemas}`]);
    made.keep(exporter);
    const answer = await httpGet(`${exporter.url}/probe?module=local`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(new RegExp(`^rdpcert_local_cert_not_after_seconds ${notAfter}$`, "m"));
  }, 60_000);
});
