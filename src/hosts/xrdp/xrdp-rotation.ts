import { createHash } from "node:crypto";
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readFileSync, readSync, realpathSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { type CertificateInfo, DAY_MS, describeCertificate, thumbprintOf } from "../../core/certificate";
import { BACKDATE_MS, type CertificateNames, buildSelfSigned, describeNames, generateKey, replacementNames } from "../../core/self-signed";
import { type CommandRunner, describeExit } from "../command-runner";
import type {
  BackupItem,
  BackupSet,
  DeploysSupplied,
  GuardsTargets,
  HostInspection,
  InspectOutcome,
  KeyState,
  Replacement,
  ReplacementSpec,
  RestartSpec,
  RestoreGuard,
  RotationContract,
  ServesGivenChain,
  StepResult,
  SuppliedCertificate,
  SweepsLeftovers,
  TestsConfig,
  WrittenFile,
} from "../host-backend";
import { removeLeftoverTemps, writeFileAtomic } from "../local/atomic-write";
import { untrustedDirectory } from "../local/trust";
import { withTrustedDirectory } from "../local/trusted-dir";
import { type RuntimeUserSetting, resolveIdentity } from "./runtime-user";
import { iniValue, parseIni } from "./xrdp-ini";

const NAME_SOURCES: Record<CertificateNames["source"], string> = {
  requested: "as requested with --name/--ip",
  "old-certificate": "the names of the old certificate, kept",
  host: "the host's names: the old certificate's could not be read",
};

/** Where rdpcert writes its own pair when the configured paths are links to a shared pair. */
export function managedPaths(iniPath: string): { dir: string; cert: string; key: string } {
  const dir = join(dirname(iniPath), "rdpcert");
  return { dir, cert: join(dir, "cert.pem"), key: join(dir, "key.pem") };
}

/**
 * Why rdpcert must not write into its managed directory (the trust rules): a link, not a directory,
 * or a directory another user owns or can write (the ini's directory may be xrdp's own, so
 * its user could have put a link to another directory there). Null when it is fine or missing.
 */
export function managedDirRefusal(iniPath: string): { reason: string; fix: string } | null {
  const { dir } = managedPaths(iniPath);
  let stats;
  try {
    stats = lstatSync(dir);
  } catch {
    return null;
  }
  const why = stats.isSymbolicLink() ? `${dir} is a link` : !stats.isDirectory() ? `${dir} is not a directory` : untrustedDirectory(dir, stats, true);
  return why
    ? {
        reason: `rdpcert's own directory ${why}: rdpcert will not write the certificate and key through it`,
        fix: `move ${dir} aside (rdpcert creates it again, root's, 0755), then run again`,
      }
    : null;
}

/** Runs `write` with rdpcert's managed directory created if missing and opened without following a link (see openTrustedDirectory). */
function inManagedDir<T>(iniPath: string, write: (at: string) => T): T {
  return withTrustedDirectory(managedPaths(iniPath).dir, { what: "rdpcert's own directory", chain: "last", create: 0o755 }, write);
}

/** `path` as written: inside the opened managed directory when it is one of rdpcert's managed files. */
function managedName(iniPath: string, path: string): string | null {
  const managed = managedPaths(iniPath);
  return path === managed.cert || path === managed.key ? path.slice(managed.dir.length + 1) : null;
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The gid of a group by name, from /etc/group (Node has no getgrnam). */
function groupId(name: string): number | null {
  try {
    for (const line of readFileSync("/etc/group", "utf8").split("\n")) {
      const [group, , gid] = line.split(":");
      if (group === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
    }
  } catch {
    // No /etc/group: no such group.
  }
  return null;
}

/**
 * Why a configured certificate or key file is shared with other services and
 * must not be overwritten (overwriting it would change what they serve), or null: a link, Debian's
 * snakeoil pair by name, a file under /etc/ssl, group ssl-cert, or more than
 * one hard link.
 */
export function sharedBecause(path: string): string | null {
  let stats;
  try {
    stats = lstatSync(path);
  } catch {
    return null;
  }
  if (stats.isSymbolicLink()) return "a link";
  if (/ssl-cert-snakeoil\.(pem|key)$/.test(path)) return "Debian's shared snakeoil pair";
  if (path.startsWith("/etc/ssl/")) return "under /etc/ssl, shared with other services";
  const sslCert = groupId("ssl-cert");
  if (sslCert !== null && stats.gid === sslCert) return "in group ssl-cert, shared with other services";
  if (stats.nlink > 1) return `a file with ${stats.nlink} hard links`;
  return null;
}

/**
 * The replacement targets: the configured files themselves, unless either is
 * shared (a link, Debian's snakeoil pair: other services use it, see
 * sharedBecause): then rdpcert-managed files next to the ini, and the ini is
 * repointed at them.
 */
export function replacementTargets(inspection: HostInspection): { cert: string; key: string; repointIni: boolean } {
  const cert = inspection.certificate.location;
  const key = inspection.key.location ?? join(dirname(cert), "key.pem");
  if (sharedBecause(cert) !== null || sharedBecause(key) !== null) {
    const managed = managedPaths(inspection.source);
    return { cert: managed.cert, key: managed.key, repointIni: true };
  }
  return { cert, key, repointIni: false };
}

/** A deploy always writes rdpcert's own pair next to the ini and points the ini at it: a configured pair is never overwritten with a CA's. */
export function deployTargets(inspection: HostInspection): { cert: string; key: string; repointIni: boolean } {
  const managed = managedPaths(inspection.source);
  return { cert: managed.cert, key: managed.key, repointIni: inspection.certificate.location !== managed.cert || inspection.key.location !== managed.key };
}

function targetsFor(inspection: HostInspection, replacement: Replacement | undefined): { cert: string; key: string; repointIni: boolean } {
  return replacement?.kind === "supplied" ? deployTargets(inspection) : replacementTargets(inspection);
}

/** The chain as xrdp reads it (one PEM file, leaf first). */
export function chainPem(chain: readonly Buffer[]): string {
  return chain.map((der) => `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/.{1,64}/g, "$&\n")}-----END CERTIFICATE-----\n`).join("");
}

/**
 * Sets certificate= and key_file= in [Globals], changing only those values'
 * bytes; inserts them after the [Globals] header when absent.
 */
export function repointIni(text: string, certPath: string, keyPath: string): string {
  let out = text;
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const missing: string[] = [];
  // Edit from the end so earlier offsets stay valid.
  const edits: { start: number; end: number; value: string }[] = [];
  const ini = parseIni(text);
  for (const [name, value] of [
    ["certificate", certPath],
    ["key_file", keyPath],
  ] as const) {
    const entry = iniValue(ini, "Globals", name);
    if (entry) edits.push({ start: entry.valueStart, end: entry.valueEnd, value });
    else missing.push(`${name}=${value}`);
  }
  for (const edit of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, edit.start) + edit.value + out.slice(edit.end);
  if (missing.length) {
    const header = /^[ \t]*\[globals\][^\n]*\n/im.exec(out);
    if (!header) throw new Error("no [Globals] section to add certificate= and key_file= to");
    const at = header.index + header[0].length;
    out = out.slice(0, at) + missing.map((line) => `${line}${eol}`).join("") + out.slice(at);
  }
  return out;
}

/** The ini as written: its target when `--xrdp-ini` names a link (edited there, the link kept, so whatever else reads the link sees the change). */
export function iniTarget(iniPath: string): string {
  try {
    return lstatSync(iniPath).isSymbolicLink() ? realpathSync(iniPath) : iniPath;
  } catch {
    return iniPath;
  }
}

const sha256 = (data: Buffer | string): string => createHash("sha256").update(data).digest("hex");

const MAX_PEM = 1 << 20;

/**
 * What a file that is about to be overwritten holds, read without blocking
 * (a FIFO or device is not read) and bounded. Missing and empty files are
 * "empty": a missing or emptied pair is what a rotation repairs.
 */
function probeContent(path: string): { kind: "empty" } | { kind: "not-regular" } | { kind: "too-large" } | { kind: "text"; text: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "empty" };
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { kind: "not-regular" };
    if (stats.size === 0) return { kind: "empty" };
    if (stats.size > MAX_PEM) return { kind: "too-large" };
    const buffer = Buffer.alloc(stats.size);
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return { kind: "text", text: buffer.subarray(0, n).toString("latin1") };
  } finally {
    closeSync(fd);
  }
}

/**
 * Why a file rdpcert would overwrite is not the listener's certificate or key
 * (e.g. a key_file= naming a copy of a password file, which a rotation must not overwrite), or null.
 * A truncated PEM (the BEGIN line is there) is still repairable. Never quotes
 * the file.
 */
export function notOursToOverwrite(path: string, role: "certificate" | "key"): string | null {
  const content = probeContent(path);
  if (content.kind === "empty") return null;
  if (content.kind === "not-regular") return `${path} is not a regular file`;
  if (content.kind === "too-large") return `${path} is larger than any PEM ${role} (over ${MAX_PEM} bytes)`;
  const begin = role === "certificate" ? /-----BEGIN (X509 |TRUSTED )?CERTIFICATE-----/ : /-----BEGIN ([A-Z0-9]+ )?PRIVATE KEY-----/;
  return begin.test(content.text) ? null : `${path} exists but holds no PEM ${role === "certificate" ? "certificate" : "private key"}`;
}

/** The paths a restore may write or remove: what the configuration names now, and rdpcert's own managed files. */
function allowedRestorePaths(inspection: HostInspection): Set<string> {
  const targets = replacementTargets(inspection);
  const managed = managedPaths(inspection.source);
  const paths = [
    inspection.certificate.location,
    inspection.key.location,
    targets.cert,
    targets.key,
    inspection.source,
    iniTarget(inspection.source),
    managed.cert,
    managed.key,
  ];
  return new Set(paths.filter((p): p is string => typeof p === "string"));
}

function currentHash(path: string): string | null {
  try {
    const content = probeContent(path);
    return content.kind === "text" ? sha256(Buffer.from(content.text, "latin1")) : content.kind === "empty" && existsSync(path) ? sha256("") : null;
  } catch {
    return null;
  }
}

function oldCertificate(inspection: HostInspection): CertificateInfo | null {
  if (inspection.certificate.state !== "present") return null;
  try {
    return describeCertificate(inspection.certificate.der);
  } catch {
    return null;
  }
}

/** The new certificate's names: requested, else the old certificate's, else the host's. */
export function namesFor(inspection: HostInspection, spec: ReplacementSpec): CertificateNames {
  return replacementNames(oldCertificate(inspection), spec.names, spec.requested);
}

function readItem(role: BackupItem["role"], path: string): BackupItem | null {
  try {
    const link = isLink(path);
    const stats = statSync(path);
    return { role, originalPath: path, data: readFileSync(path), mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid, wasLink: link };
  } catch {
    return null;
  }
}

/** Restore writes only what differs, so a rollback after a failed first write needs no write at all (read-only or full disk). */
function unchanged(item: BackupItem): boolean {
  try {
    const stats = statSync(item.originalPath);
    if ((stats.mode & 0o777) !== (item.mode & 0o777) || stats.uid !== item.uid || stats.gid !== item.gid) return false;
    // Compared by hash through a non-blocking, bounded read: the path may have become a FIFO or device.
    return currentHash(item.originalPath) === sha256(item.data);
  } catch {
    return false;
  }
}

export interface XrdpRotationOptions {
  readonly runner: CommandRunner;
  readonly runtimeUser: () => RuntimeUserSetting;
  /** The backend's own inspection: the config test reads the configuration as xrdp will. */
  readonly inspect: () => Promise<InspectOutcome>;
}

/** Key states that say xrdp cannot use the pair as written. "unreadable" is left to the handshake: whose access it is, is judged from a model. */
const UNUSABLE_KEY: ReadonlySet<KeyState["state"]> = new Set(["missing", "not-a-key", "corrupt", "mismatch"]);

export function createXrdpRotation(
  options: XrdpRotationOptions,
): RotationContract & DeploysSupplied & ServesGivenChain & GuardsTargets & SweepsLeftovers & TestsConfig {
  const { runner } = options;

  /** Key: root-owned, readable by xrdp's group only (0640), or 0600 when xrdp runs as root. */
  async function keyOwnership(): Promise<{ mode: number; uid: number; gid: number; who: string }> {
    const setting = options.runtimeUser();
    if (setting.user === null) return { mode: 0o600, uid: 0, gid: 0, who: "root" };
    const identity = await resolveIdentity(runner, setting.user, setting.group);
    if (!identity.ok) throw new Error(identity.reason);
    const gid = identity.identity.gids[0] ?? 0;
    return { mode: 0o640, uid: 0, gid, who: `root:${setting.group ?? setting.user}` };
  }

  return {
    servesGivenChain: true,

    describe(inspection, replacement, restart) {
      const targets = targetsFor(inspection, replacement);
      if (replacement.kind === "supplied") {
        const supplied = replacement.certificate;
        const ini = iniTarget(inspection.source);
        return [
          `back up ${[inspection.certificate.location, inspection.key.location, ini, targets.cert, targets.key].filter((p, i, all) => p && all.indexOf(p) === i).join(", ")} into the state dir (0700, files 0600)`,
          `write the certificate ${supplied.thumbprint} (${supplied.names.join(", ") || "no names"}, valid until ${supplied.notAfter.toISOString()}) with its ${supplied.chain.length - 1} chain certificate${supplied.chain.length === 2 ? "" : "s"} from ${supplied.origin} to ${targets.cert} (0644) and its key to ${targets.key} (root and xrdp's group, 0640, or 0600 when xrdp runs as root) crash-safely`,
          targets.repointIni
            ? `point certificate= and key_file= in ${ini} at them (the rest of the ini unchanged); ${inspection.certificate.location} and ${inspection.key.location ?? "the old key"} are left untouched`
            : `${ini} already points at them`,
          restartLine(restart),
        ];
      }
      const spec = replacement.spec;
      const lines = [
        `back up ${[inspection.certificate.location, inspection.key.location, targets.repointIni ? inspection.source : null].filter(Boolean).join(", ")} into the state dir (0700, files 0600)`,
        `generate a new RSA ${spec.keyBits} key and a self-signed certificate for ${describeNames(namesFor(inspection, spec))} (${NAME_SOURCES[namesFor(inspection, spec).source]}), valid ${spec.validityDays} days from an hour ago (EKU serverAuth; keyUsage digitalSignature, keyEncipherment)`,
        `write ${targets.cert} (0644) and ${targets.key} (0640 for xrdp's group, or 0600) crash-safely: temp file, fsync, rename, fsync dir`,
      ];
      if (targets.repointIni) {
        const why = sharedBecause(inspection.certificate.location) ?? (inspection.key.location ? sharedBecause(inspection.key.location) : null);
        const ini = iniTarget(inspection.source);
        lines.push(
          `${inspection.certificate.location} or ${inspection.key.location} ${why === null || why === "a link" ? "is a link to a shared pair" : `is shared (${why})`}: leave it untouched and point certificate= and key_file= in ${ini === inspection.source ? ini : `${ini} (the target of the link ${inspection.source}, which is kept)`} at the new files (the rest of the ini unchanged)`,
        );
      }
      lines.push(restartLine(restart));
      return lines;
    },

    refuseSupplied(inspection, certificate) {
      if (certificate.keyPem === null || certificate.chain.length === 0) {
        return {
          reason: "xrdp needs the certificate and its private key as files: a certificate held only in a Windows store cannot be deployed here",
          fix: "pass --cert and --key (or --pfx, or --from-certbot)",
        };
      }
      return managedDirRefusal(inspection.source) ?? refuseFiles(deployTargets(inspection), inspection, "deploy");
    },

    refuseTargets(inspection) {
      const targets = replacementTargets(inspection);
      // Also when the ini already names rdpcert's own pair (after a deploy): it is written there all the same.
      const managed = managedName(inspection.source, targets.cert) !== null || managedName(inspection.source, targets.key) !== null;
      return (managed ? managedDirRefusal(inspection.source) : null) ?? refuseFiles(targets, inspection, "rotate");
    },

    removeLeftovers(inspection) {
      const targets = replacementTargets(inspection);
      const managed = managedPaths(inspection.source);
      // Never through a managed directory that is a link or another user's.
      const skip = managedDirRefusal(inspection.source) ? new Set([managed.cert, managed.key]) : new Set<string>();
      const paths = new Set([
        inspection.certificate.location,
        inspection.key.location ?? targets.key,
        targets.cert,
        targets.key,
        managed.cert,
        managed.key,
        iniTarget(inspection.source),
      ]);
      return [...paths].filter((path) => !skip.has(path)).flatMap((path) => removeLeftoverTemps(path));
    },

    async collectBackup(inspection, replacement): Promise<StepResult<BackupSet>> {
      const items: BackupItem[] = [];
      const absent: string[] = [];
      const targets = targetsFor(inspection, replacement);
      const paths: [BackupItem["role"], string][] = [
        ["certificate", inspection.certificate.location],
        ["key", inspection.key.location ?? targets.key],
        ["config", iniTarget(inspection.source)],
      ];
      if (targets.repointIni || replacement?.kind === "supplied") paths.push(["certificate", targets.cert], ["key", targets.key]);
      for (const [role, path] of paths) {
        if (items.some((i) => i.originalPath === path) || absent.includes(path)) continue;
        const item = readItem(role, path);
        if (item) items.push(item);
        else if (!isLink(path)) absent.push(path);
      }
      const cert = inspection.certificate;
      return { ok: true, value: { backend: "xrdp", thumbprint: cert.state === "present" ? thumbprintOf(cert.der) : null, items, extra: { absent } } };
    },

    async replace(inspection, replacement, now, beforeWrite) {
      if (replacement.kind === "supplied") {
        try {
          return writeSupplied(inspection, replacement.certificate, await keyOwnership(), beforeWrite);
        } catch (error) {
          return { ok: false, reason: `writing the certificate failed: ${(error as Error).message}` };
        }
      }
      const spec = replacement.spec;
      try {
        const targets = replacementTargets(inspection);
        const owner = await keyOwnership();
        const started = Number(process.hrtime.bigint()) / 1e6;
        const key = generateKey({ type: "rsa", bits: spec.keyBits });
        const names = namesFor(inspection, spec);
        const pair = buildSelfSigned(key, {
          commonName: names.commonName,
          dnsNames: names.dnsNames,
          ipAddresses: names.ipAddresses,
          notBefore: new Date(now.getTime() - BACKDATE_MS),
          notAfter: new Date(now.getTime() + spec.validityDays * DAY_MS),
        });
        const keygenMs = Number(process.hrtime.bigint()) / 1e6 - started;
        const ini = iniTarget(inspection.source);
        const iniText = targets.repointIni ? repointIni(readFileSync(ini, "utf8"), targets.cert, targets.key) : null;
        const planned: WrittenFile[] = [
          { path: targets.key, sha256: sha256(pair.keyPem) },
          { path: targets.cert, sha256: sha256(pair.certPem) },
          ...(iniText === null ? [] : [{ path: ini, sha256: sha256(iniText) }]),
        ];
        beforeWrite?.(planned);
        // Key first: xrdp reads both per connection, and a new key beside the old cert fails one
        // handshake at worst, while the reverse order could present a cert whose key is not there.
        // rdpcert's own files only through its managed directory as opened and checked (never through a link put in its place).
        const put = (path: string, data: string, mode: { mode: number; uid: number; gid: number }): void => {
          const name = managedName(inspection.source, path);
          if (name === null) writeFileAtomic(path, data, mode);
          else inManagedDir(inspection.source, (at) => writeFileAtomic(join(at, name), data, mode));
        };
        put(targets.key, pair.keyPem, { mode: owner.mode, uid: owner.uid, gid: owner.gid });
        put(targets.cert, pair.certPem, { mode: 0o644, uid: 0, gid: 0 });
        const written = [targets.key, targets.cert];
        if (iniText !== null) {
          // A symlinked ini is edited at its target, crash-safely; the link stays.
          const stats = statSync(ini);
          writeFileAtomic(ini, iniText, { mode: stats.mode & 0o777, uid: stats.uid, gid: stats.gid });
          written.push(ini);
        }
        const der = Buffer.from(pair.certPem.replace(/-----[^-]+-----|\s+/g, ""), "base64");
        return { ok: true, value: { thumbprint: thumbprintOf(der), written, keygenMs } };
      } catch (error) {
        return { ok: false, reason: `writing the new pair failed: ${(error as Error).message}` };
      }
    },

    /**
     * Before any restart: the configuration read again as xrdp will read it (the ini, the
     * certificate it names, the key it names): the certificate is the one just written and the
     * key is a key that matches it. A failure recovers the files before anything restarts.
     */
    async configTest(_inspection, _replacement, thumbprint) {
      const outcome = await options.inspect();
      if (!outcome.ok) return { ok: false, reason: `cannot read the configuration back: ${outcome.reason}` };
      const { certificate, key, source } = outcome.inspection;
      if (certificate.state !== "present")
        return { ok: false, reason: `${source} names ${certificate.location ?? "no certificate"}, which does not hold a readable certificate` };
      const presentAt = thumbprintOf(certificate.der);
      if (thumbprint !== null && presentAt !== thumbprint)
        return { ok: false, reason: `${certificate.location} holds ${presentAt}, not the ${thumbprint} just written` };
      if (UNUSABLE_KEY.has(key.state)) return { ok: false, reason: key.reason ?? `the key ${key.location ?? ""} is ${key.state}` };
      return {
        ok: true,
        value: {
          checked: `${source} names ${certificate.location} (${presentAt}) and a key that ${key.state === "ok" ? "matches it" : `was not checked (${key.state})`}`,
        },
      };
    },

    async restart(restart) {
      if (!restart.enabled || !restart.command) return { ok: true, value: { command: null } };
      const [file, ...args] = restart.command;
      const text = restart.command.join(" ");
      const result = await runner(file!, args, { timeoutMs: restart.timeoutMs });
      if (result.spawnError) return { ok: false, reason: `restart command ${text} could not start: ${result.spawnError}` };
      if (result.timedOut) return { ok: false, reason: `restart command ${text} did not finish within ${restart.timeoutMs} ms` };
      if (result.exitCode !== 0) {
        const detail = (result.stderr || result.stdout).trim().split("\n")[0] ?? "";
        return { ok: false, reason: `restart command ${text} ${describeExit(result)}${detail ? `: ${detail}` : ""}` };
      }
      return { ok: true, value: { command: text } };
    },

    async restore(backup, guard) {
      const restored: string[] = [];
      const rawAbsent = backup.extra?.absent;
      const absent = Array.isArray(rawAbsent) ? rawAbsent.filter((p): p is string => typeof p === "string") : [];
      const toWrite = backup.items.filter((item) => !item.wasLink && !unchanged(item));
      const toRemove = absent.filter((path) => existsSync(path));
      const refused = guard ? restoreRefusal(guard, toWrite, toRemove) : null;
      if (refused) return { ok: false, reason: refused.reason, conflict: refused.conflict };
      try {
        const source = guard?.inspection.source ?? null;
        // rdpcert's managed files only through the managed directory as opened and checked (never through a link put in its place).
        const inPlace = (path: string, act: (at: string) => void): void => {
          const name = source === null ? null : managedName(source, path);
          if (name === null || source === null) act(path);
          else inManagedDir(source, (at) => act(join(at, name)));
        };
        for (const item of toWrite) {
          // Permission bits only: never setuid, setgid or sticky from a backup.
          inPlace(item.originalPath, (path) => writeFileAtomic(path, item.data, { mode: item.mode & 0o777, uid: item.uid, gid: item.gid }));
          restored.push(item.originalPath);
        }
        for (const path of toRemove) {
          inPlace(path, (at) => rmSync(at, { force: true }));
          restored.push(`${path} (removed: it did not exist before)`);
        }
        return { ok: true, value: { restored } };
      } catch (error) {
        return { ok: false, reason: `restoring ${restored.length ? `after ${restored.join(", ")} ` : ""}failed: ${(error as Error).message}` };
      }
    },
  };
}

/** Why rdpcert must not write these targets (a file there that is not a PEM of its kind), or null. */
function refuseFiles(targets: { cert: string; key: string }, inspection: HostInspection, command: "rotate" | "deploy"): { reason: string; fix: string } | null {
  for (const [path, role] of [
    [targets.key, "key"],
    [targets.cert, "certificate"],
  ] as const) {
    let why: string | null;
    try {
      why = notOursToOverwrite(path, role);
    } catch (error) {
      why = `${path} cannot be checked (${(error as NodeJS.ErrnoException).code ?? "error"})`;
    }
    if (why) {
      return {
        reason: `${why}: rdpcert will not overwrite it`,
        fix:
          command === "rotate"
            ? `point ${role === "key" ? "key_file=" : "certificate="} in ${inspection.source} at the listener's own ${role} file (or move this file aside if it is a leftover), then run rotate again`
            : `move ${path} aside (rdpcert keeps its own files there), then run deploy again`,
      };
    }
  }
  return null;
}

/** deploy on xrdp: the key, then the chain, then the ini, each crash-safely; the journal learns every hash first. */
function writeSupplied(
  inspection: HostInspection,
  supplied: SuppliedCertificate,
  owner: { mode: number; uid: number; gid: number },
  beforeWrite?: (files: readonly WrittenFile[]) => void,
): StepResult<{ thumbprint: string; written: readonly string[] }> {
  const targets = deployTargets(inspection);
  const certText = chainPem(supplied.chain);
  const keyText = supplied.keyPem!;
  const ini = iniTarget(inspection.source);
  const iniText = targets.repointIni ? repointIni(readFileSync(ini, "utf8"), targets.cert, targets.key) : null;
  beforeWrite?.([
    { path: targets.key, sha256: sha256(keyText) },
    { path: targets.cert, sha256: sha256(certText) },
    ...(iniText === null ? [] : [{ path: ini, sha256: sha256(iniText) }]),
  ]);
  // Into the managed directory as opened and checked, never through a link put in its place.
  inManagedDir(inspection.source, (at) => {
    writeFileAtomic(join(at, basename(targets.key)), keyText, { mode: owner.mode, uid: owner.uid, gid: owner.gid });
    writeFileAtomic(join(at, basename(targets.cert)), certText, { mode: 0o644, uid: 0, gid: 0 });
  });
  const written = [targets.key, targets.cert];
  if (iniText !== null) {
    const stats = statSync(ini);
    writeFileAtomic(ini, iniText, { mode: stats.mode & 0o777, uid: stats.uid, gid: stats.gid });
    written.push(ini);
  }
  return { ok: true, value: { thumbprint: supplied.thumbprint, written } };
}

/**
 * Checks before a restore writes anything: every path it would write or
 * remove is one the current configuration names (or rdpcert's own), and every
 * file it would overwrite still holds the backup or what the rotation wrote.
 * A file that holds something else was deployed by someone else meanwhile:
 * the rollback stops rather than put the old pair over it.
 */
function restoreRefusal(guard: RestoreGuard, toWrite: readonly BackupItem[], toRemove: readonly string[]): { reason: string; conflict: boolean } | null {
  const allowed = allowedRestorePaths(guard.inspection);
  for (const path of [...toWrite.map((item) => item.originalPath), ...toRemove]) {
    if (!allowed.has(path)) return { reason: `the backup names ${path}, which the current configuration does not name: nothing was restored`, conflict: false };
  }
  if (!guard.written) return null;
  const ours = (path: string, hash: string | null): boolean => hash !== null && guard.written!.some((w) => w.path === path && w.sha256 === hash);
  for (const item of toWrite) {
    const hash = currentHash(item.originalPath);
    if (hash === null || hash === sha256(item.data) || ours(item.originalPath, hash)) continue;
    return {
      reason: `${item.originalPath} changed during the rotation: it holds neither the backup nor what rdpcert wrote (someone deployed another pair?): nothing was restored or overwritten`,
      conflict: true,
    };
  }
  for (const path of toRemove) {
    if (!ours(path, currentHash(path)))
      return { reason: `${path} was created during the rotation by someone else: nothing was restored or removed`, conflict: true };
  }
  return null;
}

/** The plan's restart line: by default none, since xrdp reads its pair for every new connection and a restart ends every session. */
function restartLine(restart: RestartSpec): string {
  if (restart.enabled && restart.command)
    return `restart: ${restart.command.join(" ")} (timeout ${restart.timeoutMs} ms): this ends the sessions of connected users`;
  const none = "no restart: xrdp reads its certificate for every new connection, and connected sessions stay up";
  return restart.enabled && restart.ifStale
    ? `${none}; only if the first handshake after the change still presents the old certificate: ${restart.ifStale.join(" ")} (timeout ${restart.timeoutMs} ms)`
    : none;
}
