import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pinFileStem, writePinBundle } from "../../../src/app/pin-bundle";
import { makePinBundle } from "../../../src/core/pin-bundle";

describe("writePinBundle (issue 25)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rdpcert-pins-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const pem = readFileSync(join(__dirname, "..", "core", "pin-bundle-fixtures", "listener.pem"), "utf8");

  it("writes the bundle and its three client files under <stateDir>/pins/, 0644 in a 0755 directory, and returns the bundle's path", async () => {
    const state = join(dir, "state");
    const bundle = makePinBundle(pem, "RDP01.example.test", 3390, new Date("2026-12-05T00:00:00Z"));
    const path = await writePinBundle(state, bundle);
    expect(path).toBe(join(state, "pins", "rdp01.example.test_3390.json"));
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual(bundle);
    expect(readdirSync(join(state, "pins")).sort()).toEqual([
      "rdp01.example.test_3390.json",
      "rdp01.example.test_3390.known_hosts2",
      "rdp01.example.test_3390.pem",
      "rdp01.example.test_3390.reg",
    ]);
    expect(statSync(join(state, "pins")).mode & 0o777).toBe(0o755);
    expect(statSync(state).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(join(state, "pins"))) expect(statSync(join(state, "pins", name)).mode & 0o777).toBe(0o644);
  });

  it("writes a variant (a staged pair's pins) beside the current one, and refuses a variant that is not a plain name", async () => {
    const bundle = makePinBundle(pem, "h", 3389, new Date());
    expect(await writePinBundle(dir, bundle, { variant: "staged" })).toBe(join(dir, "pins", "h_3389.staged.json"));
    await expect(writePinBundle(dir, bundle, { variant: "../x" })).rejects.toThrow("not a short lower-case name");
  });

  it("makes a file name of any host: IPv6 colons and other characters become '_'", () => {
    expect(pinFileStem("fe80::1", 3389)).toBe("fe80__1_3389");
    expect(pinFileStem("..evil/x", 1)).toBe("_evil_x_1");
  });
});
