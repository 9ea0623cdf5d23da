import { existsSync, mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { SOURCE_ROOT } from "../install-root";
import { writeFileAtomic } from "./atomic-write";

/**
 * This rdpcert as the OS scheduler must run it: the node binary and the CLI
 * script by absolute path, resolved through links (an npm-installed
 * `/usr/local/bin/rdpcert` is a link into the package), at install time.
 */
export function installedCommand(): { readonly node: string; readonly cli: string } {
  return { node: process.execPath, cli: realpathSync(process.argv[1] ?? join(SOURCE_ROOT, "cli", "main.js")) };
}

/** Writes bytes as they are (the Task Scheduler XML is UTF-16 with a BOM). */
export function writeBytes(path: string, bytes: Uint8Array): void {
  writeFileSync(path, bytes);
}

/** `config init`: a new file (0644) unless one exists and `force` is not given; its directory is created. */
export function createTextFile(path: string, text: string, force: boolean): "written" | "exists" {
  if (existsSync(path) && !force) return "exists";
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  writeFileAtomic(path, text, { mode: 0o644 });
  return "written";
}

/** Whether a path exists (`config validate` says when the file is absent). */
export function pathExists(path: string): boolean {
  return existsSync(path);
}

/** Where the user ran rdpcert: a relative state dir handed to a task must be made absolute against it. */
export function workingDirectory(): string {
  return process.cwd();
}
