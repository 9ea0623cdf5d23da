import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import type { ConfiguredCertificate, KeyState } from "../../core/inspection";
import { readBoundedText } from "./bounded-read";

/** "does not exist", "permission denied", ... for a failed file call: one short phrase, never the file's contents. */
export function errnoText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  switch (e.code) {
    case "ENOENT":
      return "does not exist";
    case "EACCES":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    default:
      return e.code ?? e.message;
  }
}

/**
 * The configured private key as this process reads it, for every PEM-pair
 * server (xrdp, weston, FreeRDP's shadow server, gnome-remote-desktop, any
 * pair): an unencrypted PEM key whose public half is the certificate's.
 * Whether the server itself can read it is each backend's own check, made
 * before. `server` names the server in the reason ("xrdp needs an
 * unencrypted key"). Never quotes the file: it is a private key.
 */
export function keyStateOf(path: string, certificate: ConfiguredCertificate, server: string): KeyState {
  let pem: string;
  try {
    pem = readBoundedText(path, "key");
  } catch (error) {
    // We could not read it ourselves: whether it matches is unknown, not wrong.
    return { state: "unknown", location: path, reason: `the private key ${path} was not checked: ${errnoText(error)} (run as root)` };
  }
  let publicDer: Buffer;
  try {
    publicDer = createPublicKey(createPrivateKey(pem)).export({ type: "spki", format: "der" });
  } catch (error) {
    const encrypted = /passphrase|encrypted/i.test((error as Error).message) || pem.includes("ENCRYPTED");
    return {
      state: "not-a-key",
      location: path,
      reason: encrypted
        ? `the private key ${path} is encrypted; ${server} needs an unencrypted key`
        : `${path} is not a PEM private key (truncated or corrupt)`,
    };
  }
  if (certificate.state === "present") {
    try {
      if (!new X509Certificate(certificate.der).publicKey.export({ type: "spki", format: "der" }).equals(publicDer)) {
        return { state: "mismatch", location: path, reason: `the private key ${path} does not belong to the certificate ${certificate.location}` };
      }
    } catch {
      // An unparseable certificate is reported on its own; the key itself is fine.
    }
  }
  return { state: "ok", location: path, reason: null };
}
