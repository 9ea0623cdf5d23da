/**
 * `npm run build`, after tsc: the CLI as one file. esbuild bundles
 * src/cli/main.ts with its own modules and commander into
 * dist/src/cli/rdpcert.js, wrapped as one function expression with
 * CommonJS's parameters, and V8 compiles that text once here into
 * rdpcert.cache; the package's bin, dist/src/cli/main.js, is the small
 * launcher (scripts/launcher.ts) that runs the bundle with that cache. tsc's
 * per-module output stays beside it for the probe worker and the scripts. A
 * command run then reads one file instead of ~60 and deserialises it instead
 * of parsing it: the start-up the `probe-cli` and `status-cli` benchmarks
 * measure. The heavy libraries stay outside and load, as before, only in the
 * commands that use them.
 */
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Script } from "node:vm";
import { type CommandMain, train } from "./bundle-training";

const root = join(__dirname, "..", "..");

/** Loaded only by the commands that need them (lazy require in src): outside the bundle, so no command parses them for nothing. */
export const EXTERNAL = ["node-forge", "pkijs", "zod", "winston", "winston-transport", "node-cron", "prom-client", "../../../package.json"];

/**
 * commander requires node:child_process at load for executable subcommands,
 * which rdpcert does not use; loading it cost every command a few ms. In the
 * bundle it is required on first use instead. The build fails if commander's
 * source no longer has the line, rather than bundling it unpatched unnoticed.
 */
const COMMANDER_CHILD_PROCESS = "const childProcess = require('node:child_process');";
const LAZY_CHILD_PROCESS = "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };";

const CLI_DIR = join(root, "dist", "src", "cli");

/** The CommonJS module wrapper, as Node's own; scripts/launcher.ts calls the function with the bin's module. */
const WRAP_HEAD = "(function (exports, require, module, __filename, __dirname) {";
const WRAP_TAIL = "\n})";

export async function bundle(): Promise<void> {
  const result = await build({
    entryPoints: [join(root, "src", "cli", "main.ts")],
    outfile: join(CLI_DIR, "rdpcert.js"),
    write: false,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    external: EXTERNAL,
    // --version without reading package.json at every start (src/cli/main.ts versionText).
    define: { RDPCERT_BUNDLED_VERSION: JSON.stringify((JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version) },
    // Less to read and parse at every start; identifiers stay, so a --debug stack trace still names functions.
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: "warning",
    plugins: [
      {
        name: "commander-lazy-child-process",
        setup(b) {
          b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
            const source = readFileSync(args.path, "utf8");
            if (!source.includes(COMMANDER_CHILD_PROCESS)) throw new Error(`${args.path} no longer has "${COMMANDER_CHILD_PROCESS}": review scripts/bundle.ts`);
            return { contents: source.replace(COMMANDER_CHILD_PROCESS, LAZY_CHILD_PROCESS), loader: "js" };
          });
        },
      },
    ],
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error("esbuild wrote no output");
  const text = output.text.replace(/^#!.*\n/, "");
  // esbuild escapes non-ASCII (charset "ascii"); the launcher reads the file as latin1, exact only for ASCII.
  if (/[\u0080-\uffff]/.test(text)) throw new Error("the bundle is not ASCII: review scripts/bundle.ts");
  const wrapped = `${WRAP_HEAD}${text}${WRAP_TAIL}`;
  const bundleFile = join(CLI_DIR, "rdpcert.js");
  writeFileSync(bundleFile, wrapped);
  writeFileSync(join(CLI_DIR, "rdpcert.cache"), await trainedCache(wrapped, bundleFile));
  writeFileSync(join(CLI_DIR, "main.js"), `#!/usr/bin/env node\n${readFileSync(join(root, "dist", "scripts", "launcher.js"), "utf8")}`, { mode: 0o755 });
}

/**
 * V8's code cache of the bundle's exact text, made after a training run of
 * the quick commands (scripts/bundle-training.ts) so that it holds the
 * functions they call, compiled; untrained when the training fails.
 */
async function trainedCache(text: string, filename: string): Promise<Buffer> {
  const script = new Script(text, { filename });
  try {
    const bundled = { exports: {} as { main?: CommandMain } };
    const body = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: typeof bundled, f: string, d: string) => void;
    // The bundle's own `require("../../../package.json")` resolves from its directory, as in the launcher.
    body(bundled.exports, createRequire(filename), bundled, filename, CLI_DIR);
    if (typeof bundled.exports.main !== "function") throw new Error("the bundle exports no main");
    await train(bundled.exports.main);
  } catch (error) {
    process.stderr.write(`bundle: the code cache is untrained (${(error as Error).message}); the CLI works, its start-up is slower\n`);
  }
  return script.createCachedData();
}

if (require.main === module) {
  bundle().catch((error: Error) => {
    process.stderr.write(`bundle: ${error.message}\n`);
    process.exit(1);
  });
}
