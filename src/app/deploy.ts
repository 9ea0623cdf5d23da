import { servesPemFiles } from "../core/inspection";
import type { Config } from "../core/config";
import { readBoundedText } from "../hosts/local/bounded-read";
import { bundledRootCertificates } from "../hosts/local/tls-roots";
import { type CheckOutcome, DeployInputError, type DeployMaterial, checkMaterial, pemCertificates, pemPrivateKey, readPfx } from "../core/deploy-input";
import { type CertificateInfo, normalizeThumbprint } from "../core/certificate";
import type { SuppliedCertificate } from "../hosts/host-backend";
import { UntrustedPathError, readTrustedFile } from "../hosts/local/trust";
import { type RotationResult, decideDeployment, deploy } from "../rotation/rotate";
import { publishPins } from "./pin-bundle";
import { type Session, type SessionOptions, openSession } from "./session";

/**
 * `rdpcert deploy`'s use case: read the certificate from where it
 * was given, check it before anything changes (core/deploy-input), then the
 * rotation state machine with a supplied certificate as the replacement: the
 * same lock, journal, backup, verification and rollback as `rotate`.
 */
export type DeploySource =
  | { readonly kind: "pem"; readonly cert: string; readonly key: string; readonly chain: string | null }
  | { readonly kind: "pfx"; readonly path: string; readonly password: string }
  | { readonly kind: "thumbprint"; readonly thumbprint: string }
  /** certbot's deploy hook: $RENEWED_LINEAGE, a live/NAME directory with fullchain.pem and privkey.pem. */
  | { readonly kind: "certbot"; readonly lineage: string }
  /** The config's deploySource: a directory with fullchain.pem and privkey.pem, read the way a certbot lineage is. */
  | { readonly kind: "directory"; readonly lineage: string };

export type Prepared =
  | {
      readonly ok: true;
      readonly session: Extract<Session, { ok: true }>;
      readonly certificate: SuppliedCertificate;
      readonly subject: string;
      readonly issuer: string;
      readonly warnings: readonly string[];
    }
  | { readonly ok: false; readonly reason: string; readonly fix: string | null };

/**
 * Every file deploy reads decides what root serves: it must pass the trust rules (hosts/local/trust.ts),
 * links and every directory up to / included, and is judged by the descriptor it is read from.
 */
function read(path: string, kind: "certificate" | "key", what: string): Buffer {
  try {
    return readTrustedFile(path, kind, what);
  } catch (error) {
    if (error instanceof UntrustedPathError) throw new DeployInputError(error.message, error.fix);
    const code = (error as NodeJS.ErrnoException).code;
    // Never the content: the errno, or the bounded reader's phrase about the file.
    throw new DeployInputError(
      `cannot read ${what} ${path}: ${code ?? (error as Error).message}`,
      code === "EACCES" ? "run rdpcert deploy as root" : `check ${path}`,
    );
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
    case "certbot":
    case "directory": {
      const fullchain = `${source.lineage.replace(/\/+$/, "")}/fullchain.pem`;
      const privkey = `${source.lineage.replace(/\/+$/, "")}/privkey.pem`;
      const what = source.kind === "certbot" ? "the certbot lineage's" : "deploySource's";
      return {
        origin: source.kind === "certbot" ? `certbot lineage ${source.lineage}` : `deploySource ${source.lineage}`,
        certificates: certificatesIn(read(fullchain, "certificate", what), fullchain, what),
        keyPem: keyIn(read(privkey, "key", what), privkey),
      };
    }
    case "thumbprint": {
      const wanted = normalizeThumbprint(source.thumbprint);
      const steps = session.ctx.backend.rotation;
      if (!steps?.candidates)
        throw new DeployInputError(
          `--thumbprint works on Windows only (this is ${session.ctx.backend.kind})`,
          "give the certificate as files: --cert and --key, --pfx, or --from-certbot",
        );
      const found = await steps.candidates();
      if (!found.ok) throw new DeployInputError(`cannot list LocalMachine\\My: ${found.reason}`, "run rdpcert deploy as an administrator");
      const match = found.value.find((c) => c.thumbprint === wanted);
      if (!match)
        throw new DeployInputError(
          `no certificate ${wanted} with a private key is in LocalMachine\\My`,
          "import it first (Import-PfxCertificate -CertStoreLocation Cert:\\LocalMachine\\My, or certreq -accept), then run deploy again",
        );
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
      requireCompleteChain: servesPemFiles(session.ctx.backend.kind),
      roots: bundledRootCertificates,
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

export async function runDeploy(prepared: Extract<Prepared, { ok: true }>, options: { dryRun: boolean; removeOld: boolean }): Promise<RotationResult> {
  // Issue 25: after a verified change, the clients' pin bundle.
  return publishPins(prepared.session, await deploy(prepared.session.ctx, prepared.session.settings, prepared.certificate, options));
}

/** Whether `run` has a place to look for a newer certificate: xrdp's deploySource, or Windows' LocalMachine\My. */
export function canDeploy(config: Config, session: Extract<Session, { ok: true }>): boolean {
  return servesPemFiles(session.ctx.backend.kind) ? config.deploySource !== null : session.ctx.backend.rotation?.candidates !== undefined;
}

/**
 * `run`, for a CA-issued certificate near expiry: a certificate that passes deploy's checks,
 * carries every name of the current one and expires later (the latest of them on Windows),
 * as Group Policy's template auto-selection picks one; or why there is none.
 */
export async function findNewer(
  config: Config,
  session: Extract<Session, { ok: true }>,
  current: CertificateInfo | null,
): Promise<{ certificate: SuppliedCertificate } | { none: string }> {
  const xrdp = servesPemFiles(session.ctx.backend.kind);
  const check = (material: DeployMaterial): CheckOutcome =>
    checkMaterial(material, { now: session.ctx.now(), hostNames: session.settings.spec.names, requireCompleteChain: xrdp, roots: bundledRootCertificates });
  const suits = (c: SuppliedCertificate): boolean =>
    current === null || (c.notAfter.getTime() > current.notAfter.getTime() && current.subjectAltNames.every((name) => c.names.includes(name)));
  if (xrdp) {
    if (config.deploySource === null) return { none: "no deploySource is configured" };
    let checked: CheckOutcome;
    try {
      checked = check(await materialFor({ kind: "directory", lineage: config.deploySource }, session));
    } catch (error) {
      if (error instanceof DeployInputError) return { none: error.message };
      throw error;
    }
    if (!checked.ok) return { none: `deploySource ${config.deploySource}: ${checked.reason}` };
    if (!suits(checked.certificate))
      return {
        none: `deploySource ${config.deploySource} holds ${checked.certificate.thumbprint}, which is not newer than the configured certificate or lacks one of its names`,
      };
    return { certificate: checked.certificate };
  }
  const steps = session.ctx.backend.rotation;
  if (!steps?.candidates) return { none: `the ${session.ctx.backend.kind} backend cannot list certificates` };
  const listed = await steps.candidates();
  if (!listed.ok) return { none: `cannot list LocalMachine\\My: ${listed.reason}` };
  const newer = listed.value
    .map((c) => check({ origin: c.origin, certificates: c.chain, keyPem: null }))
    .flatMap((o) => (o.ok && suits(o.certificate) ? [o.certificate] : []))
    .sort((a, b) => b.notAfter.getTime() - a.notAfter.getTime());
  return newer[0] ? { certificate: newer[0] } : { none: "LocalMachine\\My holds no valid certificate for the same names that expires later" };
}

/** `--pfx-password-file`: its text, read as bounded as a key file (the caller takes the first line). Throws the read's error. */
export function readPasswordFile(path: string): string {
  return readBoundedText(path, "key");
}
