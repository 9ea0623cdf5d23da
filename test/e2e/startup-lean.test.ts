import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { certValid } from "../helpers/certs";
import { CLI, rdpcert } from "../helpers/cli";
import { xrdpPool } from "../helpers/xrdp-pool";

/**
 * The start-up path of the quick commands (issue 21): the bin is one bundled
 * file (scripts/bundle.ts), and `probe` and `status` load only what they use.
 * What a run loaded is read from inside it (require.cache and Node's
 * moduleLoadList, written at exit by a preloaded script), not timed: the
 * timings are `npm run bench` (probe-cli, status-cli).
 */
/** Read for --version: the only other file of ours a run loads. */
const PACKAGE_JSON = join(CLI, "..", "..", "..", "..", "package.json");
const NOT_ON_THE_QUICK_PATH = ["child_process", "worker_threads", "perf_hooks", "dns"];

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

  it("probe of a real listener: one rdpcert module (the bundle) and package.json, no library outside it, none of child_process, worker_threads, perf_hooks, dns", async () => {
    const server = await start(certValid(-1, 179, "startup-probe"));
    const run = await loaded(["probe", `127.0.0.1:${server.port}`, "--json"]);
    expect(run.code).toBe(0);
    expect(run.files).toEqual([CLI, PACKAGE_JSON]);
    expect(run.builtins.filter((m) => NOT_ON_THE_QUICK_PATH.includes(m))).toEqual([]);
    // The floor's own work: the probe did reach TLS.
    expect(run.builtins).toEqual(expect.arrayContaining(["tls", "net"]));
  });

  it("status of a real xrdp whose runtime user is local: the bundle and package.json only, nothing spawned (no child_process)", async () => {
    const server = await start(certValid(-1, 179, "startup-status"));
    const run = await loaded(["status", "--json", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "rdpcert-state")]);
    expect(run.code).toBe(0);
    expect(run.files).toEqual([CLI, PACKAGE_JSON]);
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
