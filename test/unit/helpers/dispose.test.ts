import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { disposer } from "../../helpers/dispose";

describe("the e2e disposer", () => {
  it("undoes everything last made first: servers stopped, listeners closed, temp dirs removed", async () => {
    const made = disposer();
    const done: string[] = [];
    const dir = made.tempDir("rdpcert-dispose-test-");
    writeFileSync(join(dir, "file"), "x");
    made.add(() => done.push("first"));
    const start = made.starter(async (name: string) => ({ name, stop: async () => void done.push(`stop ${name}`) }));
    expect((await start("a")).name).toBe("a");
    made.keep({ close: () => done.push("close") });
    await start("b");
    expect(existsSync(dir)).toBe(true);
    await made.dispose();
    expect(done).toEqual(["stop b", "close", "stop a", "first"]);
    expect(existsSync(dir)).toBe(false);
  });

  it("a failing undo does not stop the others; the first failure is thrown after all have run", async () => {
    const made = disposer();
    const done: string[] = [];
    made.add(() => done.push("last"));
    made.add(() => {
      throw new Error("fails later");
    });
    made.add(async () => {
      throw new Error("fails first");
    });
    made.add(() => done.push("before"));
    await expect(made.dispose()).rejects.toThrow("fails first");
    expect(done).toEqual(["before", "last"]);
    // Disposed once: a second dispose has nothing left to undo.
    await made.dispose();
    expect(done).toEqual(["before", "last"]);
  });
});
