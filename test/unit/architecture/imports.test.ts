import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * The architecture docs/architecture.md draws, checked on the source: no import
 * circles; the whole layer order (a module imports its own tier or lower
 * ones); no command module imports another. Type-only and lazy
 * (`await import(...)`) imports count like any other.
 */
const SRC = join(__dirname, "..", "..", "..", "src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
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

type Graph = Map<string, string[]>;

function cycles(of: Graph = graph): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, "open");
    stack.push(f);
    for (const next of of.get(f) ?? []) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next].map(rel));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(f, "done");
  };
  for (const f of of.keys()) if (!state.has(f)) visit(f);
  return found;
}

/**
 * docs/architecture.md's layer order, lowest 0: `cli ──► app ──► rotation, metrics ──►
 * hosts, probe, log, schedule ──► core`. A module may import its own layer,
 * any layer of its tier, and any lower tier; never a higher one.
 */
const TIER: Readonly<Record<string, number>> = { core: 0, hosts: 1, probe: 1, log: 1, schedule: 1, rotation: 2, metrics: 2, app: 3, cli: 4 };

/**
 * Upward imports that are known debt, each with the change that removes it.
 * The test fails when a new one appears and when a listed one is gone (then
 * delete it here, so the list never hides a new edge behind an old excuse).
 */
const KNOWN_UPWARD: readonly string[] = [];

function upward(of: Graph = graph): string[] {
  return [...of].flatMap(([f, deps]) => deps.filter((d) => (TIER[layer(d)] ?? 99) > (TIER[layer(f)] ?? -1)).map((d) => `${rel(f)} -> ${rel(d)}`));
}

/** No command module imports another; only the CLI imports the CLI, and only the CLI and the app the application layer. */
function crossCommand(of: Graph = graph): string[] {
  return [...of].flatMap(([f, deps]) =>
    deps
      .filter(
        (d) =>
          (rel(f).startsWith("cli/commands/") && rel(d).startsWith("cli/commands/")) ||
          (layer(d) === "cli" && layer(f) !== "cli") ||
          (layer(d) === "app" && !["app", "cli"].includes(layer(f))),
      )
      .map((d) => `${rel(f)} -> ${rel(d)}`),
  );
}

describe("the import graph of src/", () => {
  it("is read: every layer the README names has files, and imports resolve", () => {
    expect(new Set(files.map(layer))).toEqual(new Set(Object.keys(TIER)));
    expect(graph.get(join(SRC, "cli", "main.ts"))!.map(rel)).toContain("cli/commands/status.ts");
  });

  it("has no import circles", () => {
    expect(cycles()).toEqual([]);
  });

  it("follows the README's layer order: nothing imports a higher layer but the listed debt", () => {
    expect(upward().sort()).toEqual([...KNOWN_UPWARD].sort());
  });

  it("core imports nothing outside core; probe nothing but core and probe", () => {
    const out = [...graph].flatMap(([f, deps]) =>
      deps
        .filter((d) => (layer(f) === "core" && layer(d) !== "core") || (layer(f) === "probe" && !["core", "probe"].includes(layer(d))))
        .map((d) => `${rel(f)} -> ${rel(d)}`),
    );
    expect(out).toEqual([]);
  });

  it("no command module imports another; only the CLI imports the CLI, and only the CLI and the app the application layer", () => {
    expect(crossCommand()).toEqual([]);
  });

  it("commands parse, call the application layer and render: they wire no host module, logger or prober themselves", () => {
    const wiring = [...graph].flatMap(([f, deps]) =>
      rel(f).startsWith("cli/commands/")
        ? deps.filter((d) => ["hosts", "log", "probe", "rotation"].includes(layer(d))).map((d) => `${rel(f)} -> ${rel(d)}`)
        : [],
    );
    expect(wiring).toEqual([]);
  });

  it("the checks are real: run on a graph with planted edges, each finds its own", () => {
    const at = (p: string): string => join(SRC, p);
    const planted: Graph = new Map([
      [at("core/planted-a.ts"), [at("core/planted-b.ts")]],
      [at("core/planted-b.ts"), [at("core/planted-a.ts"), at("hosts/host-backend.ts")]],
      [at("hosts/host-backend.ts"), []],
      [at("probe/prober.ts"), [at("rotation/rotate.ts"), at("core/planted-a.ts")]],
      [at("rotation/rotate.ts"), [at("hosts/host-backend.ts"), at("metrics/textfile.ts")]],
      [at("metrics/textfile.ts"), [at("app/run.ts")]],
      [at("app/run.ts"), []],
      [at("cli/commands/run.ts"), [at("cli/commands/status.ts")]],
      [at("cli/commands/status.ts"), []],
    ]);
    expect(cycles(planted)).toEqual([["core/planted-a.ts", "core/planted-b.ts", "core/planted-a.ts"]]);
    expect(upward(planted).sort()).toEqual([
      "core/planted-b.ts -> hosts/host-backend.ts",
      "metrics/textfile.ts -> app/run.ts",
      "probe/prober.ts -> rotation/rotate.ts",
    ]);
    expect(crossCommand(planted).sort()).toEqual(["cli/commands/run.ts -> cli/commands/status.ts", "metrics/textfile.ts -> app/run.ts"]);
  });
});
