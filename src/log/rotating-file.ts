import { closeSync, constants, fstatSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";

/**
 * JSON lines appended synchronously to DIR/NAME, rotated by size: NAME is the
 * newest, NAME.1 the one before, up to NAME.(maxFiles-1). rdpcert writes a few
 * lines per run, so a synchronous append is cheap, and a line is on disk before
 * the next step of a rotation runs; winston's File transport was seen to stall
 * when a burst of lines crossed a rotation.
 */
export class RotatingFile {
  private size: number;
  private dirReady = false;

  /**
   * `onError` hears every failed write (a file where the directory should be,
   * a read-only or full disk, no permission): a log sink never throws into
   * the work it records. Later writes try again.
   */
  constructor(
    private readonly dir: string,
    private readonly name: string,
    private readonly maxBytes: number,
    private readonly maxFiles: number,
    private readonly onError: (error: NodeJS.ErrnoException) => void = () => undefined,
  ) {
    try {
      this.size = statSync(this.path(0)).size;
    } catch {
      this.size = 0;
    }
  }

  path(index: number): string {
    return join(this.dir, index === 0 ? this.name : `${this.name}.${index}`);
  }

  write(line: string): void {
    try {
      if (!this.dirReady) {
        mkdirSync(this.dir, { recursive: true, mode: 0o750 });
        this.dirReady = true;
      }
      const bytes = Buffer.byteLength(line) + 1;
      if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
      // Never through a link planted where the log goes (root would append to its target), nor into a FIFO or device.
      const fd = openSync(
        this.path(0),
        constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0),
        0o640,
      );
      try {
        if (!fstatSync(fd).isFile()) throw Object.assign(new Error(`${this.path(0)} is not a regular file`), { code: "ENOTREG" });
        writeSync(fd, `${line}\n`);
      } finally {
        closeSync(fd);
      }
      this.size += bytes;
    } catch (error) {
      this.onError(error as NodeJS.ErrnoException);
    }
  }

  private rotate(): void {
    rmSync(this.path(this.maxFiles - 1), { force: true });
    for (let i = this.maxFiles - 2; i >= 0; i--) {
      try {
        renameSync(this.path(i), this.path(i + 1));
      } catch {
        // A gap in the numbering (a file removed by hand) is fine.
      }
    }
    this.size = 0;
  }
}
