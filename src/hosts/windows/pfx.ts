import { createHash, createPrivateKey, randomBytes } from "node:crypto";
import type * as Forge from "node-forge";

/**
 * A PKCS#12 (PFX) of one certificate and its private key, as Windows
 * PowerShell 5.1's Import-PfxCertificate reads it on every supported Windows
 * (Server 2012 R2 included): the key shrouded with pbeWithSHAAnd3-KeyTripleDES-CBC,
 * the certificate bag unencrypted, an HMAC-SHA1 integrity MAC, and a localKeyId
 * (the certificate's SHA-1) pairing the two. AES-based PBES2 PFXs need Windows
 * Server 2019 / Windows 10 1709 or later, so 3DES is the choice that imports everywhere.
 *
 * Assembled from node-forge's primitives rather than `pkcs12.toPkcs12Asn1`:
 * that one re-encodes the certificate from forge's parsed fields (which may
 * change its bytes, and with them the thumbprint) and takes RSA keys only; here
 * the certificate goes in byte for byte and the key as its PKCS#8 PrivateKeyInfo
 * (RSA or EC).
 */
export function buildPfx(leafDer: Buffer, keyPem: string, password: string): Buffer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only where a PFX is built (start-up cost)
  const forge = require("node-forge") as typeof Forge;
  const { asn1, pki } = forge;
  const { Class, Type } = asn1;
  const seq = (value: Forge.asn1.Asn1[]) => asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, value);
  const oid = (dotted: string) => asn1.create(Class.UNIVERSAL, Type.OID, false, asn1.oidToDer(dotted).getBytes());
  const octets = (bytes: string) => asn1.create(Class.UNIVERSAL, Type.OCTETSTRING, false, bytes);
  const explicit0 = (value: Forge.asn1.Asn1) => asn1.create(Class.CONTEXT_SPECIFIC, 0, true, [value]);
  const binary = (buffer: Buffer) => buffer.toString("binary");
  const dataContent = (inner: Forge.asn1.Asn1) => seq([oid(pki.oids.data!), explicit0(octets(asn1.toDer(inner).getBytes()))]);

  const pkcs8 = createPrivateKey(keyPem).export({ type: "pkcs8", format: "der" });
  const keyInfo = asn1.fromDer(forge.util.createBuffer(binary(pkcs8)));
  const localKeyId = createHash("sha1").update(leafDer).digest();
  const attributes = asn1.create(Class.UNIVERSAL, Type.SET, true, [
    seq([oid(pki.oids.localKeyId!), asn1.create(Class.UNIVERSAL, Type.SET, true, [octets(binary(localKeyId))])]),
  ]);

  const certBag = seq([oid(pki.oids.certBag!), explicit0(seq([oid(pki.oids.x509Certificate!), explicit0(octets(binary(leafDer)))])), attributes]);
  const shrouded = pki.encryptPrivateKeyInfo(keyInfo, password, { algorithm: "3des", count: 2048, saltSize: 8 });
  const keyBag = seq([oid(pki.oids.pkcs8ShroudedKeyBag!), explicit0(shrouded), attributes]);
  const safe = seq([dataContent(seq([certBag])), dataContent(seq([keyBag]))]);

  const salt = binary(randomBytes(20));
  const count = 2048;
  const macKey = forge.pkcs12.generateKey(password, forge.util.createBuffer(salt), 3, count, 20);
  const hmac = forge.hmac.create();
  hmac.start("sha1", macKey);
  hmac.update(asn1.toDer(safe).getBytes());
  const macData = seq([
    seq([seq([oid(pki.oids.sha1!), asn1.create(Class.UNIVERSAL, Type.NULL, false, "")]), octets(hmac.digest().getBytes())]),
    octets(salt),
    asn1.create(Class.UNIVERSAL, Type.INTEGER, false, asn1.integerToDer(count).getBytes()),
  ]);
  const pfx = seq([asn1.create(Class.UNIVERSAL, Type.INTEGER, false, asn1.integerToDer(3).getBytes()), dataContent(safe), macData]);
  return Buffer.from(asn1.toDer(pfx).getBytes(), "binary");
}
