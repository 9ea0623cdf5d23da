/**
 * tsc compiles only TypeScript; the Windows backend's PowerShell scripts live
 * next to the module that runs them and are copied beside its compiled output,
 * so `__dirname/scripts/<name>.ps1` resolves the same in ts-jest and in dist.
 */
import { cpSync, existsSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "..", "..");
const from = join(root, "src", "hosts", "windows", "scripts");
const to = join(root, "dist", "src", "hosts", "windows", "scripts");
if (existsSync(from)) cpSync(from, to, { recursive: true, filter: (path) => !path.endsWith(".ts") });
