/**
 * The host contract: every kind of RDP server (src/hosts/<kind>/) answers the
 * same questions in the same shapes, so that status, rotate and doctor never
 * know which one they talk to. Modelled on certbot's installer interface.
 * The inspection's data types belong to the domain (core/inspection.ts) and
 * are re-exported here for the backends.
 */

import type { SuppliedCertificate } from "../core/deploy-input";
import type { BackendKind, HostInspection, InspectOutcome } from "../core/inspection";
export type { SuppliedCertificate } from "../core/deploy-input";
export type {
  BackendKind,
  ConfiguredCertificate,
  HostFinding,
  HostInspection,
  InspectOutcome,
  Issuance,
  KeyState,
  ListenerConfig,
  RestartPrediction,
  SecurityLayer,
  ServerIdentity,
} from "../core/inspection";

/** "I cannot run here, because ..." (win-acme's plugin capability). */
export type Capability = { readonly available: true } | { readonly available: false; readonly reason: string };

/** What an inspection tells its caller before it ends. */
export interface InspectHooks {
  /**
   * The listener's address and port, as soon as the configuration names them
   * (before the slower checks: who serves, the pair as that user), so that
   * `status` can probe the wire while the inspection goes on. A backend that
   * learns them only at the end does not call it.
   */
  listenerKnown?(listener: { readonly address: string | null; readonly port: number }): void;
}

export interface HostBackend {
  readonly kind: BackendKind;
  capability(): Promise<Capability>;
  inspect(hooks?: InspectHooks): Promise<InspectOutcome>;
  /** Absent where rotation is not implemented for this kind yet. */
  readonly rotation?: RotationSteps;
}

/** A step that may fail: the reason is one line for people and the log. */
export type StepResult<T = undefined> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly reason: string;
      /** A restore stopped because the files hold a pair someone else deployed meanwhile (nothing was overwritten). */
      readonly conflict?: boolean;
    };

/** One thing a rotation saves before it changes anything. */
export interface BackupItem {
  readonly role: "certificate" | "key" | "config" | "pfx" | "thumbprint";
  /** Where it came from, and where a restore puts it back. */
  readonly originalPath: string;
  readonly data: Buffer;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** The path was a symlink: kept for reference, never written back through (the link target was not changed). */
  readonly wasLink: boolean;
}

export interface BackupSet {
  readonly backend: BackendKind;
  readonly thumbprint: string | null;
  readonly items: readonly BackupItem[];
  /** Backend-specific facts needed to restore (e.g. the configured Windows thumbprint). */
  readonly extra?: Record<string, unknown>;
}

/** A file a replacement writes, and the SHA-256 of what it writes there. */
export interface WrittenFile {
  readonly path: string;
  readonly sha256: string;
}

/**
 * What a rollback may do: write only to `allowed`
 * paths (the files the current configuration names, and rdpcert's own), and
 * overwrite a file only while it still holds the backup's bytes or what the
 * rotation wrote (`written`): anything else was deployed by someone else.
 */
export interface RestoreGuard {
  readonly inspection: HostInspection;
  /** Absent: not checked (a restore by hand, or a journal of an older version). */
  readonly written?: readonly WrittenFile[];
}

/** How to make the replacement certificate; the defaults are the issue's: RSA 2048, 180 days. */
export interface ReplacementSpec {
  readonly keyBits: 2048 | 3072 | 4096;
  readonly validityDays: number;
  /**
   * The host's names (FQDN first): used only when the old certificate's names
   * cannot be read and none were given.
   */
  readonly names: readonly string[];
  /** `rotate --name/--ip`: these names instead of the old certificate's. */
  readonly requested?: { readonly dnsNames: readonly string[]; readonly ipAddresses: readonly string[] } | null;
}

/** What a replacement puts in place: a new self-signed pair (rotate), or a supplied CA-issued certificate (deploy). */
export type Replacement =
  | { readonly kind: "self-signed"; readonly spec: ReplacementSpec }
  | { readonly kind: "supplied"; readonly certificate: SuppliedCertificate; readonly removeOld: boolean };

export interface RestartSpec {
  /** false: --no-restart. */
  readonly enabled: boolean;
  /** argv of a restart command (xrdp); null: the backend's own restart, or none for xrdp (it reloads per connection). */
  readonly command: readonly string[] | null;
  readonly timeoutMs: number;
  /**
   * Run only when the first handshake after the change still presents what was
   * there before (a server that does not re-read its pair): `restartCommand: "auto"`
   * on xrdp, which reads its pair for every new connection, so that a rotation
   * does not end the sessions of connected users.
   */
  readonly ifStale?: readonly string[] | null;
}

/**
 * The installer half of the contract, mandatory for every backend that rotates (certbot's
 * deploy/save/restart/rollback): the plan, the backup, the replacement, the restart and the
 * restore. The rotation state machine in src/rotation drives these steps and owns the lock,
 * the journal and the backups. What only some backends can do is a capability below; a
 * backend's factory names the capabilities it has in its return type.
 */
export interface RotationContract {
  /** The exact plan, as lines for people (`--dry-run` prints it). */
  describe(inspection: HostInspection, replacement: Replacement, restart: RestartSpec): readonly string[];
  /** `replacement`: what will be written (a deploy writes rdpcert's own files, which the backup must then cover). */
  collectBackup(inspection: HostInspection, replacement?: Replacement): Promise<StepResult<BackupSet>>;
  replace(
    inspection: HostInspection,
    replacement: Replacement,
    now: Date,
    /** Called with what will be written, before the first write (the journal records it). */
    beforeWrite?: (files: readonly WrittenFile[]) => void,
  ): Promise<
    StepResult<{
      readonly thumbprint: string | null;
      readonly written: readonly string[];
      readonly keygenMs?: number;
      /**
       * The repair fixes the binding, not the certificate (Windows: a configured thumbprint that
       * names a missing certificate was cleared, and the listener keeps serving its own valid one):
       * verify "a valid certificate is presented and the binding is clean", not "a different one".
       */
      readonly presentedMayStay?: boolean;
    }>
  >;
  /** `oldThumbprint`: a backend whose server regenerates the certificate (Windows) waits for one that differs. */
  restart(restart: RestartSpec, oldThumbprint: string | null): Promise<StepResult<{ readonly command: string | null }>>;
  /**
   * `oldCertificateGone`: the old certificate cannot come back (Windows' own key is not
   * exportable, so the backup holds no PFX); rollback then means "a valid certificate is
   * presented and the binding is as before", not "the old certificate again".
   * `renewableByHost`: the old certificate is one the server itself may replace on the
   * rollback's restart (Windows renews its own expired self-signed certificate): a valid
   * certificate presented with the binding as before is then a rollback too, and said so.
   */
  restore(
    backup: BackupSet,
    guard?: RestoreGuard,
  ): Promise<StepResult<{ readonly restored: readonly string[]; readonly oldCertificateGone?: string; readonly renewableByHost?: string }>>;
}

/** Capability: deploying a supplied (CA-issued) certificate (`rdpcert deploy`, and `run` finding a renewed one). */
export interface DeploysSupplied {
  /**
   * Why this supplied certificate must not be deployed here (Windows: a binding that a Group
   * Policy template manages, HashType 2), or null.
   */
  refuseSupplied(inspection: HostInspection, certificate: SuppliedCertificate): { readonly reason: string; readonly fix: string } | null;
}

/**
 * Capability: the chain on the wire. The listener sends exactly the chain it was given (xrdp: the
 * certificate file), so a deploy verifies every chain certificate on the wire. Without it, the
 * server builds the chain it sends from its own stores (Windows), and a deploy verifies the leaf.
 */
export interface ServesGivenChain {
  readonly servesGivenChain: true;
}

/** Capability: `deploy --remove-old`. */
export interface RemovesOld {
  /**
   * Called only after verification: removes the previous certificate (Windows: from
   * LocalMachine\\My or Remote Desktop, with its key) unless something still uses it.
   */
  removeOld(backup: BackupSet, keep: SuppliedCertificate): Promise<StepResult<{ readonly removed: readonly string[] }>>;
}

/**
 * Capability: certificates the host already holds that could replace the configured one (Windows:
 * valid certificates with a private key in LocalMachine\\My); `run` picks a newer one for the same names.
 */
export interface OffersCandidates {
  candidates(): Promise<StepResult<readonly SuppliedCertificate[]>>;
}

/** Capability: the hand-off. */
export interface HandsOff {
  /**
   * A step that must not run here, e.g. a Windows rotation from inside an RDP session, which a
   * TermService restart would cut off: why, or null.
   */
  mustHandOff(replacement?: Replacement): string | null;
}

/** Capability: refusing targets that must not be replaced at all. */
export interface GuardsTargets {
  /** Why the configured files must not be replaced at all (e.g. a key path that holds no key), or null. */
  refuseTargets(inspection: HostInspection): { readonly reason: string; readonly fix: string } | null;
}

/**
 * Capability: a configuration test before any restart (certbot's config_test): after the
 * replacement, whether what the server will load is loadable and consistent (xrdp: the pair as
 * written parses, and the key matches the certificate). A failure recovers the files, and the
 * listener is never restarted onto a pair it cannot use.
 */
export interface TestsConfig {
  configTest(inspection: HostInspection, replacement: Replacement, thumbprint: string | null): Promise<StepResult<{ readonly checked: string }>>;
}

/**
 * Capability: after the handshake showed the new certificate, what else says it did not take
 * (Windows: a fallback event 1051/1055/1059 since `since`), or null. A non-null answer rolls back.
 */
export interface ConfirmsAfterVerify {
  confirm(inspection: HostInspection, replacement: Replacement, since: Date): Promise<string | null>;
}

/** Capability: removing leftover temp files of interrupted crash-safe writes beside the managed files; returns what it removed. */
export interface SweepsLeftovers {
  removeLeftovers(inspection: HostInspection): readonly string[];
}

export type RotationCapabilities = DeploysSupplied &
  ServesGivenChain &
  RemovesOld &
  OffersCandidates &
  HandsOff &
  GuardsTargets &
  TestsConfig &
  ConfirmsAfterVerify &
  SweepsLeftovers;

/** What the state machine holds: the mandatory contract, and whichever capabilities this backend has. */
export type RotationSteps = RotationContract & Partial<RotationCapabilities>;
