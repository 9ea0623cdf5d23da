import { resolve } from "node:path";

/**
 * The root of the compiled tree: dist/src in the package, src/ under ts-jest.
 * This module sits one directory below it, as does the bundled CLI
 * (dist/src/cli/main.js, scripts/bundle.ts), so `..` names that root whether
 * this code runs as its own file or inside the bundle. Files found beside the
 * code (the PowerShell scripts, the probe worker) are found from here.
 */
export const SOURCE_ROOT = resolve(__dirname, "..");
