/**
 * `npm run build`, after tsc: the CLI as one file. esbuild bundles
 * src/cli/main.ts with its own modules and commander into dist/src/cli/main.js
 * (the package's bin; tsc's per-module output stays beside it for the probe
 * worker and the scripts). A command run then resolves and reads one file
 * instead of ~60: the start-up the `probe-cli` and `status-cli` benchmarks
 * measure. The heavy libraries stay outside and load, as before, only in the
 * commands that use them.
 */
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { join } from "node:path";

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

export async function bundle(): Promise<void> {
  await build({
    entryPoints: [join(root, "src", "cli", "main.ts")],
    outfile: join(root, "dist", "src", "cli", "main.js"),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    external: EXTERNAL,
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
}

if (require.main === module) {
  bundle().catch((error: Error) => {
    process.stderr.write(`bundle: ${error.message}\n`);
    process.exit(1);
  });
}
