import { execFileSync } from "node:child_process";
import { X509Certificate, createHash } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type XrdpServer, freePort } from "../../scripts/xrdp-server";
import { buildSelfSigned } from "../../src/core/self-signed";
import { certValid, testKey } from "../helpers/certs";
import { rdpcert } from "../helpers/cli";
import { ensureUser } from "../helpers/users";
import { writeXrdpConfig, xrdpPool } from "../helpers/xrdp-pool";
import { presented, sha1 } from "../helpers/served";

/**
 * Verdicts grounded in evidence, end to end on real xrdp: each of
 * the numbered cases below (case 3, a name mismatch on a self-signed
 * certificate, lives in doctor.test.ts; case 10, a negotiation answer of 0x10,
 * in probe-hostile.test.ts), and ten healthy passes that change nothing. These
 * tests need root: xrdp runs as root or as the `xrdp` user, the CLI as root or
 * as an unprivileged monitoring user, and groups are changed for real.
 */
interface Problem {
  verdict: string;
  code: string;
  reason: string;
  fix: string | null;
  fixedByReplacement: boolean;
}
interface StatusJson {
  status: string;
  exitCode: number;
  reason: string;
  fix: string | null;
  problems: Problem[];
  unchecked: string[];
  configured: {
    key: { state: string };
    server: { basis: string; name: string | null; pid: number | null } | null;
    certificate: { thumbprint: string } | null;
  } | null;
  presented: { certificate: { thumbprint: string } | null; error: { kind: string } | null } | null;
  findings: { severity: string; code: string; message: string }[];
}
interface RunJson {
  outcome: string;
  exitCode: number;
  status: string;
  reason: string;
  rotation: { outcome: string; newThumbprint: string | null; plan: string[] } | null;
  backoff: { failures: number; nextAttemptAt: string | null; unfixed?: { code: string } | null };
}

const MONITOR = "rdpcert-monitor";
const KEY_GROUP = "rdpcert-keygrp";
const DAY = 86_400_000;

function parse<T>(what: string, run: { code: number | null; stdout: string; stderr: string }): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`${what} did not print JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

async function status(ini: string, options: { uid?: number; gid?: number; prefix?: string[] } = {}): Promise<{ code: number | null; json: StatusJson }> {
  const run = await rdpcert(["status", "--xrdp-ini", ini, "--json", "--timeout", "4000"], options);
  return { code: run.code, json: parse<StatusJson>("status", run) };
}

async function run(config: string, options: { prefix?: string[]; args?: string[] } = {}): Promise<{ code: number | null; json: RunJson }> {
  const result = await rdpcert(["run", "--config", config, "--json", ...(options.args ?? [])], { prefix: options.prefix });
  return { code: result.code, json: parse<RunJson>("run", result) };
}

/** Bytes, mode, owner and mtime of every file the listener's configuration names. */
function snapshot(server: XrdpServer): string {
  return [server.iniPath, server.certPath, server.keyPath]
    .map((p) => {
      const s = statSync(p);
      return `${p} ${createHash("sha256").update(readFileSync(p)).digest("hex")} ${s.mode} ${s.uid}:${s.gid} ${s.mtimeMs}`;
    })
    .join("\n");
}

describe("verdicts grounded in evidence (real xrdp)", () => {
  const start = xrdpPool();
  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error("these tests need root: they run xrdp as root and as xrdp, and the CLI as another user");
  });
  afterAll(() => {
    try {
      execFileSync("gpasswd", ["-d", "xrdp", KEY_GROUP], { stdio: "ignore" });
    } catch {
      // not a member
    }
    try {
      execFileSync("groupdel", [KEY_GROUP], { stdio: "ignore" });
    } catch {
      // never created
    }
  });

  it("healthy, xrdp as `xrdp`: ten run passes in a row exit 0 and change no byte", async () => {
    const server = await start(certValid(-1, 179));
    const config = writeXrdpConfig(server);
    const before = snapshot(server);
    for (let pass = 0; pass < 10; pass++) {
      const { code, json } = await run(config);
      expect([pass, json.outcome, json.status, code]).toEqual([pass, "nothing", "OK", 0]);
    }
    expect(snapshot(server)).toBe(before);
    expect(existsSync(join(server.dir, "state", "backups"))).toBe(false);
  }, 180_000);

  describe("case 1: xrdp running as root while its unit says User=xrdp", () => {
    it("xrdp as root: WARNING (would fail after a restart as xrdp), never CORRUPT; ten runs change nothing and never rotate", async () => {
      const server = await start({ ...certValid(-1, 179), user: null });
      expect(server.runAs).toBeNull();
      const { code, json } = await status(server.iniPath);
      expect(json.presented!.certificate!.thumbprint).toBe(sha1(readFileSync(server.certPath)));
      expect([json.status, code]).toEqual(["WARN", 1]);
      expect(json.configured!.key.state).toBe("ok");
      expect(json.configured!.server).toMatchObject({ basis: "listener", name: "root", pid: expect.any(Number) });
      expect(json.problems).toEqual([
        expect.objectContaining({
          verdict: "WARN",
          code: "key-unreadable-after-restart",
          fixedByReplacement: false,
          reason: expect.stringContaining("would fail after a restart as xrdp:xrdp"),
        }),
      ]);
      expect(json.problems.some((p) => p.verdict === "CORRUPT")).toBe(false);

      const config = writeXrdpConfig(server);
      const before = snapshot(server);
      for (let pass = 0; pass < 10; pass++) {
        const r = await run(config);
        expect([pass, r.json.outcome, r.code]).toEqual([pass, "nothing", 1]);
      }
      expect(snapshot(server)).toBe(before);
      expect(existsSync(join(server.dir, "state", "backups"))).toBe(false);
    }, 180_000);

    it("xrdp as xrdp, key readable by it: OK, and the identity is the listening process'", async () => {
      const server = await start(certValid(-1, 179));
      const { code, json } = await status(server.iniPath);
      expect([json.status, code]).toEqual(["OK", 0]);
      expect(json.configured!.server).toMatchObject({ basis: "listener", name: "xrdp" });
    });
  });

  it("case 2: status as an unprivileged monitoring user on a healthy host: OK from the wire, the key 'not checked'", async () => {
    const monitor = ensureUser(MONITOR);
    const server = await start(certValid(-1, 179));
    // As Debian keeps the snakeoil key: in a directory only root and the server's group may enter.
    const privateDir = join(server.dir, "private");
    mkdirSync(privateDir);
    chownSync(privateDir, 0, server.runAs!.gid);
    chmodSync(privateDir, 0o710);
    const key = join(privateDir, "key.pem");
    renameSync(server.keyPath, key);
    chownSync(key, 0, server.runAs!.gid);
    chmodSync(key, 0o640);
    writeFileSync(server.iniPath, readFileSync(server.iniPath, "utf8").replace(`key_file=${server.keyPath}`, `key_file=${key}`));
    expect((await status(server.iniPath)).json.status).toBe("OK");

    const { code, json } = await status(server.iniPath, monitor);
    expect([json.status, code]).toEqual(["OK", 0]);
    expect(json.configured!.key.state).toBe("unknown");
    expect(json.unchecked).toEqual([expect.stringContaining("run as root")]);
    expect(JSON.stringify(json)).not.toMatch(/does not exist|make-ssl-cert/);
  });

  it("case 4: ssl_protocols=TLSv1, TLSv1.1: the TLS versions are named, the certificate is not blamed, run changes nothing", async () => {
    const server = await start({ ...certValid(-1, 179), extraGlobals: ["ssl_protocols=TLSv1, TLSv1.1"] });
    const { code, json } = await status(server.iniPath);
    expect([json.status, code]).toEqual(["DOWNGRADED", 2]);
    expect(json.problems.map((p) => [p.code, p.fixedByReplacement])).toEqual([["tls-versions", false]]);
    expect(json.reason).toContain("offers only TLSv1, TLSv1.1 (ssl_protocols)");
    expect(json.fix).toBe("set ssl_protocols=TLSv1.2, TLSv1.3 in [Globals] of xrdp.ini (xrdp uses it from the next connection)");

    const config = writeXrdpConfig(server);
    const before = snapshot(server);
    for (let pass = 0; pass < 2; pass++) {
      const r = await run(config);
      expect([r.json.outcome, r.code]).toEqual(["nothing", 2]);
      expect(r.json.reason).toContain("a new certificate does not fix this; fix: set ssl_protocols=TLSv1.2, TLSv1.3");
      expect(r.json.backoff.failures).toBe(0);
    }
    expect(snapshot(server)).toBe(before);
    const doctor = await rdpcert(["doctor", "--xrdp-ini", server.iniPath, "--json", "--samples", "1"]);
    expect(parse<{ mostLikelyCause: { id: string } }>("doctor", doctor).mostLikelyCause.id).toBe("tls-versions");
  });

  it("who serves: the process on the port, its ini named when it is another; with nothing listening, the unit is a stated prediction", async () => {
    const server = await start(certValid(-1, 179));
    const copy = join(server.dir, "copy.ini");
    writeFileSync(copy, readFileSync(server.iniPath));
    const other = await status(copy);
    expect(other.json.status).toBe("OK");
    expect(other.json.findings).toContainEqual(
      expect.objectContaining({ code: "listener-other-ini", message: expect.stringContaining(`was started with -c ${server.iniPath}`) }),
    );
    writeFileSync(copy, readFileSync(server.iniPath, "utf8").replace(`:${server.port}`, `:${await freePort()}`));
    const down = await status(copy);
    expect(down.json.configured!.server).toMatchObject({ basis: "unit", pid: null });
    expect(down.json.findings).toContainEqual(
      expect.objectContaining({
        code: "server-identity-predicted",
        message: expect.stringMatching(/a prediction: nothing listens on port \d+; xrdp.service says User=xrdp, Group=xrdp/),
      }),
    );
  });

  it("case 5: after `adduser xrdp GROUP` without a restart, the fix is the restart, and nobody is told to set the security layer", async () => {
    const server = await start(certValid(-1, 179));
    try {
      execFileSync("groupadd", ["--system", KEY_GROUP], { stdio: "ignore" });
    } catch {
      // left by an earlier run
    }
    // An earlier run on this machine may have left xrdp in the group: the case starts from "not a member".
    const leave = (): void => {
      try {
        execFileSync("gpasswd", ["--delete", "xrdp", KEY_GROUP], { stdio: "ignore" });
      } catch {
        // not a member
      }
    };
    leave();
    const gid = Number(execFileSync("getent", ["group", KEY_GROUP], { encoding: "utf8" }).split(":")[2]);
    chownSync(server.keyPath, 0, gid);
    chmodSync(server.keyPath, 0o640);
    const broken = await status(server.iniPath);
    expect([broken.json.status, broken.code]).toEqual(["CORRUPT", 2]);
    expect(broken.json.fix).toBe(`chgrp ${KEY_GROUP} ${server.keyPath} && chmod 640 ${server.keyPath}`.replace(`chgrp ${KEY_GROUP}`, "chgrp xrdp"));

    execFileSync("usermod", ["-aG", KEY_GROUP, "xrdp"]);
    const { code, json } = await status(server.iniPath);
    expect([json.status, code]).toEqual(["CORRUPT", 2]);
    expect(json.problems[0]).toMatchObject({ code: "key-unreadable", fixedByReplacement: false });
    expect(json.fix).toMatch(/^restart xrdp \(systemctl restart xrdp\): the running xrdp \(pid \d+\) started before xrdp was given access/);
    const doctor = await rdpcert(["doctor", "--xrdp-ini", server.iniPath, "--samples", "1"]);
    expect(doctor.stdout).toMatch(/fix: restart xrdp/);
    for (const text of [JSON.stringify(json), doctor.stdout]) expect(text).not.toMatch(/security.layer/i);
    leave();
  });

  it("case 6: a config whose warnDays is not below validityDays is refused by config validate and by run, naming both fields", async () => {
    const server = await start(certValid(-1, 179));
    const config = writeXrdpConfig(server, { warnDays: 400 });
    const validate = await rdpcert(["config", "validate", "--config", config]);
    expect(validate.code).toBe(3);
    expect(validate.stderr.trim().split("\n")).toEqual([expect.stringContaining("warnDays (400) must be below validityDays (180)")]);
    const before = snapshot(server);
    const r = await rdpcert(["run", "--config", config]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("warnDays (400) must be below validityDays (180)");
    expect(snapshot(server)).toBe(before);
  });

  describe("case 7: the clock jumps forward and back", () => {
    it("a certificate rdpcert issued under a clock 400 days ahead is NOT-YET-VALID afterwards, and run repairs it", async () => {
      const server = await start(certValid(-1, 179));
      const config = writeXrdpConfig(server);
      const ahead = await run(config, { prefix: ["faketime", "+400 days"] });
      expect([ahead.json.outcome, ahead.code]).toEqual(["rotated", 0]);
      const issued = new X509Certificate(readFileSync(server.certPath));
      // Backdated an hour from the (wrong) clock, and still in the real future.
      expect(Date.parse(issued.validFrom)).toBeGreaterThan(Date.now() + 399 * DAY);

      const back = await status(server.iniPath);
      expect(back.json.status).toBe("NOT-YET-VALID");
      const repaired = await run(config);
      expect([repaired.json.outcome, repaired.code]).toEqual(["rotated", 0]);
      const now = new X509Certificate(readFileSync(server.certPath));
      expect(Date.parse(now.validFrom)).toBeLessThan(Date.now() - 30 * 60_000);
      expect((await status(server.iniPath)).json.status).toBe("OK");
    });

    it("a not-yet-valid certificate rdpcert did not issue is left alone (check the clock)", async () => {
      const server = await start(certValid(2, 170));
      const r = await run(writeXrdpConfig(server));
      expect([r.json.outcome, r.code]).toEqual(["nothing", 2]);
      expect(r.json.reason).toContain("check the clock");
    });

    it("a backoff written under a clock 400 days ahead does not block retries", async () => {
      const server = await start(certValid(-175, 5));
      // The restart fails under the wrong clock: rolled back, and a backoff is written 400 days ahead.
      const failing = writeXrdpConfig(server, { restartCommand: ["false"] });
      const ahead = await run(failing, { prefix: ["faketime", "+400 days"] });
      expect([ahead.json.outcome, ahead.code]).toEqual(["rolled-back", 2]);
      expect(Date.parse(ahead.json.backoff.nextAttemptAt!)).toBeGreaterThan(Date.now() + 399 * DAY);
      const config = writeXrdpConfig(server);
      const r = await run(config);
      expect([r.json.outcome, r.code]).toEqual(["rotated", 0]);
    });
  });

  it("case 8: run --dry-run when xrdp is down gives the real run's decision and exit code", async () => {
    const server = await start(certValid(-200, -3));
    // The ini now names a port nothing listens on: xrdp is down as far as this configuration goes.
    writeFileSync(server.iniPath, readFileSync(server.iniPath, "utf8").replace(`:${server.port}`, `:${await freePort()}`));
    const config = writeXrdpConfig(server);
    const dry = await run(config, { args: ["--dry-run"] });
    const real = await run(config);
    expect(dry.json.outcome).toBe("dry-run: nothing to do");
    expect(real.json.outcome).toBe("nothing");
    expect([dry.code, dry.json.reason]).toEqual([real.code, real.json.reason]);
    expect(real.code).toBe(2);
    expect(real.json.reason).toContain("a new certificate cannot help");
  });

  it("case 8: when a rotation would run, the dry run shows the real plan, refusals included", async () => {
    const server = await start(certValid(-175, 5));
    const dry = await run(writeXrdpConfig(server), { args: ["--dry-run"] });
    expect([dry.json.outcome, dry.code]).toEqual(["dry-run: would rotate", 0]);
    expect(dry.json.rotation!.plan.join("\n")).toContain("verify with a real RDP TLS handshake");
  });

  describe("case 9: a rotation keeps the old certificate's names", () => {
    const names = (pem: Buffer): { subject: string; san: string } => {
      const x = new X509Certificate(pem);
      return { subject: x.subject, san: x.subjectAltName ?? "" };
    };

    it("SANs host.example, localhost, IP 127.0.0.1 survive; the plan says clients that pinned it are asked again; SHA-1 and SHA-256 are printed", async () => {
      const now = Date.now();
      const old = buildSelfSigned(testKey(), {
        commonName: "host.example",
        dnsNames: ["host.example", "localhost"],
        ipAddresses: ["127.0.0.1"],
        notBefore: new Date(now - 175 * DAY),
        notAfter: new Date(now + 5 * DAY),
      });
      const server = await start(old);
      const plan = await rdpcert(["rotate", "--dry-run", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), "--no-restart"]);
      expect(plan.stdout).toContain("CN=host.example, subjectAltName DNS:host.example, DNS:localhost, IP:127.0.0.1 (the names of the old certificate, kept)");
      expect(plan.stdout).toMatch(/clients that pinned the old certificate .* will be asked to accept the new one/);

      const result = await rdpcert(["rotate", "--yes", "--json", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), "--no-restart"]);
      const json = parse<{ outcome: string; newThumbprint: string; newSha256: string; fix: string }>("rotate", result);
      expect(json.outcome).toBe("rotated");
      const served = readFileSync(server.certPath);
      expect(names(served)).toEqual(names(Buffer.from(old.certPem)));
      const openssl = (digest: string): string =>
        execFileSync("openssl", ["x509", "-noout", "-fingerprint", `-${digest}`, "-in", server.certPath], { encoding: "utf8" })
          .split("=")[1]!
          .trim()
          .replace(/:/g, "");
      expect([json.newThumbprint, json.newSha256]).toEqual([openssl("sha1"), openssl("sha256")]);
      expect(json.fix).toContain("will be asked to accept the new one");
      expect((await presented(server.port))!.thumbprint).toBe(json.newThumbprint);

      const text = await rdpcert(["rotate", "--yes", "--force", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), "--no-restart"]);
      expect(text.stdout).toMatch(/^ {2}new SHA-256 {2}[0-9A-F]{64}$/m);
    });

    it("--name and --ip replace the names; a bad one is refused before any work", async () => {
      const server = await start(certValid(-175, 5, "old.example"));
      const state = join(server.dir, "state");
      const bad = await rdpcert(["rotate", "--yes", "--xrdp-ini", server.iniPath, "--state-dir", state, "--ip", "not-an-ip"]);
      expect(bad.code).toBe(3);
      expect(bad.stderr).toContain('--ip "not-an-ip" is not an IP address');
      expect(existsSync(state)).toBe(false);
      const r = await rdpcert([
        "rotate",
        "--yes",
        "--xrdp-ini",
        server.iniPath,
        "--state-dir",
        state,
        "--no-restart",
        "--name",
        "rdp01.example.test",
        "--ip",
        "192.0.2.10",
      ]);
      expect(r.code).toBe(0);
      expect(names(readFileSync(server.certPath))).toEqual({ subject: "CN=rdp01.example.test", san: "DNS:rdp01.example.test, IP Address:192.0.2.10" });
    });
  });

  it("a verified rotation that leaves its problem in place fails the pass, and later passes do not rotate again for it", async () => {
    // renewalFraction 0.0001 of 180 days is 26 minutes: a new certificate, backdated an hour, is due at once.
    const server = await start(certValid(-1, 179));
    const config = writeXrdpConfig(server, { renewalFraction: 0.0001 });
    const first = await run(config);
    expect([first.json.outcome, first.code]).toEqual(["not-fixed", 2]);
    expect(first.json.rotation!.outcome).toBe("rotated");
    expect(first.json.backoff.unfixed).toMatchObject({ code: "renewal-due" });
    const rotated = snapshot(server);
    for (let pass = 0; pass < 3; pass++) {
      const next = await run(config);
      expect([next.json.outcome, next.code]).toEqual(["nothing", 2]);
      expect(next.json.reason).toContain('did not make "renewal-due" go away');
    }
    expect(snapshot(server)).toBe(rotated);
    expect(readdirSync(join(server.dir, "state", "backups")).filter((n) => /^\d{4}$/.test(n))).toHaveLength(1);
  }, 120_000);
});
