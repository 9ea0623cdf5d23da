import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { chownSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type XrdpServer, freePort, iniText } from "../../scripts/xrdp-server";
import { xrdpPool, secondPair } from "../helpers/xrdp-pool";
import { caIssued, certValid } from "../helpers/certs";
import { rdpcert } from "../helpers/cli";
import { generateKey } from "../../src/core/self-signed";

/**
 * `rdpcert status` as an admin runs it (the built bin), against real xrdp
 * servers on loopback, each with its own ini, certificate and key. The
 * runtime user comes from this machine's xrdp.service (Debian: User=xrdp),
 * which is the user the throwaway servers run as.
 */
interface StatusJson {
  schema: string;
  status: string;
  health: string;
  exitCode: number;
  reason: string;
  fix: string | null;
  problems: { verdict: string; code: string; reason: string; fix: string | null }[];
  listener: { address: string | null; port: number; securityLayer: string; probed: string | null } | null;
  configured: {
    location: string;
    state: string;
    issuance: string;
    key: { state: string; location: string | null; reason: string | null };
    certificate: { thumbprint: string; notAfter: string } | null;
    renewalTime: string | null;
  } | null;
  presented: { certificate: { thumbprint: string } | null; error: { kind: string } | null } | null;
  findings: { severity: string; code: string; message: string; fix: string | null }[];
}

async function status(ini: string, ...extra: string[]): Promise<{ code: number | null; json: StatusJson; stderr: string }> {
  // A state dir of the test's own beside the ini: never the machine's /var/lib/rdpcert.
  const run = await rdpcert(["status", "--xrdp-ini", ini, "--state-dir", join(dirname(ini), "rdpcert-state"), "--json", "--timeout", "4000", ...extra]);
  let json: StatusJson;
  try {
    json = JSON.parse(run.stdout) as StatusJson;
  } catch {
    throw new Error(`status did not print JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
  return { code: run.code, json, stderr: run.stderr };
}

const sha1Of = (certPath: string): string => new X509Certificate(readFileSync(certPath)).fingerprint.replace(/:/g, "");

describe("rdpcert status against real xrdp", () => {
  const start = xrdpPool();
  const needRoot = (server: XrdpServer): void => {
    if (!server.runAs) throw new Error("this test needs root, so that xrdp runs as the xrdp user and file modes apply");
  };

  it("OK: the listener presents the configured certificate; configured and presented thumbprints equal the file's SHA-1", async () => {
    const server = await start(certValid(-1, 179, "status-healthy"));
    const { code, json } = await status(server.iniPath);
    expect(json.schema).toBe("rdpcert.status/v1");
    expect(json.status).toBe("OK");
    expect(code).toBe(0);
    expect(json.exitCode).toBe(0);
    expect(json.listener).toMatchObject({ address: "127.0.0.1", port: server.port, securityLayer: "negotiate", probed: `127.0.0.1:${server.port}` });
    expect(json.configured).toMatchObject({
      location: server.certPath,
      state: "present",
      issuance: "self-signed",
      key: { state: "ok", location: server.keyPath },
    });
    const sha1 = sha1Of(server.certPath);
    expect(json.configured!.certificate!.thumbprint).toBe(sha1);
    expect(json.presented!.certificate!.thumbprint).toBe(sha1);
    expect(json.problems).toEqual([]);
  });

  it("WARN (exit 1): the certificate expires in 10 days", async () => {
    const server = await start(certValid(-170, 10));
    const { code, json } = await status(server.iniPath);
    expect([json.status, code]).toEqual(["WARN", 1]);
    expect(json.problems.map((p) => p.code)).toEqual(["expiring"]);
  });

  it("WARN (exit 1): a self-signed certificate past 2/3 of its lifetime, though 100 days remain", async () => {
    const server = await start(certValid(-300, 100));
    const { code, json } = await status(server.iniPath);
    expect([json.status, code]).toEqual(["WARN", 1]);
    expect(json.problems.map((p) => p.code)).toEqual(["renewal-due"]);
    expect(new Date(json.configured!.renewalTime!).getTime()).toBeLessThan(Date.now());
  });

  it("--warn-days moves the threshold", async () => {
    const server = await start(certValid(-20, 40));
    expect((await status(server.iniPath)).code).toBe(0);
    expect((await status(server.iniPath, "--warn-days", "45")).code).toBe(1);
  });

  it("EXPIRED (exit 2)", async () => {
    const server = await start(certValid(-200, -3));
    const { code, json } = await status(server.iniPath);
    expect([json.status, code]).toEqual(["EXPIRED", 2]);
    expect(json.reason).toMatch(/expired (2|3) days ago/);
  });

  it("CORRUPT (exit 2): xrdp cannot read its key, and the listener is seen downgrading to standard RDP security", async () => {
    const server = await start(certValid(-1, 179));
    needRoot(server);
    chownSync(server.keyPath, 0, 0);
    const { code, json } = await status(server.iniPath);
    expect([json.status, code]).toEqual(["CORRUPT", 2]);
    expect(json.problems.map((p) => [p.verdict, p.code])).toEqual([
      ["CORRUPT", "key-unreadable"],
      ["DOWNGRADED", "rdp-security-only"],
    ]);
    expect(json.reason).toContain(`cannot read ${server.keyPath}`);
    expect(json.fix).toBe(`chgrp ${server.runAs!.gid === 0 ? "root" : "xrdp"} ${server.keyPath} && chmod 640 ${server.keyPath}`);
  });

  it("CORRUPT (exit 2): the key belongs to another certificate", async () => {
    const pair = certValid(-1, 179);
    const otherKey = generateKey().export({ type: "pkcs8", format: "pem" }).toString();
    const server = await start({ certPem: pair.certPem, keyPem: otherKey });
    const { code, json } = await status(server.iniPath);
    expect([json.status, code]).toEqual(["CORRUPT", 2]);
    expect(json.problems[0]).toMatchObject({ code: "key-mismatch", reason: expect.stringContaining("does not belong") });
    // The key is never quoted.
    expect(JSON.stringify(json)).not.toContain("PRIVATE KEY");
  });

  it("CORRUPT (exit 2): a truncated certificate file; the handshake fails on the wire", async () => {
    const pair = certValid(-1, 179);
    const server = await start({ certPem: pair.certPem.slice(0, 400), keyPem: pair.keyPem });
    const { code, json } = await status(server.iniPath);
    expect([json.status, code]).toEqual(["CORRUPT", 2]);
    expect(json.problems.map((p) => p.code)).toEqual(["certificate-not-pem", "handshake-failed"]);
  });

  it("DOWNGRADED (exit 2): security_layer=rdp, with the fix in the ini", async () => {
    const server = await start({ ...certValid(-1, 179), securityLayer: "rdp" });
    const { code, json } = await status(server.iniPath);
    expect([json.status, code]).toEqual(["DOWNGRADED", 2]);
    expect(json.fix).toMatch(/security_layer=negotiate/);
    expect(json.findings.map((f) => f.code)).toContain("security-layer-rdp");
  });

  it("MISMATCH (exit 2): the process on the configured port serves another pair than this ini names", async () => {
    // xrdp re-reads its ini for every connection, so an edited ini takes effect at once; a mismatch
    // means the listener runs from another configuration (xrdp -c OTHER.ini) or is another server.
    const server = await start(certValid(-1, 179, "running-pair"));
    const { certPath, ini } = secondPair(server, "configured-pair");
    const otherIni = join(server.dir, "other.ini");
    writeFileSync(otherIni, ini);
    const { code, json } = await status(otherIni);
    expect([json.status, code]).toEqual(["MISMATCH", 2]);
    expect(json.configured!.certificate!.thumbprint).toBe(sha1Of(certPath));
    expect(json.presented!.certificate!.thumbprint).toBe(sha1Of(server.certPath));
    expect(json.fix).toContain(`ss -ltnp 'sport = :${server.port}'`);
  });

  it("an edited ini takes effect at once: xrdp reads it for every connection", async () => {
    const server = await start(certValid(-1, 179, "before-edit"));
    const { certPath, ini } = secondPair(server, "after-edit");
    writeFileSync(server.iniPath, ini);
    const { code, json } = await status(server.iniPath);
    expect([json.status, code]).toEqual(["OK", 0]);
    expect(json.presented!.certificate!.thumbprint).toBe(sha1Of(certPath));
  });

  it("a CA-issued certificate is reported as such; expiring, the fix is to renew with the CA", async () => {
    const server = await start(caIssued(-300, 12));
    const { code, json } = await status(server.iniPath);
    expect(json.configured!.issuance).toBe("ca-issued");
    expect([json.status, code]).toEqual(["WARN", 1]);
    expect(json.fix).toMatch(/issuing CA.*never deletes/);
  });

  it("DOWN (exit 2): nothing listens on the configured port", async () => {
    const server = await start(certValid(-1, 179));
    const port = await freePort();
    const ini = join(server.dir, "down.ini");
    writeFileSync(
      ini,
      iniText({ port, certPath: server.certPath, keyPath: server.keyPath, securityLayer: "negotiate", logPath: join(server.dir, "down.log") }),
    );
    const { code, json } = await status(ini);
    expect([json.status, code]).toEqual(["DOWN", 2]);
    expect(json.presented!.error!.kind).toBe("connect-refused");
    expect(json.fix).toMatch(/systemctl start xrdp/);
  });

  it("empty certificate=/key_file= mean /etc/xrdp's defaults: the links to Debian's snakeoil pair, and whether xrdp can read that key", async () => {
    const server = await start(certValid(-1, 179));
    needRoot(server);
    writeFileSync(
      server.iniPath,
      readFileSync(server.iniPath, "utf8")
        .replace(/^certificate=.*$/m, "certificate=")
        .replace(/^key_file=.*$/m, "key_file="),
    );
    const { json } = await status(server.iniPath);
    expect(json.configured!.location).toBe("/etc/xrdp/cert.pem");
    expect(json.configured!.key.location).toBe("/etc/xrdp/key.pem");
    const link = json.findings.find((f) => f.code === "certificate-link");
    expect(link?.message).toBe(
      "certificate /etc/xrdp/cert.pem is a link to /etc/ssl/certs/ssl-cert-snakeoil.pem (Debian's shared snakeoil pair, also used by other services)",
    );
    // Debian 12's xrdp package does not add xrdp to ssl-cert; the verdict follows what this machine really has.
    const inSslCert = execFileSync("id", ["-Gn", "xrdp"], { encoding: "utf8" }).split(/\s+/).includes("ssl-cert");
    expect(json.configured!.key.state).toBe(inSslCert ? "ok" : "unreadable");
    if (!inSslCert) expect(json.problems.find((p) => p.code === "key-unreadable")?.fix).toMatch(/adduser xrdp ssl-cert/);
    // xrdp re-reads the ini per connection, so it now tries the snakeoil pair too.
    if (inSslCert) {
      expect(json.status).toBe("OK");
      expect(json.presented!.certificate!.thumbprint).toBe(sha1Of("/etc/xrdp/cert.pem"));
    } else {
      // Debian's default install serves no TLS at all: the key is unreadable and xrdp downgrades.
      expect(json.problems.map((p) => [p.verdict, p.code])).toEqual([
        ["CORRUPT", "key-unreadable"],
        ["DOWNGRADED", "rdp-security-only"],
      ]);
    }
  });

  it("prints one screen of text: the verdict first, configured vs presented side by side, findings with fixes", async () => {
    const server = await start(certValid(-200, -3, "text-expired"));
    const run = await rdpcert(["status", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "rdpcert-state")]);
    expect(run.code).toBe(2);
    const lines = run.stdout.split("\n");
    expect(lines[0]).toMatch(/^CRITICAL {2}EXPIRED {2}the configured certificate \(CN=text-expired\): certificate expired [23] days ago/);
    expect(lines[1]).toMatch(/^ {2}fix: /);
    expect(run.stdout).toMatch(/^ +configured +presented on 127\.0\.0\.1:\d+$/m);
    expect(run.stdout).toMatch(new RegExp(`^thumbprint +${sha1Of(server.certPath)} +${sha1Of(server.certPath)} {2}\\(same\\)$`, "m"));
    expect(run.stdout).toMatch(/^Findings:\n {2}EXPIRED/m);
  });
});

describe("rdpcert status when it cannot inspect (UNKNOWN, exit 3)", () => {
  it("a missing ini with --backend xrdp", async () => {
    const { code, json } = await status("/nonexistent/xrdp.ini", "--backend", "xrdp");
    expect([json.status, code]).toEqual(["UNKNOWN", 3]);
    expect(json.reason).toBe(
      "the xrdp backend cannot run here: /nonexistent/xrdp.ini does not exist: is xrdp installed? (pass --xrdp-ini PATH for another location)",
    );
  });

  it("auto-detection finds no RDP server", async () => {
    const { code, json } = await status("/nonexistent/xrdp.ini");
    expect([json.status, code]).toEqual(["UNKNOWN", 3]);
    expect(json.reason).toMatch(/^no RDP server found on this host/);
  });

  it("--backend windows on Linux says why it cannot run", async () => {
    const { code, json } = await status("/etc/xrdp/xrdp.ini", "--backend", "windows");
    expect([json.status, code]).toEqual(["UNKNOWN", 3]);
    expect(json.reason).toMatch(/^the windows backend cannot run here: .*powershell/i);
  });

  it("a vsock:// listener is named as unsupported", async () => {
    const dir = execFileSync("mktemp", ["-d"], { encoding: "utf8" }).trim();
    const ini = join(dir, "xrdp.ini");
    writeFileSync(ini, "[Globals]\nport=vsock://-1:3389\n");
    const { code, json } = await status(ini);
    expect([json.status, code]).toEqual(["UNKNOWN", 3]);
    expect(json.reason).toBe(`${ini}:2: port=vsock://-1:3389 is a vsock:// listener, which rdpcert cannot probe (it checks TCP listeners)`);
    execFileSync("rm", ["-rf", dir]);
  });

  it("a bad --backend is a usage error naming the choices", async () => {
    const run = await rdpcert(["status", "--backend", "iis"]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/--backend.*iis.*auto, windows, xrdp/);
  });
});
