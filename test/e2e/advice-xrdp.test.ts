import { X509Certificate } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { probe } from "../../src/probe/prober";
import { generateKey } from "../../src/core/self-signed";
import type { XrdpServer } from "../../scripts/xrdp-server";
import { certValid } from "../helpers/certs";
import { rdpcertJson } from "../helpers/cli";
import { rotateXrdpJson, xrdpPool } from "../helpers/xrdp-pool";

/**
 * Every fix names rdpcert's own command where rdpcert can do it, never
 * `make-ssl-cert generate-default-snakeoil --force-overwrite` (which rewrites the
 * pair other services share); permission fixes name the real cause; and the
 * advice works when followed, against real xrdp.
 */
interface StatusJson {
  status: string;
  fix: string | null;
  problems: { verdict: string; code: string; fix: string | null }[];
}
interface RotateJson {
  outcome: string;
  reason: string;
  newThumbprint: string | null;
  plan: string[];
}

const status = async (server: XrdpServer) =>
  (await rdpcertJson<StatusJson>(["status", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), "--json", "--timeout", "4000"])).json;
const rotate = (server: XrdpServer, ...extra: string[]) => rotateXrdpJson<RotateJson>(server, ...extra);
const sanOf = (path: string): string => new X509Certificate(readFileSync(path)).subjectAltName ?? "";

describe("advice that uses rdpcert (issue 23)", () => {
  const start = xrdpPool({ requireRoot: true });

  it.each([
    ["expiring", certValid(-170, 10), "WARN"],
    ["expired", certValid(-200, -3), "EXPIRED"],
  ])("%s self-signed: the fix is rdpcert rotate, never make-ssl-cert", async (_name, pair, verdict) => {
    const server = await start(pair);
    const json = await status(server);
    expect(json.status).toBe(verdict);
    expect(json.fix).toMatch(/^sudo rdpcert rotate --yes: a new self-signed pair, verified on the wire, no restart/);
    expect(JSON.stringify(json)).not.toMatch(/make-ssl-cert/);
  });

  it("corrupt key (belongs to another certificate): the fix is rdpcert rotate, and following it repairs the listener", async () => {
    const pair = certValid(-1, 179);
    const server = await start({ certPem: pair.certPem, keyPem: certValid(-1, 179, "other", generateKey()).keyPem });
    const json = await status(server);
    expect(json.status).toBe("CORRUPT");
    expect(json.fix).toMatch(/^sudo rdpcert rotate --yes/);
    expect(JSON.stringify(json)).not.toMatch(/make-ssl-cert/);
    const { json: rotated } = await rotate(server);
    expect(rotated.outcome).toBe("rotated");
    expect((await status(server)).status).toBe("OK");
  });

  it("xrdp cannot enter the pair's directory (0700): the fix is on that directory, not chmod on the file, and it works", async () => {
    const pair = certValid(-1, 179);
    const server = await start(pair);
    const closed = join(server.dir, "private");
    mkdirSync(closed, { mode: 0o700 });
    chmodSync(closed, 0o700);
    for (const [from, name] of [
      [server.certPath, "cert.pem"],
      [server.keyPath, "key.pem"],
    ] as const)
      renameSync(from, join(closed, name));
    writeFileSync(
      server.iniPath,
      readFileSync(server.iniPath, "utf8").replace(server.certPath, join(closed, "cert.pem")).replace(server.keyPath, join(closed, "key.pem")),
    );
    const json = await status(server);
    expect(json.status).toBe("CORRUPT");
    expect(json.fix).toBe(
      `xrdp cannot enter ${closed}: chmod o+x ${closed} (lets it pass through to the files it may read; it still cannot list ${closed}), or keep xrdp's pair outside it`,
    );
    expect(json.fix).not.toMatch(/chmod 644/);
    execFileSync("chmod", ["o+x", closed]);
    expect((await status(server)).status).toBe("OK");
  });

  it("Debian's default (snakeoil key root:ssl-cert 0640, xrdp not in ssl-cert): the fix offers rotate --force, which gives xrdp its own pair and leaves the shared one", async () => {
    if (execFileSync("id", ["-Gn", "xrdp"], { encoding: "utf8" }).split(/\s+/).includes("ssl-cert"))
      throw new Error("this test needs xrdp outside the ssl-cert group (Debian's default)");
    const pair = certValid(-1, 179);
    const server = await start(pair);
    const shared = join(server.dir, "ssl");
    mkdirSync(shared, { mode: 0o755 });
    const certPath = join(shared, "ssl-cert-snakeoil.pem");
    const keyPath = join(shared, "ssl-cert-snakeoil.key");
    writeFileSync(certPath, pair.certPem, { mode: 0o644 });
    writeFileSync(keyPath, pair.keyPem, { mode: 0o640 });
    chmodSync(keyPath, 0o640);
    chownSync(keyPath, 0, Number(execFileSync("getent", ["group", "ssl-cert"], { encoding: "utf8" }).split(":")[2]));
    writeFileSync(server.iniPath, readFileSync(server.iniPath, "utf8").replace(server.certPath, certPath).replace(server.keyPath, keyPath));
    const before = await status(server);
    expect(before.status).toBe("CORRUPT");
    expect(before.fix).toBe(
      "sudo rdpcert rotate --force --yes: xrdp gets its own pair next to xrdp.ini (key root:xrdp 0640) and the ini points at it; the shared snakeoil pair is left as it is (or: adduser xrdp ssl-cert and restart xrdp, which opens every key of the ssl-cert group to xrdp)",
    );
    const { json } = await rotate(server, "--force");
    expect(json.outcome).toBe("rotated");
    expect(readFileSync(keyPath, "utf8")).toBe(pair.keyPem);
    expect(readFileSync(server.iniPath, "utf8")).toContain(`key_file=${join(server.dir, "rdpcert", "key.pem")}`);
    expect((await status(server)).status).toBe("OK");
  });

  it("doctor's name fix: rotate --ip ADDR on a healthy certificate that lacks ADDR rotates, and the new certificate names it; asked again, not-needed", async () => {
    const server = await start(certValid(-1, 179, "named"));
    expect(sanOf(server.certPath)).not.toContain("192.0.2.10");
    const { json } = await rotate(server, "--name", "named", "--name", "localhost", "--ip", "127.0.0.1", "--ip", "192.0.2.10");
    expect(json.outcome).toBe("rotated");
    expect(json.reason).not.toMatch(/not-needed/);
    expect(sanOf(server.certPath)).toBe("DNS:named, DNS:localhost, IP Address:127.0.0.1, IP Address:192.0.2.10");
    const presented = await probe({ input: "", host: "127.0.0.1", port: server.port }, { timeoutMs: 5000 });
    expect(presented.certificate!.thumbprint).toBe(json.newThumbprint);
    const again = await rotate(server, "--name", "named", "--name", "localhost", "--ip", "127.0.0.1", "--ip", "192.0.2.10");
    expect(again.json.outcome).toBe("not-needed");
  });
});
