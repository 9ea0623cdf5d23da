import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Script } from "node:vm";
import { certValid } from "../helpers/certs";
import { CLI, rdpcert } from "../helpers/cli";
import { xrdpPool } from "../helpers/xrdp-pool";

/**
 * The start-up path of the quick commands: the bin is a small launcher that
 * runs one bundled file with the V8 code cache the build trained for it
 * (scripts/bundle.ts, scripts/launcher.ts), and `probe` and `status` load
 * only what they use. What a run loaded is read from inside it
 * (require.cache and Node's moduleLoadList, written at exit by a preloaded
 * script), not timed: the timings are `npm run bench` (probe-cli, status-cli).
 */
const BUNDLE = join(dirname(CLI), "rdpcert.js");
const CACHE = join(dirname(CLI), "rdpcert.cache");
const NOT_ON_THE_QUICK_PATH = ["child_process", "worker_threads", "perf_hooks", "dns", "module", "os"];

describe("quick commands load only what they use", () => {
  const start = xrdpPool();
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "rdpcert-startup-"));
    writeFileSync(
      join(dir, "report.js"),
      `process.on("exit", () => require("node:fs").writeFileSync(process.env.JEST_RDPCERT_LOADED_FILE, JSON.stringify({
        files: Object.keys(require.cache).filter((f) => f !== __filename),
        builtins: process.moduleLoadList.filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice("NativeModule ".length)),
      })));`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function loaded(args: string[]): Promise<{ code: number | null; files: string[]; builtins: string[] }> {
    const out = join(dir, `loaded-${args[0]}.json`);
    const run = await rdpcert(args, { env: { JEST_RDPCERT_LOADED_FILE: out, NODE_OPTIONS: `--require ${join(dir, "report.js")}` } });
    return { code: run.code, ...(JSON.parse(readFileSync(out, "utf8")) as { files: string[]; builtins: string[] }) };
  }

  it("probe of a real listener: only the launcher is required (the bundle runs from it), no library, not even package.json; none of child_process, worker_threads, perf_hooks, dns, module, os", async () => {
    const server = await start(certValid(-1, 179, "startup-probe"));
    const run = await loaded(["probe", `127.0.0.1:${server.port}`, "--json"]);
    expect(run.code).toBe(0);
    expect(run.files).toEqual([CLI]);
    expect(run.builtins.filter((m) => NOT_ON_THE_QUICK_PATH.includes(m))).toEqual([]);
    // The floor's own work: the probe did reach TLS.
    expect(run.builtins).toEqual(expect.arrayContaining(["tls", "net"]));
  });

  it("status of a real xrdp whose runtime user is local: the launcher only, nothing spawned (no child_process)", async () => {
    const server = await start(certValid(-1, 179, "startup-status"));
    const run = await loaded(["status", "--json", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "rdpcert-state")]);
    expect(run.code).toBe(0);
    expect(run.files).toEqual([CLI]);
    expect(run.builtins.filter((m) => NOT_ON_THE_QUICK_PATH.includes(m))).toEqual([]);
  });

  it("a command declares only itself: `probe --help` lists probe's options, `--help` still lists every command", async () => {
    const top = await rdpcert(["--help"]);
    for (const name of ["probe", "status", "rotate", "deploy", "backups", "doctor", "run", "schedule", "task", "config", "exporter"])
      expect(top.stdout).toMatch(new RegExp(`^  ${name}\\b`, "m"));
    const probe = await rdpcert(["probe", "--help"]);
    expect(probe.stdout).toContain("--concurrency <n>");
    const mistyped = await rdpcert(["stauts"]);
    expect([mistyped.code, mistyped.stderr]).toEqual([3, expect.stringContaining("(Did you mean status?)")]);
  });
});

describe("the bundle's code cache", () => {
  const bundleText = (): string => readFileSync(BUNDLE, "latin1");

  it("is accepted by this Node (the build made it for the bundle's exact text) and holds more than the top level: the training compiled the quick commands' functions", () => {
    const script = new Script(bundleText(), { filename: BUNDLE, cachedData: readFileSync(CACHE) });
    expect(script.cachedDataRejected).toBe(false);
    // Made before running anything, a cache holds the top level only; the trained one holds the functions probe and status ran.
    const untrained = new Script(bundleText(), { filename: BUNDLE }).createCachedData();
    expect(statSync(CACHE).size).toBeGreaterThan(untrained.length * 1.5);
  });

  describe("a copy of the bin with its cache", () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "rdpcert-launcher-"));
      for (const file of [CLI, BUNDLE]) copyFileSync(file, join(dir, file === CLI ? "main.js" : "rdpcert.js"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const version = (): { status: number | null; stdout: string; stderr: string } => {
      const run = spawnSync(process.execPath, [join(dir, "main.js"), "--version"], { encoding: "utf8" });
      return { status: run.status, stdout: run.stdout.trim(), stderr: run.stderr };
    };
    const expected = (JSON.parse(readFileSync(join(CLI, "..", "..", "..", "..", "package.json"), "utf8")) as { version: string }).version;

    it("missing: the bundle is compiled from its text and runs (the version is in the bundle, no package.json beside it)", () => {
      expect(version()).toEqual({ status: 0, stdout: expected, stderr: "" });
    });

    it("not V8's (another Node's, or damaged): V8 refuses it and the bundle runs as without one", () => {
      writeFileSync(join(dir, "rdpcert.cache"), Buffer.alloc(statSync(CACHE).size, 0x5a));
      expect(version()).toEqual({ status: 0, stdout: expected, stderr: "" });
    });
  });
});
