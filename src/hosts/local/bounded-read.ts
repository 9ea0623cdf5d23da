import { closeSync, constants, createReadStream, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";
import type { Readable } from "node:stream";

/** What a file is read as; each kind has its own size cap. */
export type ReadKind = "certificate" | "key" | "ini" | "config" | "targets";

const MiB = 1024 * 1024;

/** Far above any real file of the kind, far below what would hurt a host (an unbounded read of `/dev/zero` took 4.7 GB). */
export const READ_LIMITS: Readonly<Record<ReadKind, number>> = {
  certificate: MiB,
  key: MiB,
  ini: MiB,
  config: MiB,
  targets: 16 * MiB,
};

const KIND_NAMES: Readonly<Record<ReadKind, string>> = {
  certificate: "a certificate file",
  key: "a private key file",
  ini: "a configuration file",
  config: "a configuration file",
  targets: "a targets file",
};

/**
 * Refused before a byte is read: not a regular file, or over the cap. The
 * message is a phrase about the file without its name or content ("is a FIFO,
 * not a regular file"), so callers prefix the path they already name; `code`
 * is left unset so errno-based callers fall back to the message.
 */
export class BoundedReadError extends Error {
  override name = "BoundedReadError";
}

function fileType(stats: Stats): string {
  if (stats.isFIFO()) return "a FIFO";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  if (stats.isDirectory()) return "a directory";
  if (stats.isSocket()) return "a socket";
  return "not a regular file";
}

const sizeText = (bytes: number): string => (bytes >= MiB ? `${Math.round((bytes / MiB) * 10) / 10} MiB` : `${bytes} bytes`);

/**
 * Reads a regular file of at most READ_LIMITS[kind] bytes. Opened with
 * O_NONBLOCK, so a FIFO never blocks the open, then checked with fstat on the
 * open descriptor (no race with a rename): FIFOs, devices, sockets and
 * directories are refused with a BoundedReadError. errno failures of the open
 * (ENOENT, EACCES, ...) are thrown unchanged.
 */
export function readBounded(path: string, kind: ReadKind): Buffer {
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0));
  try {
    return readBoundedFd(fd, fstatSync(fd), kind);
  } finally {
    closeSync(fd);
  }
}

/** readBounded's checks and read on a descriptor the caller opened (and judged by `stats`, its fstat). */
export function readBoundedFd(fd: number, stats: Stats, kind: ReadKind): Buffer {
  const limit = READ_LIMITS[kind];
  if (!stats.isFile()) {
    const from = kind === "targets" ? "from a regular file, a pipe (FIFO) or standard input (-)" : "only from a regular file";
    throw new BoundedReadError(`is ${fileType(stats)}, not a regular file (rdpcert reads ${KIND_NAMES[kind]} ${from})`);
  }
  if (stats.size > limit) throw new BoundedReadError(`is ${stats.size} bytes, more than the ${sizeText(limit)} ${KIND_NAMES[kind]} may have`);
  // The file may grow while we read: read at most one byte past the cap to tell.
  const chunks: Buffer[] = [];
  let length = 0;
  while (length <= limit) {
    const chunk = Buffer.alloc(Math.min(limit + 1 - length, Math.max(stats.size + 1 - length, 64 * 1024)));
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    length += n;
  }
  if (length > limit) throw new BoundedReadError(`grew past the ${sizeText(limit)} ${KIND_NAMES[kind]} may have while it was read`);
  return Buffer.concat(chunks, length);
}

export function readBoundedText(path: string, kind: ReadKind, encoding: BufferEncoding = "utf8"): string {
  return readBounded(path, kind).toString(encoding);
}

/**
 * A list that may come through a pipe (`probe --targets -`, `--targets /dev/stdin`, a FIFO;
 * the trust rules): standard input or a FIFO is read to its end as a stream, at most
 * READ_LIMITS[kind] bytes (more is refused, and reading stops there); anything else is
 * read by readBounded (a regular file only). `/dev/stdin` is read through the process's
 * own standard input, which may be a socket that cannot be opened by name.
 */
export async function readBoundedInput(path: string, kind: ReadKind): Promise<Buffer> {
  const limit = READ_LIMITS[kind];
  let stream: Readable;
  if (path === "-" || isStandardInput(path)) stream = process.stdin;
  else {
    let stats: Stats;
    try {
      stats = statSync(path);
    } catch {
      return readBounded(path, kind);
    }
    if (!stats.isFIFO()) return readBounded(path, kind);
    stream = createReadStream(path);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      length += buffer.length;
      if (length > limit) throw new BoundedReadError(`sent more than the ${sizeText(limit)} ${KIND_NAMES[kind]} may have`);
      chunks.push(buffer);
    }
  } finally {
    if (stream !== process.stdin) stream.destroy();
    else process.stdin.pause();
  }
  return Buffer.concat(chunks, length);
}

function isStandardInput(path: string): boolean {
  try {
    const named = statSync(path);
    const stdin = fstatSync(0);
    return named.dev === stdin.dev && named.ino === stdin.ino && !named.isFile() && !named.isCharacterDevice();
  } catch {
    return false;
  }
}
