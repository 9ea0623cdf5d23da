import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A real, tiny tmpfs (tests run as root) for full and read-only disks: the
 * errors come from the kernel, not from a mock.
 */
export interface Tmpfs {
  readonly dir: string;
  /** Fill it until the kernel says ENOSPC. */
  fill(): void;
  readOnly(): void;
  unmount(): void;
}

export function mountTmpfs(sizeKiB = 64): Tmpfs {
  if (process.getuid?.() !== 0) throw new Error("this test mounts a tmpfs: run it as root");
  const dir = mkdtempSync(join(tmpdir(), "rdpcert-tmpfs-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeKiB}k,mode=0755`, "tmpfs", dir]);
  let mounted = true;
  return {
    dir,
    fill: () => {
      try {
        writeFileSync(join(dir, "filler"), Buffer.alloc(sizeKiB * 1024 * 2, 0x2e));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
        return;
      }
      throw new Error(`${dir} did not fill up`);
    },
    readOnly: () => execFileSync("mount", ["-o", "remount,ro", dir]),
    unmount: () => {
      if (mounted) execFileSync("umount", [dir]);
      mounted = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
