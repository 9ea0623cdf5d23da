import { rootCertificates } from "node:tls";
import type { Config } from "../core/config";
import { type CheckOutcome, DeployInputError, type DeployMaterial, checkMaterial, pemCertificates, pemPrivateKey, readPfx } from "../core/deploy-input";
import { normalizeThumbprint } from "../core/certificate";
import type { SuppliedCertificate } from "../hosts/host-backend";
import { readBounded } from "../hosts/local/bounded-read";
import { type RotationResult, decideDeployment, deploy } from "../rotation/rotate";
import { type Session, type SessionOptions, openSession } from "./session";

/**
 * `rdpcert deploy`'s use case (issue 13): read the certificate from where it
 * was given, check it before anything changes (core/deploy-input), then the
 * rotation state machine with a supplied certificate as the replacement: the
 * same lock, journal, backup, verification and rollback as `rotate`.
 */
export type DeploySource =
  | { readonly kind: "pem"; readonly cert: string; readonly key: string; readonly chain: string | null }
  | { readonly kind: "pfx"; readonly path: string; readonly password: string }
  | { readonly kind: "thumbprint"; readonly thumbprint: string }
  /** certbot's deploy hook: $RENEWED_LINEAGE, a live/NAME directory with fullchain.pem and privkey.pem. */
  | { readonly kind: "certbot"; readonly lineage: string };

export type Prepared =
  | { readonly ok: true; readonly session: Extract<Session, { ok: true }>; readonly certificate: SuppliedCertificate; readonly subject: string; readonly issuer: string; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly reason: string; readonly fix: string | null };

function read(path: string, kind: "certificate" | "key", what: string): Buffer {
  try {
    return readBounded(path, kind);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Never the content: the errno, or the bounded reader's phrase about the file.
    throw new DeployInputError(`cannot read ${what} ${path}: ${code ?? (error as Error).message}`, code === "EACCES" ? "run rdpcert deploy as root" : `check ${path}`);
  }
}

function certificatesIn(data: Buffer, path: string, what: string): Buffer[] {
  const text = data.toString("latin1");
  if (text.includes("-----BEGIN")) {
    const found = pemCertificates(text);
    if (found.length === 0) throw new DeployInputError(`${what} ${path} holds no PEM certificate`, "give the certificate as PEM (-----BEGIN CERTIFICATE-----)");
    return found;
  }
  // A DER certificate starts with a SEQUENCE.
  if (data[0] === 0x30) return [data];
  throw new DeployInputError(`${what} ${path} holds no certificate`, "give the certificate as PEM or DER");
}

function keyIn(data: Buffer, path: string): string {
  const key = pemPrivateKey(data.toString("latin1"));
  if (key === null) throw new DeployInputError(`--key ${path} holds no PEM private key`, "give the private key as PEM (-----BEGIN PRIVATE KEY-----)");
  return key;
}

/** The files as deploy reads them; a Windows --thumbprint is looked up in LocalMachine\My by the backend. */
export async function materialFor(source: DeploySource, session: Extract<Session, { ok: true }>): Promise<DeployMaterial> {
  switch (source.kind) {
    case "pem": {
      const certificates = certificatesIn(read(source.cert, "certificate", "--cert"), source.cert, "--cert");
      if (source.chain) certificates.push(...certificatesIn(read(source.chain, "certificate", "--chain"), source.chain, "--chain"));
      return { origin: `--cert ${source.cert}`, certificates, keyPem: keyIn(read(source.key, "key", "--key"), source.key) };
    }
    case "pfx":
      return readPfx(read(source.path, "key", "--pfx"), source.password, `--pfx ${source.path}`);
    case "certbot": {
      const fullchain = `${source.lineage.replace(/\/+$/, "")}/fullchain.pem`;
      const privkey = `${source.lineage.replace(/\/+$/, "")}/privkey.pem`;
      return {
        origin: `certbot lineage ${source.lineage}`,
        certificates: certificatesIn(read(fullchain, "certificate", "the certbot lineage's"), fullchain, "the certbot lineage's"),
        keyPem: keyIn(read(privkey, "key", "the certbot lineage's"), privkey),
      };
    }
    case "thumbprint": {
      const wanted = normalizeThumbprint(source.thumbprint);
      const steps = session.ctx.backend.rotation;
      if (!steps?.candidates) throw new DeployInputError(`--thumbprint works on Windows only (this is ${session.ctx.backend.kind})`, "give the certificate as files: --cert and --key, --pfx, or --from-certbot");
      const found = await steps.candidates();
      if (!found.ok) throw new DeployInputError(`cannot list LocalMachine\\My: ${found.reason}`, "run rdpcert deploy as an administrator");
      const match = found.value.find((c) => c.thumbprint === wanted);
      if (!match) throw new DeployInputError(`no certificate ${wanted} with a private key is in LocalMachine\\My`, "import it first (Import-PfxCertificate -CertStoreLocation Cert:\\LocalMachine\\My, or certreq -accept), then run deploy again");
      return { origin: `LocalMachine\\My\\${wanted}`, certificates: match.chain, keyPem: null };
    }
  }
}

/** Session, material and checks: everything before the state machine. A bad input is a refusal here, before any change. */
export async function prepareDeploy(config: Config, source: DeploySource, options: SessionOptions): Promise<Prepared> {
  const session = await openSession(config, options);
  if (!session.ok) return session;
  let checked: CheckOutcome;
  try {
    const material = await materialFor(source, session);
    checked = checkMaterial(material, {
      now: session.ctx.now(),
      hostNames: session.settings.spec.names,
      requireCompleteChain: session.ctx.backend.kind === "xrdp",
      roots: rootCertificates,
    });
  } catch (error) {
    if (error instanceof DeployInputError) return { ok: false, reason: error.message, fix: error.fix };
    throw error;
  }
  if (!checked.ok) return checked;
  return { ok: true, session, certificate: checked.certificate, subject: checked.subject, issuer: checked.issuer, warnings: checked.warnings };
}

export function decide(prepared: Extract<Prepared, { ok: true }>, removeOld: boolean) {
  return decideDeployment(prepared.session.ctx, prepared.session.settings, prepared.certificate, removeOld);
}

export function runDeploy(prepared: Extract<Prepared, { ok: true }>, options: { dryRun: boolean; removeOld: boolean }): Promise<RotationResult> {
  return deploy(prepared.session.ctx, prepared.session.settings, prepared.certificate, options);
}
