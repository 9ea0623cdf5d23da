/**
 * The documentation: the command pages' generated reference matches the
 * commander definitions (scripts/gen-docs.ts, run built from dist/ like the
 * CLI), every relative link in README.md and docs/ resolves, every section of
 * the long README that was split into docs/ has a home, and the README stays
 * a front door.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = join(__dirname, "..", "..");
const GEN = join(ROOT, "dist", "scripts", "gen-docs.js");
const COMMANDS = join(ROOT, "docs", "commands");

const genDocs = (args: readonly string[]): { code: number | null; stdout: string; stderr: string } => {
  const run = spawnSync(process.execPath, [GEN, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
};

/** Every .md file under dir. */
function markdown(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? markdown(path) : name.endsWith(".md") ? [path] : [];
  });
}

/** The lines of a page outside fenced code blocks. */
function prose(text: string): string[] {
  let fenced = false;
  return text.split("\n").filter((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

const headings = (text: string): string[] => prose(text).flatMap((line) => (/^#{1,6} /.test(line) ? [line.replace(/^#+ /, "").trim()] : []));

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen; repeats get -1, -2... */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const heading of headings(text)) {
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

const pages = [join(ROOT, "README.md"), ...markdown(join(ROOT, "docs"))];

describe("docs/commands: generated from the commander definitions", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "rdpcert-docs-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is up to date (npm run docs writes what the commands define)", () => {
    const run = genDocs(["--check"]);
    expect([run.code, run.stderr]).toEqual([0, ""]);
  });

  it("has a page for every command the program registers, each with its examples and exit codes", () => {
    const help = spawnSync(process.execPath, [join(ROOT, "dist", "src", "cli", "main.js"), "--help"], { encoding: "utf8" }).stdout;
    const listed = [...(help.split("\nCommands:\n")[1] ?? "").split("\n\n")[0]!.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)]
      .map((m) => m[1]!)
      .filter((name) => name !== "help");
    expect(listed.length).toBeGreaterThanOrEqual(11);
    for (const name of listed) {
      const page = readFileSync(join(COMMANDS, `${name}.md`), "utf8");
      expect([name, page.includes(`rdpcert ${name} [options]`), /\nExamples:\n {2}(sudo )?rdpcert /.test(page), /\nExit codes/.test(page)]).toEqual([
        name,
        true,
        true,
        true,
      ]);
    }
  });

  it("--check fails on a stale generated part and names the page; prose outside the markers is the author's", () => {
    cpSync(COMMANDS, dir, { recursive: true });
    const probe = join(dir, "probe.md");
    const original = readFileSync(probe, "utf8");
    // Prose above the generated part is not checked, and a rewrite keeps it.
    writeFileSync(probe, original.replace("Connects to each listener like an RDP client", "Connects to each listener, as an RDP client would,"));
    expect(genDocs(["--check", "--out", dir]).code).toBe(0);
    // A stale option row is.
    writeFileSync(probe, readFileSync(probe, "utf8").replace("how many listeners to probe at once", "how many listeners to probe"));
    const stale = genDocs(["--check", "--out", dir]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/out of date \(probe\.md\): run 'npm run docs'/);
    // Writing repairs the generated part and keeps the edited prose.
    expect(genDocs(["--out", dir]).code).toBe(0);
    const repaired = readFileSync(probe, "utf8");
    expect(repaired).toContain("how many listeners to probe at once");
    expect(repaired).toContain("Connects to each listener, as an RDP client would,");
    expect(genDocs(["--check", "--out", dir]).code).toBe(0);
  });

  it("creates a missing page with its title and reference", () => {
    rmSync(join(dir, "task.md"), { force: true });
    expect(genDocs(["--check", "--out", dir]).stderr).toMatch(/task\.md/);
    expect(genDocs(["--out", dir]).code).toBe(0);
    const page = readFileSync(join(dir, "task.md"), "utf8");
    expect(page.startsWith("# `rdpcert task`\n")).toBe(true);
    expect(page).toContain("### `rdpcert task install`");
  });
});

describe("rdpcert help [COMMAND...|TOPIC]", () => {
  const CLI = join(ROOT, "dist", "src", "cli", "main.js");
  const cli = (args: readonly string[]): { code: number | null; stdout: string; stderr: string } => {
    const run = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 60_000 });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  };

  it("a command's help is the command's --help, subcommands included", () => {
    for (const words of [["probe"], ["backups", "restore"], ["help"]]) {
      const viaHelp = cli(["help", ...words]);
      expect([words, viaHelp.code, viaHelp.stdout]).toEqual([words, 0, cli([...words, "--help"]).stdout]);
    }
  });

  it("a topic prints its docs page exactly; 'topics' lists every page but the index", () => {
    const trust = cli(["help", "trust"]);
    expect([trust.code, trust.stdout]).toEqual([0, readFileSync(join(ROOT, "docs", "trust.md"), "utf8")]);
    const topics = cli(["help", "topics"]);
    const pagesThere = readdirSync(join(ROOT, "docs"))
      .filter((n) => n.endsWith(".md") && n !== "README.md")
      .map((n) => n.slice(0, -3))
      .sort();
    expect([topics.code, topics.stdout.trim().split("\n")]).toEqual([0, pagesThere]);
    expect(pagesThere).toEqual(expect.arrayContaining(["trust", "config", "exit-codes", "json-schemas", "windows", "xrdp"]));
  });

  it("a name that is neither a command nor a page is one line, exit 3, listing the pages; never a path", () => {
    for (const words of [["nope"], ["../README"], ["trust.md"], ["probe", "nope"]]) {
      const run = cli(["help", ...words]);
      expect([words, run.code, run.stdout]).toEqual([words, 3, ""]);
      expect(run.stderr).toMatch(/^rdpcert: no command or reference page by that name: try 'rdpcert --help', or one of .*\btrust\b/);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});

describe("links in README.md and docs/", () => {
  /**
   * Pages other branches of the same change add (the other Linux servers, client trust):
   * linked from the README already. Checked like any other link once they exist.
   */
  it("every relative link points to an existing file, and every #anchor to a heading there", () => {
    const broken: string[] = [];
    let checked = 0;
    for (const page of pages) {
      const text = readFileSync(page, "utf8");
      for (const line of prose(text)) {
        for (const match of line.matchAll(/\]\(([^)\s]+)\)/g)) {
          const link = match[1]!;
          if (/^[a-z]+:/i.test(link)) continue;
          checked++;
          const [path, anchor] = link.split("#") as [string, string | undefined];
          const target = path === "" ? page : resolve(dirname(page), path);
          const name = `${relative(ROOT, page)}: ${link}`;
          if (!existsSync(target)) {
            broken.push(`${name} (no such file)`);
            continue;
          }
          if (anchor !== undefined && !anchors(readFileSync(target, "utf8")).has(anchor)) broken.push(`${name} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(40);
  });

  it("the anchor rule is GitHub's (so a broken anchor would be seen)", () => {
    expect([...anchors("# The key behind Windows' own certificate (the 0x904 / 0x7 case)\n## Logs\n## Logs\n```\n# not a heading\n```\n")]).toEqual([
      "the-key-behind-windows-own-certificate-the-0x904--0x7-case",
      "logs",
      "logs-1",
    ]);
  });
});

describe("README.md is the front door; the reference it held lives in docs/", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");

  it("is at most 400 lines, with the two commands and the plain statement about Windows", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(400);
    expect(readme).toContain("npm install && npm run demo");
    expect(readme).toContain("npm install && npm test");
    expect(readme).toContain("## What has not run on a real Windows host");
  });

  /** Each section of the README as it was before the split (1,743 lines), and the page that holds it now. */
  const homes: ReadonlyArray<readonly [string, string]> = [
    ["Quick start (Debian with Node 20)", "README.md"],
    ["Command reference", "docs/commands/README.md"],
    ["`rdpcert probe`", "docs/commands/probe.md"],
    ["`rdpcert status`", "docs/commands/status.md"],
    ["`rdpcert rotate`", "docs/commands/rotate.md"],
    ["`rdpcert deploy`", "docs/commands/deploy.md"],
    ["Recipes", "docs/commands/deploy.md"],
    ["`rdpcert backups`", "docs/commands/backups.md"],
    ["The state dir's trust rules", "docs/trust.md"],
    ["`rdpcert doctor`", "docs/commands/doctor.md"],
    ["`rdpcert run`", "docs/commands/run.md"],
    ["`rdpcert schedule`", "docs/commands/schedule.md"],
    ["`rdpcert task`", "docs/commands/task.md"],
    ["Configuration", "docs/config.md"],
    ["Monitoring with Prometheus: `rdpcert exporter`, textfile metrics, `contrib/prometheus/`", "docs/monitoring.md"],
    ["`rdpcert exporter`", "docs/monitoring.md"],
    ["Host metrics from `run`: `--textfile-dir DIR` / `textfileDir`", "docs/monitoring.md"],
    ["`contrib/prometheus/` (shipped in the npm package)", "docs/monitoring.md"],
    ["Fleets: Prometheus to watch; Ansible, Intune or Group Policy to act", "docs/fleets.md"],
    ["Logs", "docs/logs.md"],
    ["Exit codes", "docs/exit-codes.md"],
    ["JSON output", "docs/json-schemas.md"],
    ["`rdpcert.probe/v1` (`rdpcert probe --json`)", "docs/json-schemas.md"],
    ["`rdpcert.status/v1` (`rdpcert status --json`)", "docs/json-schemas.md"],
    ["`rdpcert.rotate/v1` (`rdpcert rotate --json`)", "docs/json-schemas.md"],
    ["`rdpcert.deploy/v1` (`rdpcert deploy --json`)", "docs/json-schemas.md"],
    ["`rdpcert.run/v1` (`rdpcert run --json`)", "docs/json-schemas.md"],
    ["What is verified, and where", "docs/verification.md"],
    ["The key behind Windows' own certificate (the 0x904 / 0x7 case)", "docs/windows.md"],
    ["Windows: what is not verified on a real host", "docs/windows.md"],
    ["How the Windows backend inspects a host", "docs/windows.md"],
    ["How the xrdp backend inspects a host", "docs/xrdp.md"],
    ["Architecture", "docs/architecture.md"],
    ["Development", "docs/contributing.md"],
    ["How to add a command", "docs/contributing.md"],
    ["How to add a server backend", "docs/contributing.md"],
    ["Benchmarks", "docs/benchmarks.md"],
  ];

  it.each(homes)("%s is a heading of %s, and the README links there", (heading, file) => {
    expect(headings(readFileSync(join(ROOT, file), "utf8"))).toContain(heading);
    if (file !== "README.md") expect(readme.includes(`](${file}`) || readme.includes(`](${dirname(file)}/`)).toBe(true);
  });

  it("the tables moved with their sections (row counts of the old README's main tables)", () => {
    const rows = (file: string, header: string): number => {
      const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
      const start = lines.indexOf(header);
      expect([file, header, start >= 0]).toEqual([file, header, true]);
      let n = 0;
      for (let i = start + 2; i < lines.length && lines[i]!.startsWith("|"); i++) n++;
      return n;
    };
    expect(rows("docs/commands/status.md", "| verdict | health | when |")).toBe(9);
    // Later pages may add rows (new servers, new features); none of the 14 moved ones may be lost.
    expect(rows("docs/verification.md", "| part | verified how |")).toBeGreaterThanOrEqual(14);
    expect(rows("docs/benchmarks.md", "| name | measures | baseline, target |")).toBe(8);
    expect(rows("docs/fleets.md", "| job | engine | what runs where |")).toBe(5);
  });
});
