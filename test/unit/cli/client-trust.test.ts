import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rdpcert } from "../../helpers/cli";

/** `rdpcert client trust`'s refusals (issue 25): each one line, exit 3 or 2, and no store written. */
describe("rdpcert client trust: refusals", () => {
  let home: string;
  const env = (): NodeJS.ProcessEnv => ({ HOME: home, XDG_CONFIG_HOME: join(home, ".config") });
  const SHA = "ab".repeat(32);
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "rdpcert-trust-home-"));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const refused = async (args: string[], message: string): Promise<void> => {
    const run = await rdpcert(["client", "trust", ...args], { env: env() });
    expect([run.code, run.stdout, run.stderr.trim()]).toEqual([3, "", `rdpcert: ${message}`]);
    expect(existsSync(join(home, ".config"))).toBe(false);
  };

  it("needs the expected certificate, a real SHA-256, and a listener", async () => {
    await refused(["127.0.0.1:1"], "client trust needs the expected certificate: --expect-sha256 HEX or --from-bundle FILE");
    await refused(["127.0.0.1:1", "--expect-sha256", "ab".repeat(20)], "--expect-sha256 is not a SHA-256 (64 hexadecimal digits, colons and spaces allowed)");
    await refused(["--expect-sha256", SHA], "client trust needs the listener: HOST[:PORT] (or a bundle that names it)");
  });

  it("refuses a bundle that is not JSON or not a pin bundle, and one that contradicts --expect-sha256", async () => {
    const notJson = join(home, "b.json");
    writeFileSync(notJson, "not json {");
    await refused(["--from-bundle", notJson], `${notJson} is not JSON (a pin bundle is the .json file rdpcert writes under <stateDir>/pins/)`);
    const other = join(home, "o.json");
    writeFileSync(other, JSON.stringify({ schema: 1, listener: { host: "h" } }));
    await refused(["--from-bundle", other], `${other} is not a pin bundle (schema 1 with sha256.hex and listener)`);
    const bundle = join(home, "p.json");
    writeFileSync(bundle, JSON.stringify({ schema: 1, listener: { host: "127.0.0.1", port: 1 }, sha256: { hex: SHA } }));
    await refused(["--from-bundle", bundle, "--expect-sha256", "cd".repeat(32)], `--expect-sha256 and the bundle ${bundle} name different certificates`);
  });

  it("a listener that cannot be probed: one line, exit 3, nothing written", async () => {
    // A port nothing listens on: bound, then closed.
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const run = await rdpcert(["client", "trust", `127.0.0.1:${port}`, "--expect-sha256", SHA, "--timeout", "3000"], { env: env() });
    expect(run.code).toBe(3);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(new RegExp(`^rdpcert: client trust: cannot check 127\\.0\\.0\\.1:${port}: .*; nothing written\\n$`));
    expect(existsSync(join(home, ".config"))).toBe(false);
  });
});
