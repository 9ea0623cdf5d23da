import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";

/**
 * The OS is named in one place (docs/architecture.md, "Where OS differences live"):
 * src/core/platform.ts reads `process.platform` and holds Node's platform names;
 * src/hosts/local/host-os.ts holds the file-system and process behaviour per OS.
 * Everything else asks them.
 */
const SRC = join(__dirname, "..", "..", "..", "src");
const FACADE = ["core/platform.ts"];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** `process.platform` (also `process["platform"]`), os.platform(), and Node's platform names as quoted strings (not in a comment's `code`). */
const PLATFORM_TEST = /\bprocess\s*(?:\.\s*platform\b|\[\s*["'`]platform["'`]\s*\])|\bplatform\s*\(\s*\)|(["'])(?:win32|linux|darwin|freebsd)\1/g;

/** "file:line: text" for every platform test outside the facade. */
function platformTests(files: ReadonlyMap<string, string>): string[] {
  return [...files].flatMap(([path, text]) =>
    FACADE.includes(path) ? [] : text.split("\n").flatMap((line, i) => (line.match(PLATFORM_TEST) ? [`${path}:${i + 1}: ${line.trim()}`] : [])),
  );
}

describe("the platform facade", () => {
  const files = new Map(sources(SRC).map((f) => [relative(SRC, f), readFileSync(f, "utf8")]));

  it("is read: the facade is there, and it is where process.platform is read", () => {
    expect(files.get("core/platform.ts")).toMatch(/process\.platform/);
    expect(files.has("hosts/local/host-os.ts")).toBe(true);
  });

  it("nothing outside it reads process.platform or compares Node's platform names", () => {
    expect(platformTests(files)).toEqual([]);
  });

  it("the check is real: it finds each form planted outside the facade, and none in the facade", () => {
    const planted = new Map([
      ["core/platform.ts", 'return process.platform === "win32";'],
      ["hosts/a.ts", 'const groups = process.platform !== "win32";'],
      ["hosts/b.ts", "const p = process['platform'];"],
      ["app/c.ts", "import { platform } from 'node:os';\nif (platform() === `linux`) run();"],
      ["schedule/e.ts", "// `win32` in a comment's code is prose\nif (ctx.platform === 'linux') readProc();"],
      ["cli/d.ts", "const ok = options.platform ?? currentPlatform(); // not a test of the OS"],
    ]);
    expect(platformTests(planted)).toEqual([
      'hosts/a.ts:1: const groups = process.platform !== "win32";',
      "hosts/b.ts:1: const p = process['platform'];",
      "app/c.ts:2: if (platform() === `linux`) run();",
      "schedule/e.ts:2: if (ctx.platform === 'linux') readProc();",
    ]);
  });
});
