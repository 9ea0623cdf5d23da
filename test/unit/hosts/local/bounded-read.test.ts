import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BoundedReadError, READ_LIMITS, readBounded, readBoundedText } from "../../../../src/hosts/local/bounded-read";

/** Every read is bounded (a device or FIFO never exhausts memory); real FIFOs, devices and files, no mocks. */
describe("readBounded", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "rdpcert-bounded-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a regular file whole", () => {
    const path = join(dir, "cert.pem");
    writeFileSync(path, "-----BEGIN CERTIFICATE-----\n");
    expect(readBoundedText(path, "certificate")).toBe("-----BEGIN CERTIFICATE-----\n");
  });

  it("refuses a FIFO without blocking (no writer ever opens it)", () => {
    const path = join(dir, "fifo");
    execFileSync("mkfifo", [path]);
    expect(() => readBounded(path, "certificate")).toThrow(
      new BoundedReadError("is a FIFO, not a regular file (rdpcert reads a certificate file only from a regular file)"),
    );
  });

  it("refuses /dev/zero and a directory", () => {
    expect(() => readBounded("/dev/zero", "targets")).toThrow(/^is a character device, not a regular file/);
    const sub = join(dir, "sub");
    mkdirSync(sub);
    expect(() => readBounded(sub, "config")).toThrow(/^is a directory, not a regular file/);
  });

  it("refuses a file over the cap of its kind, and names both sizes", () => {
    const path = join(dir, "big.pem");
    writeFileSync(path, Buffer.alloc(READ_LIMITS.key + 1, 0x41));
    expect(() => readBounded(path, "key")).toThrow(`is ${READ_LIMITS.key + 1} bytes, more than the 1 MiB a private key file may have`);
    expect(readBounded(path, "targets").length).toBe(READ_LIMITS.key + 1);
  });

  it("passes errno failures through unchanged", () => {
    expect(() => readBounded(join(dir, "missing"), "ini")).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });
});
