import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xrdpPool } from "../helpers/xrdp-pool";
import { certWithRawNotAfter } from "../helpers/certs";
import { rdpcert } from "../helpers/cli";

/** Issue 12: bad input from certificates and files is reported, never a crash, never OK. */
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
});
