import { execFileSync } from "node:child_process";
import { linkSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { notOursToOverwrite, sharedBecause } from "../../../../src/hosts/xrdp/xrdp-rotation";

/** Which files a rotation may overwrite (never a shared pair, nor a file that is not a certificate or key), on real files, a real FIFO and real hard links. */
describe("notOursToOverwrite", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "rdpcert-targets-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("accepts a PEM key, a truncated one (BEGIN line present), an empty and a missing file", () => {
    writeFileSync(join(dir, "key.pem"), "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n");
    writeFileSync(join(dir, "rsa.pem"), "-----BEGIN RSA PRIVATE KEY-----\nMII");
    writeFileSync(join(dir, "empty.pem"), "");
    for (const name of ["key.pem", "rsa.pem", "empty.pem", "missing.pem"]) expect(notOursToOverwrite(join(dir, name), "key")).toBeNull();
  });

  it("refuses a file that holds something else, without quoting it", () => {
    writeFileSync(join(dir, "passwd"), "root:x:0:0:root:/root:/bin/bash\n");
    expect(notOursToOverwrite(join(dir, "passwd"), "key")).toBe(`${join(dir, "passwd")} exists but holds no PEM private key`);
    expect(notOursToOverwrite(join(dir, "passwd"), "certificate")).toBe(`${join(dir, "passwd")} exists but holds no PEM certificate`);
    writeFileSync(join(dir, "cert-as-key.pem"), "-----BEGIN CERTIFICATE-----\n");
    expect(notOursToOverwrite(join(dir, "cert-as-key.pem"), "key")).toMatch(/holds no PEM private key$/);
  });

  it("refuses a FIFO without blocking on it, and a directory", () => {
    execFileSync("mkfifo", [join(dir, "fifo")]);
    expect(notOursToOverwrite(join(dir, "fifo"), "key")).toBe(`${join(dir, "fifo")} is not a regular file`);
    expect(notOursToOverwrite(dir, "certificate")).toBe(`${dir} is not a regular file`);
  });
});

describe("sharedBecause", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "rdpcert-shared-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("names snakeoil by name and hard-linked files; a plain private file is not shared", () => {
    writeFileSync(join(dir, "ssl-cert-snakeoil.key"), "k");
    writeFileSync(join(dir, "key.pem"), "k");
    expect(sharedBecause(join(dir, "ssl-cert-snakeoil.key"))).toBe("Debian's shared snakeoil pair");
    expect(sharedBecause(join(dir, "key.pem"))).toBeNull();
    linkSync(join(dir, "key.pem"), join(dir, "postfix.pem"));
    expect(sharedBecause(join(dir, "key.pem"))).toBe("a file with 2 hard links");
    expect(sharedBecause(join(dir, "missing.pem"))).toBeNull();
  });
});
