import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { type CertificateInfo, describeCertificate, thumbprintOf } from "../../core/certificate";
import { BACKDATE_MS, type CertificateNames, buildSelfSigned, describeNames, generateKey, replacementNames } from "../../core/self-signed";
import type { CommandRunner } from "../command-runner";
import type { BackupItem, BackupSet, HostInspection, ReplacementSpec, RotationSteps, StepResult } from "../host-backend";
import { writeFileAtomic } from "../local/atomic-write";
import { type RuntimeUserSetting, resolveIdentity } from "./runtime-user";
import { iniValue, parseIni } from "./xrdp-ini";

const DAY_MS = 86_400_000;

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

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * The replacement targets: the configured files themselves, unless either is a
 * link (Debian's snakeoil pair is shared with other services and must not be
 * overwritten): then rdpcert-managed files next to the ini, and the ini is
 * repointed at them.
 */
export function replacementTargets(inspection: HostInspection): { cert: string; key: string; repointIni: boolean } {
  const cert = inspection.certificate.location;
  const key = inspection.key.location ?? join(dirname(cert), "key.pem");
  if (isLink(cert) || isLink(key)) {
    const managed = managedPaths(inspection.source);
    return { cert: managed.cert, key: managed.key, repointIni: true };
  }
  return { cert, key, repointIni: false };
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
  for (const [name, value] of [["certificate", certPath], ["key_file", keyPath]] as const) {
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
    return (stats.mode & 0o7777) === item.mode && stats.uid === item.uid && stats.gid === item.gid && readFileSync(item.originalPath).equals(item.data);
  } catch {
    return false;
  }
}

export interface XrdpRotationOptions {
  readonly runner: CommandRunner;
  readonly runtimeUser: () => RuntimeUserSetting;
}

export function createXrdpRotation(options: XrdpRotationOptions): RotationSteps {
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
    describe(inspection, spec, restart) {
      const targets = replacementTargets(inspection);
      const lines = [
        `back up ${[inspection.certificate.location, inspection.key.location, targets.repointIni ? inspection.source : null].filter(Boolean).join(", ")} into the state dir (0700, files 0600)`,
        `generate a new RSA ${spec.keyBits} key and a self-signed certificate for ${describeNames(namesFor(inspection, spec))} (${NAME_SOURCES[namesFor(inspection, spec).source]}), valid ${spec.validityDays} days from an hour ago (EKU serverAuth; keyUsage digitalSignature, keyEncipherment)`,
        `write ${targets.cert} (0644) and ${targets.key} (0640 for xrdp's group, or 0600) crash-safely: temp file, fsync, rename, fsync dir`,
      ];
      if (targets.repointIni) {
        lines.push(`${inspection.certificate.location} or ${inspection.key.location} is a link to a shared pair: leave it untouched and point certificate= and key_file= in ${inspection.source} at the new files (the rest of the ini unchanged)`);
      }
      lines.push(restart.enabled && restart.command ? `restart: ${restart.command.join(" ")} (timeout ${restart.timeoutMs} ms)` : "no restart (xrdp reads its certificate for every new connection)");
      return lines;
    },

    async collectBackup(inspection): Promise<StepResult<BackupSet>> {
      const items: BackupItem[] = [];
      const absent: string[] = [];
      const targets = replacementTargets(inspection);
      const paths: [BackupItem["role"], string][] = [
        ["certificate", inspection.certificate.location],
        ["key", inspection.key.location ?? targets.key],
        ["config", inspection.source],
      ];
      if (targets.repointIni) paths.push(["certificate", targets.cert], ["key", targets.key]);
      for (const [role, path] of paths) {
        if (items.some((i) => i.originalPath === path) || absent.includes(path)) continue;
        const item = readItem(role, path);
        if (item) items.push(item);
        else if (!isLink(path)) absent.push(path);
      }
      const cert = inspection.certificate;
      return { ok: true, value: { backend: "xrdp", thumbprint: cert.state === "present" ? thumbprintOf(cert.der) : null, items, extra: { absent } } };
    },

    async replace(inspection, spec, now) {
      try {
        const targets = replacementTargets(inspection);
        const owner = await keyOwnership();
        const started = performance.now();
        const key = generateKey({ type: "rsa", bits: spec.keyBits });
        const names = namesFor(inspection, spec);
        const pair = buildSelfSigned(key, {
          commonName: names.commonName,
          dnsNames: names.dnsNames,
          ipAddresses: names.ipAddresses,
          notBefore: new Date(now.getTime() - BACKDATE_MS),
          notAfter: new Date(now.getTime() + spec.validityDays * DAY_MS),
        });
        const keygenMs = performance.now() - started;
        if (targets.repointIni) mkdirSync(dirname(targets.cert), { recursive: true, mode: 0o755 });
        // Key first: xrdp reads both per connection, and a new key beside the old cert fails one
        // handshake at worst, while the reverse order could present a cert whose key is not there.
        writeFileAtomic(targets.key, pair.keyPem, { mode: owner.mode, uid: owner.uid, gid: owner.gid });
        writeFileAtomic(targets.cert, pair.certPem, { mode: 0o644, uid: 0, gid: 0 });
        const written = [targets.key, targets.cert];
        if (targets.repointIni) {
          const stats = statSync(inspection.source);
          const text = readFileSync(inspection.source, "utf8");
          writeFileAtomic(inspection.source, repointIni(text, targets.cert, targets.key), { mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid });
          written.push(inspection.source);
        }
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
      if (result.spawnError) return { ok: false, reason: `restart command ${text} could not start: ${result.spawnError}` };
      if (result.timedOut) return { ok: false, reason: `restart command ${text} did not finish within ${restart.timeoutMs} ms` };
      if (result.exitCode !== 0) {
        const detail = (result.stderr || result.stdout).trim().split("\n")[0] ?? "";
        return { ok: false, reason: `restart command ${text} exited with ${result.exitCode}${detail ? `: ${detail}` : ""}` };
      }
      return { ok: true, value: { command: text } };
    },

    async restore(backup) {
      const restored: string[] = [];
      try {
        for (const item of backup.items) {
          if (item.wasLink || unchanged(item)) continue;
          writeFileAtomic(item.originalPath, item.data, { mode: item.mode, uid: item.uid, gid: item.gid });
          restored.push(item.originalPath);
        }
        const absent = (backup.extra?.absent as string[] | undefined) ?? [];
        for (const path of absent) {
          if (!existsSync(path)) continue;
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
