import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * The architecture the README draws, checked on the source (issue 15): no
 * import circles; core and probe import nothing from the layers above them;
 * no command module imports another; core and probe import no host, CLI,
 * application, rotation, schedule or log module. Type-only and lazy
 * (`await import(...)`) imports count like any other.
 */
const SRC = join(__dirname, "..", "..", "..", "src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** Every relative module a file imports, statically, as a type, or lazily; resolved to a .ts path under src. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]!);
  return specs.flatMap((spec) => {
    const base = resolve(dirname(file), spec);
    for (const candidate of [`${base}.ts`, join(base, "index.ts")]) {
      try {
        readFileSync(candidate);
        return [candidate];
      } catch {
        // not this one
      }
    }
    return [];
  });
}

const files = sources(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const rel = (f: string): string => relative(SRC, f);
const layer = (f: string): string => rel(f).split("/")[0]!;

function cycles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, "open");
    stack.push(f);
    for (const next of graph.get(f) ?? []) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next].map(rel));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(f, "done");
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return found;
}

describe("the import graph of src/", () => {
  it("is read: every layer the README names has files, and imports resolve", () => {
    expect(new Set(files.map(layer))).toEqual(new Set(["app", "cli", "core", "hosts", "log", "metrics", "probe", "rotation", "schedule"]));
    expect(graph.get(join(SRC, "cli", "main.ts"))!.map(rel)).toContain("cli/commands/status.ts");
  });

  it("has no import circles", () => {
    expect(cycles()).toEqual([]);
  });

  it("core imports nothing outside core; probe nothing but core and probe", () => {
    const upward = [...graph].flatMap(([f, deps]) =>
      deps.filter((d) => (layer(f) === "core" && layer(d) !== "core") || (layer(f) === "probe" && !["core", "probe"].includes(layer(d)))).map((d) => `${rel(f)} -> ${rel(d)}`),
    );
    expect(upward).toEqual([]);
  });

  it("no command module imports another; only the CLI imports the CLI, and only the CLI and the app the application layer", () => {
    const bad = [...graph].flatMap(([f, deps]) =>
      deps
        .filter((d) => (rel(f).startsWith("cli/commands/") && rel(d).startsWith("cli/commands/")) || (layer(d) === "cli" && layer(f) !== "cli") || (layer(d) === "app" && !["app", "cli"].includes(layer(f))))
        .map((d) => `${rel(f)} -> ${rel(d)}`),
    );
    expect(bad).toEqual([]);
  });

  it("the check is real: a planted circle and an upward import are found", () => {
    const a = join(SRC, "core", "planted-a.ts");
    const b = join(SRC, "core", "planted-b.ts");
    graph.set(a, [b]);
    graph.set(b, [a, join(SRC, "hosts", "host-backend.ts")]);
    files.push(a, b);
    try {
      expect(cycles()).toContainEqual(["core/planted-a.ts", "core/planted-b.ts", "core/planted-a.ts"]);
      expect([...graph].some(([f, deps]) => layer(f) === "core" && deps.some((d) => layer(d) === "hosts"))).toBe(true);
    } finally {
      graph.delete(a);
      graph.delete(b);
      files.splice(files.indexOf(a), 2);
    }
  });
});
