/**
 * The bin, dist/src/cli/main.js: scripts/bundle.ts writes it from this file's
 * compiled output. It runs the bundled CLI (rdpcert.js beside it, one
 * function expression with CommonJS's parameters) with the V8 code cache the
 * build made of that exact text (rdpcert.cache), so a run deserialises the
 * compiled program instead of parsing 600 kB: the largest single cost of a
 * quick command's start-up (`npm run bench`: probe-cli, status-cli).
 *
 * A cache this Node's V8 does not accept (another Node version, other V8
 * flags) is ignored by V8 and the text is compiled as without it. Both files
 * are written by the build, in the package's own directory: whoever can
 * change them can change the CLI itself.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Script } from "node:vm";

type CommonJsBody = (exports: unknown, require: NodeJS.Require, module: NodeJS.Module, filename: string, dirname: string) => void;

const bundle = join(__dirname, "rdpcert.js");
let cachedData: Buffer | undefined;
try {
  cachedData = readFileSync(join(__dirname, "rdpcert.cache"));
} catch {
  cachedData = undefined; // compiled from the text alone
}
// ASCII only (the build checks it), so latin1 is the exact text and the cheapest decode.
const body = new Script(readFileSync(bundle, "latin1"), { filename: bundle, cachedData }).runInThisContext() as CommonJsBody;
// This module stays the main module (the bundle's `require.main === module` holds, as when node runs it
// directly), and its own require resolves from the same directory (node:module's createRequire would load
// the ES module loader for nothing).
body(module.exports, require, module, bundle, __dirname);
