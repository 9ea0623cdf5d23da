import type { KeyObject } from "node:crypto";
import { type KeyAndCertificate, buildSelfSigned, generateKey } from "../../src/core/self-signed";

const DAY = 86_400_000;
let sharedKey: KeyObject | undefined;

/** One RSA key per test file: key generation is the slow part, and validity is what the tests vary. */
export function testKey(): KeyObject {
  sharedKey ??= generateKey();
  return sharedKey;
}

/** A self-signed pair valid from `fromDays` to `toDays` relative to now (negative = past). */
export function certValid(fromDays: number, toDays: number, commonName = "rdpcert-test", key = testKey()): KeyAndCertificate {
  const now = Date.now();
  return buildSelfSigned(key, {
    commonName,
    dnsNames: [commonName, "localhost"],
    ipAddresses: ["127.0.0.1"],
    notBefore: new Date(now + fromDays * DAY),
    notAfter: new Date(now + toDays * DAY),
  });
}
