import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync } from "node:crypto";
import type * as Forge from "node-forge";
import { buildPfx } from "../../../../src/hosts/windows/pfx";
import { caIssued } from "../../../helpers/certs";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const forge = require("node-forge") as typeof Forge;

/**
 * The PFX deploy hands to Import-PfxCertificate: the certificate byte for
 * byte (its thumbprint must not change), the key shrouded with the PKCS#12
 * 3DES scheme every supported Windows reads, an HMAC-SHA1 MAC, and a
 * localKeyId pairing the two. (through-pwsh.test.ts opens one with .NET.)
 */
const binary = (b: Buffer) => forge.util.createBuffer(b.toString("binary"));

function safeBags(pfx: Buffer): Forge.asn1.Asn1[] {
  // PFX -> authSafe ContentInfo -> [0] -> OCTET STRING -> AuthenticatedSafe -> ContentInfo(data) each holding SafeContents.
  const outer = forge.asn1.fromDer(binary(pfx));
  const authSafe = forge.asn1.fromDer((((outer.value as Forge.asn1.Asn1[])[1]!.value as Forge.asn1.Asn1[])[1]!.value as Forge.asn1.Asn1[])[0]!.value as string);
  return (authSafe.value as Forge.asn1.Asn1[]).flatMap((ci) => {
    const contents = forge.asn1.fromDer(((ci.value as Forge.asn1.Asn1[])[1]!.value as Forge.asn1.Asn1[])[0]!.value as string);
    return contents.value as Forge.asn1.Asn1[];
  });
}

describe("buildPfx", () => {
  const pair = caIssued(-1, 90);
  const leaf = Buffer.from(new X509Certificate(pair.certPem).raw);

  it("holds the certificate byte for byte and its RSA key, opens with the password only, with 3DES and a SHA-1 MAC", () => {
    const pfx = buildPfx(leaf, pair.keyPem, "s3cret-é");
    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(binary(pfx)), "s3cret-é");
    const certBags = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!]!;
    expect(certBags).toHaveLength(1);
    const keyBags = p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!]!;
    expect(keyBags).toHaveLength(1);
    const key = keyBags[0]!.key as Forge.pki.rsa.PrivateKey;
    expect(key.n.toString(16)).toBe((certBags[0]!.cert!.publicKey as Forge.pki.rsa.PublicKey).n.toString(16));
    // The pairing Windows uses: the same localKeyId on both bags, the certificate's SHA-1.
    const id = createHash("sha1").update(leaf).digest().toString("binary");
    expect(certBags[0]!.attributes.localKeyId).toEqual([id]);
    expect(keyBags[0]!.attributes.localKeyId).toEqual([id]);
    expect(() => forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(binary(pfx)), "wrong")).toThrow(/MAC could not be verified/);
    // The certificate bag carries the DER as given, not forge's re-encoding of it.
    const bag = safeBags(pfx).find((b) => forge.asn1.derToOid((b.value as Forge.asn1.Asn1[])[0]!.value as string) === forge.pki.oids.certBag)!;
    const certValue = ((((bag.value as Forge.asn1.Asn1[])[1]!.value as Forge.asn1.Asn1[])[0]!.value as Forge.asn1.Asn1[])[1]!.value as Forge.asn1.Asn1[])[0]!
      .value as string;
    expect(Buffer.from(certValue, "binary").equals(leaf)).toBe(true);
    const keyBag = safeBags(pfx).find((b) => forge.asn1.derToOid((b.value as Forge.asn1.Asn1[])[0]!.value as string) === forge.pki.oids.pkcs8ShroudedKeyBag)!;
    const algorithm = (
      (((keyBag.value as Forge.asn1.Asn1[])[1]!.value as Forge.asn1.Asn1[])[0]!.value as Forge.asn1.Asn1[])[0]!.value as Forge.asn1.Asn1[]
    )[0]!;
    expect(forge.asn1.derToOid(algorithm.value as string)).toBe(forge.pki.oids["pbeWithSHAAnd3-KeyTripleDES-CBC"]);
  });

  it("packages an EC key as its PKCS#8 PrivateKeyInfo (node-forge's own pkcs12 takes RSA only)", () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const pfx = buildPfx(leaf, pem, "pw");
    const keyBag = safeBags(pfx).find((b) => forge.asn1.derToOid((b.value as Forge.asn1.Asn1[])[0]!.value as string) === forge.pki.oids.pkcs8ShroudedKeyBag)!;
    const info = forge.pki.decryptPrivateKeyInfo(((keyBag.value as Forge.asn1.Asn1[])[1]!.value as Forge.asn1.Asn1[])[0]!, "pw");
    const der = Buffer.from(forge.asn1.toDer(info).getBytes(), "binary");
    expect(createPrivateKey({ key: der, format: "der", type: "pkcs8" }).export({ type: "pkcs8", format: "pem" })).toBe(pem);
    expect(forge.pki.decryptPrivateKeyInfo(((keyBag.value as Forge.asn1.Asn1[])[1]!.value as Forge.asn1.Asn1[])[0]!, "wrong")).toBeNull();
  });
});
