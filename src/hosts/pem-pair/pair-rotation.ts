import { createHash } from "node:crypto";
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { monotonicMs } from "../../core/monotonic";
import { DAY_MS, describeCertificate, thumbprintOf } from "../../core/certificate";
import { BACKDATE_MS, buildSelfSigned, describeNames, generateKey, replacementNames } from "../../core/self-signed";
import { type CommandRunner, describeExit } from "../command-runner";
import type { BackendKind, BackupItem, BackupSet, HostInspection, RestartSpec, RotationSteps, StepResult, WrittenFile } from "../host-backend";
import { removeLeftoverTemps, writeFileAtomic } from "../local/atomic-write";
import type { Identity } from "../local/file-access";
import { chainPem, notOursToOverwrite, sharedBecause } from "../xrdp/xrdp-rotation";

const sha256 = (data: Buffer | string): string => createHash("sha256").update(data).digest("hex");

export interface PairRotationOptions {
  readonly kind: BackendKind;
  /** "weston", "freerdp-shadow-cli", "the server". */
  readonly label: string;
  readonly runner: CommandRunner;
  /** Whose the key must be: the listening process's identity at the last inspection (null: unknown). */
  readonly serving: () => Identity | null;
  /** The server reads its pair for every new connection (weston, shadow 2.x): no restart is needed. */
  readonly rereadsPerConnection: boolean;
}

interface Ownership {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/**
 * The key's owner and mode after a replacement: the serving user must read it, nobody else.
 * An existing key keeps its owner and group when they already let the serving user in (0600 for
 * its owner, 0640 for its group); otherwise (or when missing) it becomes the serving user's, 0600.
 */
export function keyOwnership(path: string, serving: Identity | null): Ownership {
  let stats: { uid: number; gid: number } | null = null;
  try {
    stats = statSync(path);
  } catch {
    stats = null;
  }
  const who = serving ?? { name: "root", uid: 0, gids: [0] };
  if (stats && (stats.uid === who.uid || who.uid === 0)) return { mode: 0o600, uid: stats.uid, gid: stats.gid };
  if (stats && who.gids.includes(stats.gid)) return { mode: 0o640, uid: stats.uid, gid: stats.gid };
  return { mode: 0o600, uid: who.uid, gid: who.gids[0] ?? who.uid };
}

/** The certificate keeps its owner (the serving user's when new), 0644: it is public. */
function certOwnership(path: string, serving: Identity | null): Ownership {
  try {
    const stats = statSync(path);
    return { mode: 0o644, uid: stats.uid, gid: stats.gid };
  } catch {
    return { mode: 0o644, uid: serving?.uid ?? 0, gid: serving?.gids[0] ?? 0 };
  }
}

/**
 * Why root must not write into this directory: a link, or a directory that a user other
 * than root or the serving user owns, or that its group or others can write. The serving
 * user's own directory is fine: the key is theirs already.
 */
function directoryRefusal(dir: string, serving: Identity | null): string | null {
  let stats;
  try {
    stats = lstatSync(dir);
  } catch {
    return `${dir} does not exist`;
  }
  if (stats.isSymbolicLink()) return `${dir} is a link`;
  if (!stats.isDirectory()) return `${dir} is not a directory`;
  const owners = new Set([0, process.geteuid?.() ?? 0, ...(serving ? [serving.uid] : [])]);
  if (!owners.has(stats.uid)) return `${dir} is owned by uid ${stats.uid}, neither root nor the user the server runs as`;
  if ((stats.mode & 0o022) !== 0) return `${dir} is writable by ${(stats.mode & 0o002) !== 0 ? "every user" : "its group"}`;
  return null;
}

/** Writes `name` into `dir` as opened without following a link (checked again on the descriptor), crash-safely. */
function writeInto(dir: string, name: string, data: string | Buffer, owner: Ownership, serving: Identity | null): void {
  const why = directoryRefusal(dir, serving);
  if (why) throw new Error(`${why}: refusing to write the pair there`);
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const stats = fstatSync(fd);
    const before = lstatSync(dir);
    if (stats.ino !== before.ino || stats.dev !== before.dev) throw new Error(`${dir} was replaced while it was checked: refusing to write the pair there`);
    const at = `/proc/self/fd/${fd}`;
    writeFileAtomic(join(existsSync(at) ? at : dir, name), data, owner);
  } finally {
    closeSync(fd);
  }
}

function readItem(role: BackupItem["role"], path: string): BackupItem | null {
  try {
    const link = lstatSync(path).isSymbolicLink();
    const stats = statSync(path);
    return { role, originalPath: path, data: readFileSync(path), mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid, wasLink: link };
  } catch {
    return null;
  }
}

function currentHash(path: string): string | null {
  try {
    const stats = lstatSync(path);
    if (!stats.isFile() || stats.size > 1 << 20) return null;
    return sha256(readFileSync(path));
  } catch {
    return null;
  }
}

function unchanged(item: BackupItem): boolean {
  try {
    const stats = lstatSync(item.originalPath);
    return (
      stats.isFile() &&
      (stats.mode & 0o777) === (item.mode & 0o777) &&
      stats.uid === item.uid &&
      stats.gid === item.gid &&
      currentHash(item.originalPath) === sha256(item.data)
    );
  } catch {
    return false;
  }
}

/**
 * The installer steps for a server configured with a PEM certificate file and key file that
 * rdpcert replaces in place (weston, FreeRDP's shadow server, pem-pair): the paths are the
 * server's own (its command line or its config directory), so they are never repointed; a
 * shared pair (a link, Debian's snakeoil) is refused rather than overwritten.
 */
export function createPairRotation(options: PairRotationOptions): RotationSteps {
  const { label, runner } = options;
  const paths = (inspection: HostInspection): { cert: string; key: string } => ({
    cert: inspection.certificate.location,
    key: inspection.key.location ?? join(dirname(inspection.certificate.location), "key.pem"),
  });

  const restartLine = (restart: RestartSpec): string => {
    if (restart.enabled && restart.command)
      return `then run ${restart.command.join(" ")} (timeout ${restart.timeoutMs} ms)${options.rereadsPerConnection ? "" : ` so that ${label} loads the new pair`}`;
    return options.rereadsPerConnection
      ? `no restart: ${label} reads its pair for every new connection, and connected sessions stay up`
      : `no reload command is configured: ${label} serves the new pair only once it loads it again (set reloadCommand)`;
  };

  const refuse = (inspection: HostInspection, command: "rotate" | "deploy"): { reason: string; fix: string } | null => {
    const { cert, key } = paths(inspection);
    for (const [path, role] of [
      [key, "key"],
      [cert, "certificate"],
    ] as const) {
      const shared = sharedBecause(path);
      if (shared)
        return {
          reason: `${path} is ${shared}: rdpcert will not overwrite a shared ${role} in place`,
          fix: `give ${label} its own certificate and key files (copies, 0600 key), then run ${command} again`,
        };
      let why: string | null;
      try {
        why = notOursToOverwrite(path, role);
      } catch (error) {
        why = `${path} cannot be checked (${(error as NodeJS.ErrnoException).code ?? "error"})`;
      }
      if (why) return { reason: `${why}: rdpcert will not overwrite it`, fix: `point ${label} at its own ${role} file, then run ${command} again` };
      const dirWhy = directoryRefusal(dirname(path), options.serving());
      if (dirWhy)
        return {
          reason: `${dirWhy}: rdpcert will not write the ${role} there as root`,
          fix: `keep ${label}'s pair in a directory that only root or ${options.serving()?.name ?? "its user"} can write`,
        };
    }
    return null;
  };

  const write = (inspection: HostInspection, keyText: string, certText: string, beforeWrite?: (files: readonly WrittenFile[]) => void): string[] => {
    const { cert, key } = paths(inspection);
    const serving = options.serving();
    const keyOwner = keyOwnership(key, serving);
    const certOwner = certOwnership(cert, serving);
    beforeWrite?.([
      { path: key, sha256: sha256(keyText) },
      { path: cert, sha256: sha256(certText) },
    ]);
    // Key first: the server reads both per connection; a new key beside the old certificate fails one handshake at worst.
    writeInto(dirname(key), basename(key), keyText, keyOwner, serving);
    writeInto(dirname(cert), basename(cert), certText, certOwner, serving);
    return [key, cert];
  };

  return {
    servesGivenChain: true,

    describe(inspection, replacement, restart) {
      const { cert, key } = paths(inspection);
      const owner = keyOwnership(key, options.serving());
      const keyLine = `${key} (owner uid ${owner.uid}, mode ${owner.mode.toString(8).padStart(4, "0")}: only ${options.serving()?.name ?? "root"}, the user ${label} runs as, can read it)`;
      if (replacement.kind === "supplied") {
        const supplied = replacement.certificate;
        return [
          `back up ${cert} and ${key} into the state dir (0700, files 0600)`,
          `write the certificate ${supplied.thumbprint} (${supplied.names.join(", ") || "no names"}, valid until ${supplied.notAfter.toISOString()}) with its ${supplied.chain.length - 1} chain certificate${supplied.chain.length === 2 ? "" : "s"} from ${supplied.origin} to ${cert} (0644) and its key to ${keyLine}, in place and crash-safely`,
          restartLine(restart),
        ];
      }
      const spec = replacement.spec;
      const names = replacementNames(oldInfo(inspection), spec.names, spec.requested);
      return [
        `back up ${cert} and ${key} into the state dir (0700, files 0600)`,
        `generate a new RSA ${spec.keyBits} key and a self-signed certificate for ${describeNames(names)}, valid ${spec.validityDays} days from an hour ago (EKU serverAuth; keyUsage digitalSignature, keyEncipherment)`,
        `write ${cert} (0644) and ${keyLine} in place, crash-safely: temp file, fsync, rename, fsync dir`,
        restartLine(restart),
      ];
    },

    refuseTargets: (inspection) => refuse(inspection, "rotate"),

    refuseSupplied(inspection, certificate) {
      if (certificate.keyPem === null || certificate.chain.length === 0)
        return { reason: `${label} needs the certificate and its private key as files`, fix: "pass --cert and --key (or --pfx, or --from-certbot)" };
      return refuse(inspection, "deploy");
    },

    removeLeftovers(inspection) {
      const { cert, key } = paths(inspection);
      return [cert, key].flatMap((path) => (directoryRefusal(dirname(path), options.serving()) ? [] : removeLeftoverTemps(path)));
    },

    async collectBackup(inspection): Promise<StepResult<BackupSet>> {
      const { cert, key } = paths(inspection);
      const items: BackupItem[] = [];
      const absent: string[] = [];
      for (const [role, path] of [
        ["certificate", cert],
        ["key", key],
      ] as const) {
        const item = readItem(role, path);
        if (item) items.push(item);
        else absent.push(path);
      }
      const c = inspection.certificate;
      return { ok: true, value: { backend: options.kind, thumbprint: c.state === "present" ? thumbprintOf(c.der) : null, items, extra: { absent } } };
    },

    async replace(inspection, replacement, now, beforeWrite) {
      try {
        if (replacement.kind === "supplied") {
          const supplied = replacement.certificate;
          const written = write(inspection, supplied.keyPem!, chainPem(supplied.chain), beforeWrite);
          return { ok: true, value: { thumbprint: supplied.thumbprint, written } };
        }
        const spec = replacement.spec;
        const started = monotonicMs();
        const key = generateKey({ type: "rsa", bits: spec.keyBits });
        const names = replacementNames(oldInfo(inspection), spec.names, spec.requested);
        const pair = buildSelfSigned(key, {
          commonName: names.commonName,
          dnsNames: names.dnsNames,
          ipAddresses: names.ipAddresses,
          notBefore: new Date(now.getTime() - BACKDATE_MS),
          notAfter: new Date(now.getTime() + spec.validityDays * DAY_MS),
        });
        const keygenMs = monotonicMs() - started;
        const written = write(inspection, pair.keyPem, pair.certPem, beforeWrite);
        const der = Buffer.from(pair.certPem.replace(/-----[^-]+-----|\s+/g, ""), "base64");
        return { ok: true, value: { thumbprint: thumbprintOf(der), written, keygenMs } };
      } catch (error) {
        return { ok: false, reason: `writing the new pair failed: ${(error as Error).message}` };
      }
    },

    async restart(restart) {
      if (!restart.enabled || !restart.command) return { ok: true, value: { command: null } };
      const [file, ...args] = restart.command;
      const text = restart.command.join(" ");
      const result = await runner(file!, args, { timeoutMs: restart.timeoutMs });
      if (result.spawnError) return { ok: false, reason: `command ${text} could not start: ${result.spawnError}` };
      if (result.timedOut) return { ok: false, reason: `command ${text} did not finish within ${restart.timeoutMs} ms` };
      if (result.exitCode !== 0) {
        const detail = (result.stderr || result.stdout).trim().split("\n")[0] ?? "";
        return { ok: false, reason: `command ${text} ${describeExit(result)}${detail ? `: ${detail}` : ""}` };
      }
      return { ok: true, value: { command: text } };
    },

    async restore(backup, guard) {
      const rawAbsent = backup.extra?.absent;
      const absent = Array.isArray(rawAbsent) ? rawAbsent.filter((p): p is string => typeof p === "string") : [];
      const toWrite = backup.items.filter((item) => !item.wasLink && !unchanged(item));
      const toRemove = absent.filter((path) => existsSync(path));
      if (guard) {
        // Only the files the current configuration names; and only while they hold the backup or what rdpcert wrote.
        const allowed = new Set(Object.values(paths(guard.inspection)));
        for (const path of [...toWrite.map((i) => i.originalPath), ...toRemove]) {
          if (!allowed.has(path))
            return { ok: false, reason: `the backup names ${path}, which ${label}'s current configuration does not name: nothing was restored` };
        }
        if (guard.written) {
          const ours = (path: string): boolean => {
            const hash = currentHash(path);
            return hash !== null && guard.written!.some((w) => w.path === path && w.sha256 === hash);
          };
          for (const item of toWrite) {
            const hash = currentHash(item.originalPath);
            if (hash === null || hash === sha256(item.data) || ours(item.originalPath)) continue;
            return {
              ok: false,
              conflict: true,
              reason: `${item.originalPath} changed during the rotation: it holds neither the backup nor what rdpcert wrote (someone deployed another pair?): nothing was restored or overwritten`,
            };
          }
          for (const path of toRemove)
            if (!ours(path))
              return { ok: false, conflict: true, reason: `${path} was created during the rotation by someone else: nothing was restored or removed` };
        }
      }
      const restored: string[] = [];
      try {
        // A recovery in a fresh process may not know the serving user yet: the backup's owner of each file stands in.
        for (const item of toWrite) {
          // Permission bits only: never setuid, setgid or sticky from a backup.
          writeInto(
            dirname(item.originalPath),
            basename(item.originalPath),
            item.data,
            { mode: item.mode & 0o777, uid: item.uid, gid: item.gid },
            options.serving() ?? { name: `uid ${item.uid}`, uid: item.uid, gids: [item.gid] },
          );
          restored.push(item.originalPath);
        }
        for (const path of toRemove) {
          rmSync(path, { force: true });
          restored.push(`${path} (removed: it did not exist before)`);
        }
        return { ok: true, value: { restored } };
      } catch (error) {
        return { ok: false, reason: `restoring ${restored.length ? `after ${restored.join(", ")} ` : ""}failed: ${(error as Error).message}` };
      }
    },
  };
}

function oldInfo(inspection: HostInspection) {
  if (inspection.certificate.state !== "present") return null;
  try {
    return describeCertificate(inspection.certificate.der);
  } catch {
    return null;
  }
}
