import { chmodSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { StagedMeta } from "../../core/stage-policy";
import { fsyncDirectory, writeFileAtomic } from "./atomic-write";
import { StateDir } from "./state-dir";
import { UntrustedPathError, lstatOrNull, readOwnFile, untrustedReason } from "./trust";

/**
 * A staged pair on disk (issue 25): `<stateDir>/staged/`, 0700 like the state dir:
 * `cert.pem`, `key.pem` (0600), `staged.json` (its facts) and its pin bundle
 * (`<host>_<port>.json`, `.known_hosts2`, `.pem`, `.reg`, as `pins/` holds them for
 * the served certificate). Made complete in `.staged.partial` and renamed into
 * place, so a staged pair is either whole or absent; removed once activated, so
 * it is activated at most once.
 */
export interface StagedFiles {
  readonly certPem: string;
  readonly keyPem: string;
  readonly meta: StagedMeta;
  /** The pin bundle's files: `<stem><suffix>`, the first one the bundle itself (.json). */
  readonly bundle: { readonly stem: string; readonly files: ReadonlyArray<{ readonly suffix: string; readonly data: string | Buffer }> };
}

export interface StagedPair {
  readonly dir: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly meta: StagedMeta;
  /** The staged pin bundle (.json), for `client trust --from-bundle` and the example hook's --bundle. */
  readonly bundlePath: string;
}

const MAX_FILE = 1 << 20;
const STAGED = "staged";

export function stagedDir(stateDir: string): string {
  return join(stateDir, STAGED);
}

/** Writes a staged pair, replacing one already there (the caller decides whether it may). Returns what it wrote. */
export function writeStaged(stateDir: string, files: StagedFiles): StagedPair {
  if (!/^[A-Za-z0-9._-]+$/.test(files.bundle.stem) || files.bundle.stem.startsWith("."))
    throw new Error(`pin file stem ${JSON.stringify(files.bundle.stem)} is not a plain file name`);
  const state = new StateDir(stateDir);
  state.ensure();
  const dir = stagedDir(stateDir);
  const partial = join(stateDir, `.${STAGED}.partial`);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { mode: 0o700 });
  chmodSync(partial, 0o700);
  writeFileAtomic(join(partial, "key.pem"), files.keyPem, { mode: 0o600 });
  writeFileAtomic(join(partial, "cert.pem"), files.certPem, { mode: 0o600 });
  const paths = files.bundle.files.map(({ suffix, data }) => {
    writeFileAtomic(join(partial, `${files.bundle.stem}${suffix}`), data, { mode: 0o600 });
    return join(dir, `${files.bundle.stem}${suffix}`);
  });
  writeFileAtomic(
    join(partial, "staged.json"),
    `${JSON.stringify({ ...files.meta, bundle: `${files.bundle.stem}${files.bundle.files[0]?.suffix ?? ".json"}` }, null, 2)}\n`,
    { mode: 0o600 },
  );
  const old = join(stateDir, `.${STAGED}.old`);
  rmSync(old, { recursive: true, force: true });
  if (lstatOrNull(dir)) renameSync(dir, old);
  renameSync(partial, dir);
  fsyncDirectory(stateDir);
  rmSync(old, { recursive: true, force: true });
  return { dir, certPem: files.certPem, keyPem: files.keyPem, meta: files.meta, bundlePath: paths[0]! };
}

function isMeta(value: unknown): value is StagedMeta & { bundle: string } {
  const m = value as Record<string, unknown> | null;
  const text = (k: string): boolean => typeof m?.[k] === "string";
  const listener = m?.listener as Record<string, unknown> | undefined;
  return (
    m !== null &&
    typeof m === "object" &&
    m.schema === 1 &&
    text("stagedAt") &&
    text("sha1") &&
    text("sha256") &&
    text("notBefore") &&
    text("notAfter") &&
    text("bundle") &&
    /^[A-Za-z0-9._-]+\.json$/.test(String(m.bundle)) &&
    Array.isArray(m.names) &&
    (m.replaces === null || text("replaces")) &&
    typeof listener?.host === "string" &&
    typeof listener?.port === "number"
  );
}

/**
 * The staged pair, or null when none is staged (or the state dir cannot be read by this user).
 * `withKey` false: the facts only (status). A staged dir that is not rdpcert's is refused.
 */
export function readStaged(stateDir: string, withKey = true): StagedPair | null {
  const dir = stagedDir(stateDir);
  let stats;
  try {
    stats = lstatOrNull(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EACCES") return null;
    throw error;
  }
  if (stats === null) return null;
  const refuse = (why: string): never => {
    throw new UntrustedPathError(`${dir} ${why}: refusing to use it as a staged pair`, "move it aside and stage again (rdpcert rotate --stage)");
  };
  if (stats.isSymbolicLink() || !stats.isDirectory()) refuse("is not a directory");
  const untrusted = untrustedReason(dir, stats);
  if (untrusted) refuse(`is not rdpcert's (${untrusted})`);
  let meta: unknown;
  try {
    meta = JSON.parse(readOwnFile(join(dir, "staged.json"), MAX_FILE).toString("utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EACCES") return null;
    if (error instanceof UntrustedPathError) throw error;
    meta = null;
  }
  if (!isMeta(meta)) return refuse("holds no staged.json that rdpcert wrote");
  const { bundle, ...facts } = meta;
  return {
    dir,
    certPem: readOwnFile(join(dir, "cert.pem"), MAX_FILE).toString("latin1"),
    keyPem: withKey ? readOwnFile(join(dir, "key.pem"), MAX_FILE).toString("latin1") : "",
    meta: facts,
    bundlePath: join(dir, bundle),
  };
}

/** Removes the staged pair after its activation (consumed once); only when it is still the one with `sha256`. */
export function consumeStaged(stateDir: string, sha256: string): boolean {
  const current = readStaged(stateDir, false);
  if (!current || current.meta.sha256 !== sha256) return false;
  const gone = join(stateDir, `.${STAGED}.activated`);
  rmSync(gone, { recursive: true, force: true });
  renameSync(current.dir, gone);
  fsyncDirectory(stateDir);
  rmSync(gone, { recursive: true, force: true });
  return true;
}
