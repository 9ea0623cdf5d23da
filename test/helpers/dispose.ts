import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * What an e2e test file makes and must take away again: servers, processes, temp dirs, users.
 * Each thing is registered as it is made (so a set-up that fails half way still disposes what
 * it made), and `dispose()` undoes them last made first, every one even when one fails; the
 * first failure is thrown after all have run.
 */
export interface Disposer {
  /** Registers `undo` to run at dispose (last registered first). */
  add(undo: () => unknown): void;
  /** Stops `thing` at dispose; returns it. */
  keep<T extends { stop(): unknown } | { close(): unknown }>(thing: T): T;
  /** A fresh temp dir (mkdtemp under the OS temp dir), removed at dispose. */
  tempDir(prefix: string): string;
  /** `start`, with what it starts stopped at dispose. */
  starter<A extends unknown[], T extends { stop(): unknown }>(start: (...args: A) => Promise<T>): (...args: A) => Promise<T>;
  dispose(): Promise<void>;
}

export function disposer(): Disposer {
  const undos: (() => unknown)[] = [];
  const self: Disposer = {
    add: (undo) => {
      undos.push(undo);
    },
    keep: (thing) => {
      undos.push(() => ("stop" in thing ? thing.stop() : thing.close()));
      return thing;
    },
    tempDir: (prefix) => {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      undos.push(() => rmSync(dir, { recursive: true, force: true }));
      return dir;
    },
    starter:
      (start) =>
      async (...args) =>
        self.keep(await start(...args)),
    dispose: async () => {
      const failures: unknown[] = [];
      while (undos.length > 0) {
        try {
          await undos.pop()!();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw failures[0];
    },
  };
  return self;
}

/** A disposer for the enclosing describe (or file) whose `dispose()` runs in its afterAll. */
export function disposeAfterAll(): Disposer {
  const made = disposer();
  afterAll(() => made.dispose());
  return made;
}
