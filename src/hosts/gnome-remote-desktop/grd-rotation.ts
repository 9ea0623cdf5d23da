import { createHash } from "node:crypto";
import { existsSync, lstatSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { monotonicMs } from "../../core/monotonic";
import { DAY_MS, describeCertificate, thumbprintOf } from "../../core/certificate";
import { BACKDATE_MS, buildSelfSigned, describeNames, generateKey, replacementNames } from "../../core/self-signed";
import { type CommandRunner, describeExit } from "../command-runner";
import type {
  BackupItem,
  BackupSet,
  DeploysSupplied,
  GuardsTargets,
  HostInspection,
  RestartSpec,
  RotationContract,
  StepResult,
  WrittenFile,
} from "../host-backend";
import { writeFileAtomic } from "../local/atomic-write";
import { chainPem } from "../xrdp/xrdp-rotation";
import { withTlsPair } from "./grd-conf";
import { GRD_RDP_SCHEMA, type UserAccount, gsettingsEnvironment } from "./grd-gsettings";

/**
 * Rotation of gnome-remote-desktop's pair (issue 24). The old pair is never overwritten: a
 * new one is written beside it under rdpcert's names (A/B: `rdpcert-tls.*`, then
 * `rdpcert-tls-b.*`), owned by the user g-r-d runs as (key 0600, certificate 0644); the
 * configuration is pointed at it (system mode: `grdctl --system rdp set-tls-cert/-key` when
 * grdctl is there, else grd.conf rewritten crash-safely; user mode: `gsettings set` as the
 * user, through the session's bus when it runs, else a private one); then g-r-d is restarted,
 * since it reads its pair only when it starts. A rollback points the configuration back at
 * the old pair and restarts again.
 *
 * `rdpcert deploy` of a supplied (CA-issued) certificate takes the same path: the certificate
 * file holds the leaf then its chain (as certbot's fullchain.pem), the key its PEM, both
 * beside the old pair under the same A/B names. FreeRDP's server decides what it sends of
 * that file, so the verification checks the leaf on the wire (no ServesGivenChain).
 */
export interface GrdRotationOptions {
  readonly runner: CommandRunner;
  readonly mode: "user" | "system";
  /** Whose files and settings: the serving user (user mode) or gnome-remote-desktop (system mode). */
  readonly account: UserAccount;
  /** System mode: the grd.conf the keys are written to when grdctl is not used. */
  readonly confPath: string;
  /** grdctl to run in system mode; null: write grd.conf (g-r-d 46+'s daemons watch it). */
  readonly grdctl: string | null;
  readonly runtimeRoot?: string;
}

const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

/** Where the new pair goes: beside the configured certificate, under the name the configuration does not use now. */
export function grdTargets(inspection: HostInspection): { cert: string; key: string } {
  const dir = dirname(inspection.certificate.location);
  const now = basename(inspection.certificate.location);
  const stem = now === "rdpcert-tls.crt" ? "rdpcert-tls-b" : "rdpcert-tls";
  return { cert: join(dir, `${stem}.crt`), key: join(dir, `${stem}.key`) };
}

function readItem(role: BackupItem["role"], path: string): BackupItem | null {
  try {
    const stats = statSync(path);
    return { role, originalPath: path, data: readFileSync(path), mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid, wasLink: false };
  } catch {
    return null;
  }
}

export function defaultGrdRestart(mode: "user" | "system", user: string): string[] {
  return mode === "system"
    ? ["systemctl", "restart", "gnome-remote-desktop.service"]
    : ["systemctl", "--user", "--machine", `${user}@`, "restart", "gnome-remote-desktop.service"];
}

export function createGrdRotation(options: GrdRotationOptions): RotationContract & DeploysSupplied & GuardsTargets {
  const { runner, account } = options;
  const asUser = (): { uid?: number; gid?: number } => ((process.getuid?.() ?? -1) === 0 && account.uid !== 0 ? { uid: account.uid, gid: account.gid } : {});

  async function run(file: string, args: readonly string[], extra: { wholeEnv?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {}): Promise<StepResult> {
    const result = await runner(file, args, { timeoutMs: 30_000, ...extra });
    const text = [file, ...args].join(" ");
    if (result.spawnError) return { ok: false, reason: `${text} could not start: ${result.spawnError}` };
    if (result.timedOut) return { ok: false, reason: `${text} did not finish within 30000 ms` };
    if (result.exitCode !== 0) {
      const detail = (result.stderr.split("\n").find((l) => l.trim() !== "") ?? "").trim().slice(0, 200);
      return { ok: false, reason: `${text} ${describeExit(result)}${detail ? `: ${detail}` : ""}` };
    }
    return { ok: true, value: undefined };
  }

  /** Points g-r-d's configuration at a pair. */
  async function pointAt(certPath: string, keyPath: string): Promise<StepResult<{ readonly written: readonly string[] }>> {
    if (options.mode === "system") {
      if (options.grdctl) {
        for (const [verb, path] of [
          ["set-tls-cert", certPath],
          ["set-tls-key", keyPath],
        ] as const) {
          const done = await run(options.grdctl, ["--system", "rdp", verb, path]);
          if (!done.ok) return done;
        }
        return { ok: true, value: { written: [] } };
      }
      let text = "";
      let owner = { mode: 0o644, uid: 0, gid: 0 };
      try {
        text = readFileSync(options.confPath, "utf8");
        const stats = statSync(options.confPath);
        owner = { mode: stats.mode & 0o777, uid: stats.uid, gid: stats.gid };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT")
          return { ok: false, reason: `cannot read ${options.confPath}: ${(error as NodeJS.ErrnoException).code ?? "error"}` };
      }
      try {
        writeFileAtomic(options.confPath, withTlsPair(text, certPath, keyPath), owner);
      } catch (error) {
        return { ok: false, reason: `writing ${options.confPath} failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
      }
      return { ok: true, value: { written: [options.confPath] } };
    }
    // User mode: dconf's service writes the user's database; the session's own bus when it runs (its g-r-d and
    // GNOME Settings see the change), else a private bus for this one write.
    const env = gsettingsEnvironment(account, process.env, options.runtimeRoot);
    const bus = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, "bus") : null;
    for (const [key, path] of [
      ["tls-cert", certPath],
      ["tls-key", keyPath],
    ] as const) {
      const done =
        bus && existsSync(bus)
          ? await run("gsettings", ["set", GRD_RDP_SCHEMA, key, path], { wholeEnv: { ...env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${bus}` }, ...asUser() })
          : await run("dbus-run-session", ["--", "gsettings", "set", GRD_RDP_SCHEMA, key, path], { wholeEnv: env, ...asUser() });
      if (!done.ok) return done;
    }
    return { ok: true, value: { written: [] } };
  }

  const where =
    options.mode === "system"
      ? options.grdctl
        ? `grdctl --system rdp set-tls-cert/set-tls-key`
        : `tls-cert= and tls-key= in [RDP] of ${options.confPath}`
      : `GSettings ${GRD_RDP_SCHEMA} tls-cert and tls-key of ${account.name} (gsettings set as ${account.name})`;

  /**
   * The new pair goes into the directory of the configured certificate, which the serving user
   * may own (their home): written by root only where that directory is no link, belongs to root
   * or that user, and no one else can write it.
   */
  function refuseTargets(inspection: HostInspection): { reason: string; fix: string } | null {
    const dir = dirname(grdTargets(inspection).cert);
    let stats;
    try {
      stats = lstatSync(dir);
    } catch (error) {
      return {
        reason: `the certificate's directory ${dir} cannot be used: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
        fix: `point gnome-remote-desktop at a pair in an existing directory of ${account.name}'s`,
      };
    }
    const real = (() => {
      try {
        return realpathSync(dir);
      } catch {
        return dir;
      }
    })();
    if (stats.isSymbolicLink() || real !== dir)
      return {
        reason: `the certificate's directory ${dir} is a link (to ${real}): rdpcert does not write through it as root`,
        fix: `point gnome-remote-desktop at a pair in ${real}, then rotate`,
      };
    if (stats.uid !== 0 && stats.uid !== account.uid)
      return {
        reason: `the certificate's directory ${dir} belongs to uid ${stats.uid}, neither root nor ${account.name}`,
        fix: `chown ${account.name} ${dir}`,
      };
    if ((stats.mode & 0o022) !== 0)
      return {
        reason: `the certificate's directory ${dir} is writable by others (mode ${(stats.mode & 0o7777).toString(8).padStart(4, "0")})`,
        fix: `chmod go-w ${dir}`,
      };
    return null;
  }

  return {
    refuseTargets: (inspection) => refuseTargets(inspection),

    refuseSupplied(inspection, certificate) {
      if (certificate.keyPem === null || certificate.chain.length === 0)
        return {
          reason: "gnome-remote-desktop needs the certificate and its private key as files",
          fix: "pass --cert and --key (or --pfx, or --from-certbot)",
        };
      return refuseTargets(inspection);
    },

    describe(inspection, replacement, restart) {
      const targets = grdTargets(inspection);
      const spec = replacement.kind === "self-signed" ? replacement.spec : null;
      let old = null;
      try {
        old = inspection.certificate.state === "present" ? describeCertificate(inspection.certificate.der) : null;
      } catch {
        old = null;
      }
      return [
        `back up ${[inspection.certificate.location, inspection.key.location, options.mode === "system" && !options.grdctl ? options.confPath : null].filter(Boolean).join(", ")} into the state dir (0700, files 0600); the old pair is left where it is`,
        spec
          ? `generate a new RSA ${spec.keyBits} key and a self-signed certificate for ${describeNames(replacementNames(old, spec.names, spec.requested))}, valid ${spec.validityDays} days`
          : replacement.kind === "supplied"
            ? `take the certificate ${replacement.certificate.thumbprint} (${replacement.certificate.names.join(", ") || "no names"}, valid until ${replacement.certificate.notAfter.toISOString()}) with its ${replacement.certificate.chain.length - 1} chain certificate${replacement.certificate.chain.length === 2 ? "" : "s"} and its key from ${replacement.certificate.origin}`
            : "write the supplied certificate",
        `write ${targets.cert} (0644) and ${targets.key} (0600), owned by ${account.name}, crash-safely`,
        `point ${where} at them`,
        restart.enabled
          ? `restart: ${(restart.command ?? defaultGrdRestart(options.mode, account.name)).join(" ")} (gnome-remote-desktop reads its pair only when it starts; this ends its remote sessions)`
          : "no restart (--no-restart): gnome-remote-desktop keeps serving the old pair until it restarts, so the verification will fail",
      ];
    },

    async collectBackup(inspection): Promise<StepResult<BackupSet>> {
      const items: BackupItem[] = [];
      for (const [role, path] of [
        ["certificate", inspection.certificate.location],
        ["key", inspection.key.location ?? ""],
      ] as const) {
        const item = path ? readItem(role, path) : null;
        if (item) items.push(item);
      }
      if (options.mode === "system" && !options.grdctl) {
        const conf = readItem("config", options.confPath);
        if (conf) items.push(conf);
      }
      const cert = inspection.certificate;
      return {
        ok: true,
        value: {
          backend: "gnome-remote-desktop",
          thumbprint: cert.state === "present" ? thumbprintOf(cert.der) : null,
          items,
          extra: { mode: options.mode, user: account.name, certPath: inspection.certificate.location, keyPath: inspection.key.location },
        },
      };
    },

    async replace(inspection, replacement, now, beforeWrite) {
      const targets = grdTargets(inspection);
      if (replacement.kind === "supplied") {
        const supplied = replacement.certificate;
        if (supplied.keyPem === null) return { ok: false, reason: "gnome-remote-desktop needs the certificate's private key as a file" };
        try {
          const certText = chainPem(supplied.chain);
          beforeWrite?.([
            { path: targets.key, sha256: sha256(supplied.keyPem) },
            { path: targets.cert, sha256: sha256(certText) },
          ]);
          writeFileAtomic(targets.key, supplied.keyPem, { mode: 0o600, uid: account.uid, gid: account.gid });
          writeFileAtomic(targets.cert, certText, { mode: 0o644, uid: account.uid, gid: account.gid });
        } catch (error) {
          return { ok: false, reason: `writing the supplied pair failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
        }
        const pointed = await pointAt(targets.cert, targets.key);
        if (!pointed.ok) return { ok: false, reason: `the supplied pair is written, but pointing gnome-remote-desktop at it failed: ${pointed.reason}` };
        return { ok: true, value: { thumbprint: supplied.thumbprint, written: [targets.key, targets.cert, ...pointed.value.written] } };
      }
      const spec = replacement.spec;
      try {
        const started = monotonicMs();
        let old = null;
        try {
          old = inspection.certificate.state === "present" ? describeCertificate(inspection.certificate.der) : null;
        } catch {
          old = null;
        }
        const names = replacementNames(old, spec.names, spec.requested);
        const pair = buildSelfSigned(generateKey({ type: "rsa", bits: spec.keyBits }), {
          commonName: names.commonName,
          dnsNames: names.dnsNames,
          ipAddresses: names.ipAddresses,
          notBefore: new Date(now.getTime() - BACKDATE_MS),
          notAfter: new Date(now.getTime() + spec.validityDays * DAY_MS),
        });
        const keygenMs = monotonicMs() - started;
        const planned: WrittenFile[] = [
          { path: targets.key, sha256: sha256(pair.keyPem) },
          { path: targets.cert, sha256: sha256(pair.certPem) },
        ];
        beforeWrite?.(planned);
        writeFileAtomic(targets.key, pair.keyPem, { mode: 0o600, uid: account.uid, gid: account.gid });
        writeFileAtomic(targets.cert, pair.certPem, { mode: 0o644, uid: account.uid, gid: account.gid });
        const pointed = await pointAt(targets.cert, targets.key);
        if (!pointed.ok) return { ok: false, reason: `the new pair is written, but pointing gnome-remote-desktop at it failed: ${pointed.reason}` };
        const der = Buffer.from(pair.certPem.replace(/-----[^-]+-----|\s+/g, ""), "base64");
        return { ok: true, value: { thumbprint: thumbprintOf(der), written: [targets.key, targets.cert, ...pointed.value.written], keygenMs } };
      } catch (error) {
        return { ok: false, reason: `writing the new pair failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
      }
    },

    async restart(restart: RestartSpec) {
      if (!restart.enabled) return { ok: true, value: { command: null } };
      const argv = restart.command ?? defaultGrdRestart(options.mode, account.name);
      const [file, ...args] = argv;
      const result = await runner(file!, args, { timeoutMs: restart.timeoutMs });
      const text = argv.join(" ");
      if (result.spawnError) return { ok: false, reason: `restart command ${text} could not start: ${result.spawnError}` };
      if (result.timedOut) return { ok: false, reason: `restart command ${text} did not finish within ${restart.timeoutMs} ms` };
      if (result.exitCode !== 0) {
        const detail = (result.stderr || result.stdout).trim().split("\n")[0] ?? "";
        return { ok: false, reason: `restart command ${text} ${describeExit(result)}${detail ? `: ${detail}` : ""}` };
      }
      return { ok: true, value: { command: text } };
    },

    async restore(backup) {
      const restored: string[] = [];
      const certPath = typeof backup.extra?.certPath === "string" ? backup.extra.certPath : null;
      const keyPath = typeof backup.extra?.keyPath === "string" ? backup.extra.keyPath : null;
      // The old pair's files, where they changed or went away (rotation never writes them; a hand might have).
      for (const item of backup.items.filter((i) => i.role !== "config")) {
        let same = false;
        try {
          same = sha256(readFileSync(item.originalPath)) === sha256(item.data);
        } catch {
          same = false;
        }
        if (same) continue;
        try {
          writeFileAtomic(item.originalPath, item.data, { mode: item.mode & 0o777, uid: item.uid, gid: item.gid });
          restored.push(item.originalPath);
        } catch (error) {
          return { ok: false, reason: `restoring ${item.originalPath} failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
        }
      }
      const conf = backup.items.find((i) => i.role === "config");
      if (conf) {
        try {
          writeFileAtomic(conf.originalPath, conf.data, { mode: conf.mode & 0o777, uid: conf.uid, gid: conf.gid });
          restored.push(conf.originalPath);
        } catch (error) {
          return { ok: false, reason: `restoring ${conf.originalPath} failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
        }
      } else if (certPath && keyPath) {
        const pointed = await pointAt(certPath, keyPath);
        if (!pointed.ok) return { ok: false, reason: `pointing gnome-remote-desktop back at ${certPath} failed: ${pointed.reason}` };
        restored.push(`${where} -> ${certPath}, ${keyPath}`);
      }
      return { ok: true, value: { restored } };
    },
  };
}
