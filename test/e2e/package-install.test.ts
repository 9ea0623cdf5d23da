import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rdpcert } from "../helpers/cli";

/**
 * What a package manager would accept: `npm pack` gives a tarball
 * that installs with `npm install -g` into a fresh prefix and puts `rdpcert`,
 * with its PowerShell scripts, on that prefix's PATH; `task install` names
 * the installed binary and node by absolute path; without a running systemd
 * it writes nothing.
 */
const ROOT = join(__dirname, "..", "..");

describe("the npm package", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "rdpcert-pack-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("packs, installs into a temporary prefix, runs from there, and task install --print names that installed binary", () => {
    const packed = JSON.parse(
      execFileSync("npm", ["pack", "--json", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }),
    ) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(["dist/src/cli/main.js", "dist/src/hosts/windows/scripts/inspect.ps1", "package.json", "README.md"]));
    expect(files.some((f) => f.startsWith("test/") || f.startsWith("src/core/"))).toBe(false);
    // contrib/prometheus ships: docs/monitoring.md points users at it.
    expect(files).toEqual(
      expect.arrayContaining([
        "contrib/prometheus/prometheus.example.yml",
        "contrib/prometheus/rules.yml",
        "contrib/prometheus/rules.test.yml",
        "contrib/prometheus/grafana-dashboard.json",
        "contrib/prometheus/targets/rdp-listeners.example.yml",
      ]),
    );

    const prefix = join(dir, "prefix");
    execFileSync("npm", ["install", "-g", "--no-audit", "--no-fund", "--prefix", prefix, join(dir, packed[0]!.filename)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const bin = join(prefix, "bin", "rdpcert");
    const version = spawnSync(bin, ["--version"], { encoding: "utf8" });
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version);
    const installed = realpathSync(bin);
    expect(installed).toBe(join(prefix, "lib", "node_modules", "rdpcert", "dist", "src", "cli", "main.js"));
    expect(existsSync(join(prefix, "lib", "node_modules", "rdpcert", "dist", "src", "hosts", "windows", "scripts", "restart.ps1"))).toBe(true);
    // The docs ship, so the README's links resolve in the package and `rdpcert help TOPIC` finds its pages.
    expect(files).toEqual(expect.arrayContaining(["docs/README.md", "docs/trust.md", "docs/commands/probe.md"]));
    const trust = spawnSync(bin, ["help", "trust"], { encoding: "utf8" });
    expect([trust.status, trust.stdout]).toEqual([0, readFileSync(join(ROOT, "docs", "trust.md"), "utf8")]);

    const config = join(dir, "config.json");
    writeFileSync(config, "{}");
    const print = spawnSync(bin, ["task", "install", "--print", "--config", config], { encoding: "utf8" });
    expect(print.status).toBe(0);
    expect(print.stdout).toContain(`ExecStart=${process.execPath} ${installed} run --config ${config}\n`);
  });

  it("npm pack in a clone that was never built builds first (prepack) and ships dist/ and the LICENSE (issue 23)", () => {
    const clone = join(dir, "unbuilt");
    mkdirSync(clone);
    for (const entry of ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "src", "scripts", "README.md", "LICENSE"])
      cpSync(join(ROOT, entry), join(clone, entry), { recursive: true });
    symlinkSync(join(ROOT, "node_modules"), join(clone, "node_modules"));
    expect(existsSync(join(clone, "dist"))).toBe(false);
    const packed = JSON.parse(
      execFileSync("npm", ["pack", "--json", "--pack-destination", clone], { cwd: clone, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }),
    ) as { files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(["dist/src/cli/main.js", "dist/src/hosts/windows/scripts/inspect.ps1", "LICENSE"]));
    expect(readFileSync(join(ROOT, "LICENSE"), "utf8")).toMatch(/^MIT License/);
    expect(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).license).toBe("MIT");
  });

  it("task install without a running systemd fails with one line before writing anything", async () => {
    if (existsSync("/run/systemd/system")) throw new Error("this test needs a host where systemd is not PID 1 (a container)");
    const units = mkdtempSync(join(tmpdir(), "rdpcert-units-"));
    try {
      const config = join(units, "..", `${units.split("/").pop()}-config.json`);
      writeFileSync(config, "{}");
      const run = await rdpcert(["task", "install", "--config", config, "--unit-dir", units]);
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split("\n")).toEqual([
        expect.stringContaining("systemd is not running on this host (no /run/systemd/system), so nothing was written"),
      ]);
      expect(readdirSync(units)).toEqual([]);
      const show = await rdpcert(["task", "show", "--config", config, "--unit-dir", units]);
      expect([show.code, show.stdout]).toEqual([1, `rdpcert.timer is not installed in ${units}\n`]);
      rmSync(config, { force: true });
    } finally {
      rmSync(units, { recursive: true, force: true });
    }
  });
});
