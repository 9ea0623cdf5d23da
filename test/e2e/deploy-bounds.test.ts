import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as forge from "node-forge";
import { certValid } from "../helpers/certs";
import { rdpcertJson } from "../helpers/cli";
import { type TestCa, makeTestCa } from "../helpers/test-ca";
import { xrdpPool } from "../helpers/xrdp-pool";

/**
 * Unbounded work under the size caps: hostile inputs the test
 * generates itself, through the built CLI's `deploy --dry-run` against real
 * xrdp. Each is refused with one line and exit 3, and the test's own timeout
 * bounds the wall clock (before: 69 s for a long chain, 17-41 s for a junk key
 * file, hours for a PFX asking for 2^31 iterations).
 */
interface DeployJson {
  outcome: string;
  reason: string;
  warnings?: string[];
}

const ITERATED = new Set(["1.2.840.113549.1.5.12", ...[1, 2, 3, 4, 5, 6].map((n) => `1.2.840.113549.1.12.1.${n}`)]);

/** A DER INTEGER's content bytes for a non-negative count (2^31 needs a leading zero byte). */
function integerBytes(count: number): string {
  let hex = count.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return forge.util.hexToBytes(hex);
}

/**
 * Rewrites iteration counts in a real PFX (openssl's): the MAC's, or every
 * PBKDF2 / PKCS#12-PBE count, including those inside the OCTET STRINGs that
 * carry the AuthenticatedSafe and its SafeContents. The MAC no longer
 * matches: rdpcert must refuse before it would ever check it.
 */
function patchPfx(der: Buffer, patch: { mac?: number; encryption?: number }): Buffer {
  const walk = (node: forge.asn1.Asn1): void => {
    if (Array.isArray(node.value)) {
      const [first, second] = node.value;
      if (
        patch.encryption !== undefined &&
        first?.type === forge.asn1.Type.OID &&
        ITERATED.has(forge.asn1.derToOid(first.value as string)) &&
        Array.isArray(second?.value)
      ) {
        const count = second.value[1];
        if (count?.type === forge.asn1.Type.INTEGER) count.value = integerBytes(patch.encryption);
      }
      node.value.forEach(walk);
    } else if (node.type === forge.asn1.Type.OCTETSTRING && typeof node.value === "string" && node.value.charCodeAt(0) === 0x30) {
      try {
        const inner = forge.asn1.fromDer(forge.util.createBuffer(node.value), true);
        walk(inner);
        node.value = forge.asn1.toDer(inner).getBytes();
      } catch {
        // not DER inside (a salt, a digest)
      }
    }
  };
  const pfx = forge.asn1.fromDer(forge.util.createBuffer(der.toString("binary")));
  walk(pfx);
  if (patch.mac !== undefined) ((pfx.value as forge.asn1.Asn1[])[2]!.value as forge.asn1.Asn1[])[2]!.value = integerBytes(patch.mac);
  return Buffer.from(forge.asn1.toDer(pfx).getBytes(), "binary");
}

describe("deploy refuses inputs that would take unbounded work", () => {
  const start = xrdpPool({ requireRoot: true });
  let ca: TestCa;
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "rdpcert-bounds-"));
    ca = makeTestCa(dir);
  });

  const deploy = async (args: readonly string[], input?: string) => {
    const server = await start(certValid(-10, 170));
    return rdpcertJson<DeployJson>(
      ["deploy", "--xrdp-ini", server.iniPath, "--state-dir", join(server.dir, "state"), "--no-restart", "--json", "--dry-run", ...args],
      { input },
    );
  };

  it("a --chain of hundreds of certificates (a CA bundle, or a hostile file) is refused with one line; ten are accepted", async () => {
    const leaf = ca.issue("chain.example.test");
    const copies = Math.min(1500, Math.floor(1_000_000 / ca.intermediatePem.length));
    const bundle = join(dir, "bundle.pem");
    writeFileSync(bundle, ca.intermediatePem.repeat(copies));
    const refused = await deploy(["--cert", leaf.certPath, "--chain", bundle, "--key", leaf.keyPath]);
    expect([refused.json.outcome, refused.code]).toEqual(["refused", 3]);
    expect(refused.json.reason).toBe(
      `--cert ${leaf.certPath} holds ${copies + 1} certificates; a certificate chain has at most 10 (the leaf, its intermediates, perhaps a root)`,
    );
    // Ten (the leaf, the intermediate, eight duplicates of it): accepted, the duplicates left out with a warning.
    const ten = join(dir, "ten.pem");
    writeFileSync(ten, ca.intermediatePem.repeat(9));
    const accepted = await deploy(["--cert", leaf.certPath, "--chain", ten, "--key", leaf.keyPath]);
    expect(accepted.json.outcome).toBe("planned");
    expect(accepted.json.warnings!.join("\n")).toMatch(/8 certificates are not on the leaf's chain/);
  }, 60_000);

  it("a 1 MiB key file of BEGIN lines and no END: no private key, found in one linear pass", async () => {
    const leaf = ca.issue("junk-key.example.test");
    const junk = join(dir, "junk.key");
    const line = "-----BEGIN PRIVATE KEY-----\n";
    writeFileSync(junk, line.repeat(Math.floor((1024 * 1024 - 1) / line.length)), { mode: 0o600 });
    const refused = await deploy(["--cert", leaf.fullchainPath, "--key", junk]);
    expect([refused.json.outcome, refused.code]).toEqual(["refused", 3]);
    expect(refused.json.reason).toBe(`--key ${junk} holds no PEM private key`);
  }, 30_000);

  describe("a PFX asking for absurd key-derivation iteration counts is refused before any key is derived", () => {
    let pfx: Buffer;
    beforeAll(() => {
      const leaf = ca.issue("pfx-bounds.example.test");
      const path = join(dir, "good.pfx");
      execFileSync("openssl", ["pkcs12", "-export", "-in", leaf.fullchainPath, "-inkey", leaf.keyPath, "-out", path, "-passout", "pass:pw"]);
      pfx = readFileSync(path);
    });

    it.each([
      ["its integrity MAC", { mac: 2 ** 31 }],
      ["its encryption", { encryption: 2 ** 31 }],
    ])(
      "2^31 iterations for %s",
      async (where, patch) => {
        const path = join(dir, `hostile-${Object.keys(patch)[0]}.pfx`);
        writeFileSync(path, patchPfx(pfx, patch), { mode: 0o600 });
        const refused = await deploy(["--pfx", path], "pw\n");
        expect([refused.json.outcome, refused.code]).toEqual(["refused", 3]);
        expect(refused.json.reason).toBe(
          `--pfx ${path}: the PFX asks for 2,147,483,648 key-derivation iterations for ${where}; rdpcert refuses more than 1,000,000 (usual: 2,000 to 10,000)`,
        );
      },
      30_000,
    );

    it("the untouched PFX (openssl's 2048 iterations) is read and planned", async () => {
      const path = join(dir, "plain.pfx");
      writeFileSync(path, pfx, { mode: 0o600 });
      const planned = await deploy(["--pfx", path], "pw\n");
      expect(planned.json.outcome).toBe("planned");
    }, 30_000);
  });
});
