/**
 * The host contract: every kind of RDP server (src/hosts/<kind>/) answers the
 * same questions in the same shapes, so that status, rotate and doctor never
 * know which one they talk to. Modelled on certbot's installer interface.
 *
 * Inspection never throws for a broken host: a missing file, an unreadable key
 * or a failing PowerShell call is a fact to report, not an exception.
 */

export type BackendKind = "windows" | "xrdp";

/** "I cannot run here, because ..." (win-acme's plugin capability). */
export type Capability = { readonly available: true } | { readonly available: false; readonly reason: string };

/** How the listener is configured to secure connections. */
export type SecurityLayer = "rdp" | "negotiate" | "tls" | "unknown";

export interface ListenerConfig {
  /**
   * The address it binds: null when the configuration names only a port (all
   * addresses), "0.0.0.0" / "::" for explicit wildcards; status probes
   * loopback for all of these.
   */
  readonly address: string | null;
  readonly port: number;
  readonly securityLayer: SecurityLayer;
  /** Network Level Authentication required (Windows); null where it does not apply. */
  readonly nla: boolean | null;
  /**
   * The TLS versions the server is configured to offer (xrdp's ssl_protocols,
   * e.g. ["TLSv1.2", "TLSv1.3"]); null where the configuration does not say.
   */
  readonly tlsVersions?: readonly string[] | null;
}

/**
 * Whose file access the key and certificate checks used: the process that
 * listens on the port (observed), or the service unit's User=/Group= when no
 * listening process could be seen (a prediction, and said to be one).
 */
export interface ServerIdentity {
  readonly basis: "listener" | "unit" | "unknown";
  /** "xrdp", "root", "xrdp:xrdp"; null when unknown. */
  readonly name: string | null;
  readonly pid: number | null;
  /** One line for people: "xrdp (pid 812) listening on port 3389 runs as root". */
  readonly detail: string;
}

/**
 * A problem the running server does not have but would have after a restart,
 * e.g. xrdp runs as root now while its unit says User=xrdp, who cannot read
 * the key. Always a WARNING: the wire shows the server working now.
 */
export interface RestartPrediction {
  readonly code: string;
  readonly message: string;
  readonly fix: string | null;
}

/**
 * The certificate the listener is configured to use. `der` is present only
 * when the bytes could be read; whether they parse is for core/assess to say.
 */
export type ConfiguredCertificate =
  | {
      readonly state: "present";
      readonly der: Buffer;
      /** Where it lives: a file path, or `Cert:\LocalMachine\Remote Desktop\<thumbprint>`. */
      readonly location: string;
    }
  | {
      /** "unchecked": rdpcert itself could not read it (not root); the verdict rests on the wire. */
      readonly state: "missing" | "unreadable" | "not-pem" | "unchecked";
      readonly location: string;
      readonly reason: string;
      /** What to do about it, when the backend knows better than the generic advice. */
      readonly fix?: string | null;
    };

/**
 * The private key's state, from the server's point of view:
 * - ok: exists, readable by the server, and matches the certificate's public key;
 * - missing / unreadable (by us or by the server's runtime user) / not-a-key;
 * - mismatch: a valid key, but for another certificate;
 * - unknown: could not be checked (e.g. no permission to look).
 */
export interface KeyState {
  readonly state: "ok" | "missing" | "unreadable" | "not-a-key" | "mismatch" | "unknown";
  readonly location: string | null;
  readonly reason: string | null;
  /** What to do about it, when the backend knows better than the generic advice. */
  readonly fix?: string | null;
  /** For "unreadable": whose access was judged (see ServerIdentity). */
  readonly basis?: ServerIdentity["basis"];
}

/** Who issued it decides what rdpcert may do: a CA-issued certificate is never deleted. */
export type Issuance = "self-signed" | "ca-issued" | "unknown";

/** A backend-specific observation (key mode, service state, event log), with a fix where one is known. */
export interface HostFinding {
  readonly severity: "info" | "warn" | "critical";
  /** Stable identifier for tools, e.g. "key-world-readable", "event-1058". */
  readonly code: string;
  readonly message: string;
  readonly fix: string | null;
}

export interface HostInspection {
  readonly backend: BackendKind;
  /** Where the configuration was read from (an ini path, `WMI Win32_TSGeneralSetting RDP-tcp`). */
  readonly source: string;
  readonly listener: ListenerConfig;
  readonly certificate: ConfiguredCertificate;
  readonly key: KeyState;
  readonly issuance: Issuance;
  /** The thumbprint the configuration names (Windows); null where the config names files. */
  readonly configuredThumbprint: string | null;
  readonly findings: readonly HostFinding[];
  /** Who serves (xrdp); absent where the backend does not tell. */
  readonly server?: ServerIdentity;
  readonly afterRestart?: readonly RestartPrediction[];
}

/**
 * Failure to inspect at all (backend unavailable, no permission to read the
 * configuration): the verdict is UNKNOWN with this reason.
 */
export type InspectOutcome = { readonly ok: true; readonly inspection: HostInspection } | { readonly ok: false; readonly reason: string; readonly fix: string | null };

export interface HostBackend {
  readonly kind: BackendKind;
  capability(): Promise<Capability>;
  inspect(): Promise<InspectOutcome>;
  /** Absent where rotation is not implemented for this kind yet. */
  readonly rotation?: RotationSteps;
}

/** A step that may fail: the reason is one line for people and the log. */
export type StepResult<T = undefined> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

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

export interface RestartSpec {
  /** false: --no-restart. */
  readonly enabled: boolean;
  /** argv of a restart command (xrdp); null: the backend's own restart, or none for xrdp (it reloads per connection). */
  readonly command: readonly string[] | null;
  readonly timeoutMs: number;
}

/**
 * The installer half of the contract (certbot's deploy/save/restart/rollback):
 * the rotation state machine in src/rotation drives these steps and owns the
 * lock, the journal and the backups.
 */
export interface RotationSteps {
  /**
   * A step that must not run here, e.g. a Windows rotation from inside an RDP
   * session, which a TermService restart would cut off: why, or null.
   */
  mustHandOff?(): string | null;
  /** The exact plan, as lines for people (`--dry-run` prints it). */
  describe(inspection: HostInspection, spec: ReplacementSpec, restart: RestartSpec): readonly string[];
  collectBackup(inspection: HostInspection): Promise<StepResult<BackupSet>>;
  replace(
    inspection: HostInspection,
    spec: ReplacementSpec,
    now: Date,
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
   */
  restore(backup: BackupSet): Promise<StepResult<{ readonly restored: readonly string[]; readonly oldCertificateGone?: string }>>;
}
