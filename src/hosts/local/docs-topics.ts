import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * The reference pages shipped with rdpcert (`docs/*.md`, in the repository and
 * in the npm package), for `rdpcert help TOPIC`: the `docs` folder beside the
 * first package.json above this module, found the same way from src/ (tests)
 * and from dist/src/ (the built CLI). null when the pages are not there.
 */
export function docsDir(from: string = __dirname): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return existsSync(join(dir, "docs", "README.md")) ? join(dir, "docs") : null;
    if (dirname(dir) === dir) return null;
  }
}

/** The topics: `docs/<topic>.md`, the index (README.md) left out, sorted. */
export function docsTopics(dir: string | null = docsDir()): string[] {
  if (dir === null) return [];
  return readdirSync(dir)
    .filter((name) => /^[a-z0-9][a-z0-9-]*\.md$/.test(name) && name !== "README.md")
    .map((name) => name.slice(0, -".md".length))
    .sort();
}

/** The page of `topic`, or null when there is none. Only a listed name is read: a topic never names a path. */
export function readDocsTopic(topic: string, dir: string | null = docsDir()): string | null {
  if (dir === null || !docsTopics(dir).includes(topic)) return null;
  return readFileSync(join(dir, `${topic}.md`), "utf8");
}
