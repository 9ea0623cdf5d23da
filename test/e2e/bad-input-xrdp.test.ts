import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xrdpPool } from "../helpers/xrdp-pool";
import { certValid, certWithRawNotAfter, certWithSubject } from "../helpers/certs";
import { rdpcert } from "../helpers/cli";

/** Bad input from certificates and files is reported, never a crash, never OK. */
describe("bad input (issue 12) against real xrdp", () => {
  const start = xrdpPool();
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "rdpcert-bad-input-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('a certificate whose validity reads as "Bad time value" (item 2)', () => {
    const badTimes = ["20301231235959", "20301399235959Z"];

    it.each(badTimes)("probe reports a protocol error naming the presented certificate (notAfter %s), exit 2, text and JSON", async (notAfter) => {
      const server = await start(certWithRawNotAfter(notAfter));
      const text = await rdpcert(["probe", `127.0.0.1:${server.port}`]);
      expect(text.code).toBe(2);
      expect(text.stdout).toMatch(/the presented certificate \(SHA-1 [0-9A-F]{40}\) does not parse: its notAfter is not a valid time/);
      expect(text.stderr).toBe("");
      const json = await rdpcert(["probe", "--json", `127.0.0.1:${server.port}`]);
      expect(json.code).toBe(2);
      const report = JSON.parse(json.stdout) as { results: { status: string; certificate: unknown; error: { kind: string; message: string } }[] };
      expect(report.results[0]).toMatchObject({ status: "critical", certificate: null, error: { kind: "protocol-error" } });
    });

    it("status calls the configured certificate CORRUPT (certificate-unparseable), exit 2, text and JSON", async () => {
      const server = await start(certWithRawNotAfter("20301231235959"));
      const text = await rdpcert(["status", "--xrdp-ini", server.iniPath, "--state-dir", join(dir, "state-text")]);
      expect(text.code).toBe(2);
      expect(text.stdout).toMatch(/CORRUPT/);
      expect(text.stdout).not.toMatch(/^OK/m);
      const json = await rdpcert(["status", "--json", "--xrdp-ini", server.iniPath, "--state-dir", join(dir, "state-json")]);
      expect(json.code).toBe(2);
      const report = JSON.parse(json.stdout) as { status: string; problems: { code: string; reason: string }[] };
      expect(report.status).toBe("CORRUPT");
      expect(report.problems.map((p) => p.code)).toContain("certificate-unparseable");
      expect(report.problems.find((p) => p.code === "certificate-unparseable")!.reason).toContain(server.certPath);
    });
  });

  describe("every read is bounded (item 3)", () => {
    const statusWith = async (iniPath: string, name: "certificate" | "key_file", value: string, state: string) => {
      const ini = join(dir, `${state}-${name}.ini`);
      writeFileSync(ini, readFileSync(iniPath, "utf8").replace(new RegExp(`^${name}=.*$`, "m"), `${name}=${value}`));
      return rdpcert(["status", "--json", "--xrdp-ini", ini, "--state-dir", join(dir, `state-${state}-${name}`)]);
    };

    it("status with certificate= naming a FIFO returns: the certificate is unreadable (CORRUPT, exit 2), one reason naming it", async () => {
      const server = await start(certValid(-1, 179, "fifo"));
      const fifo = join(dir, "cert.fifo");
      execFileSync("mkfifo", [fifo]);
      const run = await statusWith(server.iniPath, "certificate", fifo, "fifo");
      expect(run.code).toBe(2);
      const report = JSON.parse(run.stdout) as { status: string; problems: { code: string; reason: string }[] };
      expect(report.status).toBe("CORRUPT");
      expect(report.problems[0]).toMatchObject({
        code: "certificate-unreadable",
        reason: `cannot read the certificate ${fifo}: is a FIFO, not a regular file (rdpcert reads a certificate file only from a regular file)`,
      });
    });

    it("status with key_file= naming a FIFO returns, and says the key is not a regular file", async () => {
      const server = await start(certValid(-1, 179, "key-fifo"));
      // Where xrdp's user may look, and readable by it: only the file type is wrong.
      const fifo = join(server.dir, "key.fifo");
      execFileSync("mkfifo", ["-m", "0644", fifo]);
      const run = await statusWith(server.iniPath, "key_file", fifo, "fifo");
      const report = JSON.parse(run.stdout) as { configured: { key: { location: string; reason: string | null } } };
      expect(report.configured.key).toMatchObject({ location: fifo, reason: expect.stringContaining("is a FIFO, not a regular file") });
    });

    it("status with certificate=/dev/zero or key_file=/dev/zero returns without reading it", async () => {
      const server = await start(certValid(-1, 179, "zero"));
      const cert = await statusWith(server.iniPath, "certificate", "/dev/zero", "zero");
      expect(cert.code).toBe(2);
      expect(JSON.parse(cert.stdout).problems[0]).toMatchObject({
        code: "certificate-unreadable",
        reason: expect.stringContaining("/dev/zero: is a character device, not a regular file"),
      });
      const key = await statusWith(server.iniPath, "key_file", "/dev/zero", "zero");
      expect(JSON.parse(key.stdout).configured.key).toMatchObject({
        location: "/dev/zero",
        reason: expect.stringContaining("is a character device, not a regular file"),
      });
    });

    // A FIFO and standard input are read, bounded at 16 MiB: test/e2e/cli-probe.test.ts.
    it("--targets /dev/zero or a directory: one line, exit 3", async () => {
      for (const [path, what] of [
        ["/dev/zero", "a character device"],
        [dir, "a directory"],
      ] as const) {
        const run = await rdpcert(["probe", "--targets", path]);
        expect([run.code, run.stdout, run.stderr]).toEqual([
          3,
          "",
          `rdpcert: cannot read --targets file ${path}: is ${what}, not a regular file (rdpcert reads a targets file from a regular file, a pipe (FIFO) or standard input (-))\n`,
        ]);
      }
    });

    it("run --config naming /dev/zero or a FIFO: one line, exit 3", async () => {
      const fifo = join(dir, "config.fifo");
      execFileSync("mkfifo", [fifo]);
      for (const path of ["/dev/zero", fifo]) {
        const run = await rdpcert(["run", "--config", path, "--json"]);
        expect(run.code).toBe(3);
        expect(run.stderr).toMatch(new RegExp(`^rdpcert: cannot read the config file ${path}: is a (character device|FIFO), not a regular file .*\\n$`));
      }
    });
  });

  describe("error messages never quote file contents (item 10)", () => {
    const secret = "$y$j9T$rdpcertSECRETsalt$rdpcertSECREThash";
    const shadowLike = `root:${secret}:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n`;

    it("run --config FILE (not JSON): names the file, line and what was expected, exit 3, without its content, text and --json", async () => {
      const file = join(dir, "shadow-like");
      writeFileSync(file, shadowLike, { mode: 0o600 });
      for (const json of [[], ["--json"]]) {
        const run = await rdpcert(["run", "--config", file, ...json]);
        expect(run.code).toBe(3);
        expect(`${run.stdout}${run.stderr}`).not.toMatch(/SECRET|root:|\$y\$/);
        expect(run.stderr).toContain(`${file}: not valid JSON at line 1, column 1: expected a value`);
      }
    });

    it("probe --targets FILE: each bad line is its own error naming the file and line, never the line's text", async () => {
      const file = join(dir, "shadow-targets");
      writeFileSync(file, `127.0.0.1\n${shadowLike}`, { mode: 0o600 });
      for (const json of [[], ["--json"]]) {
        const run = await rdpcert(["probe", "--targets", file, "--timeout", "1000", ...json]);
        // One bad line no longer ends the run: it is that line's CRITICAL, the others are probed.
        expect(run.code).toBe(2);
        expect(`${run.stdout}${run.stderr}`).not.toMatch(/SECRET|root:|daemon|\$y\$/);
        expect(run.stdout).toContain(`--targets ${file} line 2: not a valid target: use host, host:port or [IPv6]:port`);
        expect(run.stdout).toContain(`--targets ${file} line 3: not a valid target`);
      }
    });
  });

  describe("control characters and bidi overrides never reach the terminal raw (item 11)", () => {
    /** C0 (but the line feed), DEL, C1 (U+009B is CSI) and the bidi/invisible formatting characters. */
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069]/;
    const hostile = "evil\u001b[2J\u009b31m\u202egpj.exe\u2066x";

    it("probe: a certificate subject with ESC, CSI (C1) and U+202E is escaped in text; --json keeps it as \\u escapes", async () => {
      const server = await start(certWithSubject(hostile));
      const text = await rdpcert(["probe", `127.0.0.1:${server.port}`]);
      expect(text.code).toBe(0);
      expect(text.stdout).not.toMatch(RAW);
      expect(text.stdout).toContain("CN=evil");
      const json = await rdpcert(["probe", "--json", `127.0.0.1:${server.port}`]);
      expect(json.stdout).not.toMatch(RAW);
      const subject = (JSON.parse(json.stdout) as { results: { certificate: { subject: string } }[] }).results[0]!.certificate.subject;
      expect(subject).toMatch(RAW);
      expect(subject.startsWith("CN=evil")).toBe(true);
    });

    it("status: the same subject is escaped in text and JSON", async () => {
      const server = await start(certWithSubject(hostile));
      const text = await rdpcert(["status", "--xrdp-ini", server.iniPath, "--state-dir", join(dir, "state-subject")]);
      expect(text.stdout).toContain("CN=evil");
      expect(text.stdout).not.toMatch(RAW);
      const json = await rdpcert(["status", "--json", "--xrdp-ini", server.iniPath, "--state-dir", join(dir, "state-subject")]);
      expect(json.stdout).not.toMatch(RAW);
      expect(() => JSON.parse(json.stdout) as unknown).not.toThrow();
    });

    it("rotate --reason with ESC, CSI, U+202E and a line feed: escaped in every text output and log line, kept exactly in JSON", async () => {
      const server = await start(certValid(-1, 179, "reason"));
      const stateDir = join(dir, "state-reason");
      const reason = `${hostile}\nFAKE LINE`;
      const rotate = await rdpcert([
        "rotate",
        "--yes",
        "--force",
        "--no-restart",
        "--verify-timeout",
        "8000",
        "--xrdp-ini",
        server.iniPath,
        "--state-dir",
        stateDir,
        "--reason",
        reason,
      ]);
      expect(rotate.code).toBe(0);
      expect(`${rotate.stdout}${rotate.stderr}`).not.toMatch(RAW);
      const list = await rdpcert(["backups", "list", "--state-dir", stateDir]);
      expect(list.stdout).not.toMatch(RAW);
      expect(list.stdout).toContain("evil\\x1b[2J\\x9b31m\\u202egpj.exe\\u2066x\\x0aFAKE LINE");
      expect(list.stdout).not.toMatch(/^FAKE LINE/m);
      const json = await rdpcert(["backups", "list", "--json", "--state-dir", stateDir]);
      expect(json.stdout).not.toMatch(RAW);
      expect((JSON.parse(json.stdout) as { backups: { reason: string }[] }).backups[0]!.reason).toBe(reason);
    });
  });
});
