/**
 * What a host backend reports about a listener, as the domain judges it
 * (core/assess, core/diagnosis, core/run-policy). The backends in src/hosts
 * fill these in; core owns them, so nothing in core imports from the layers
 * above it.
 *
 * Inspection never throws for a broken host: a missing file, an unreadable key
 * or a failing PowerShell call is a fact to report, not an exception.
 */

/** Every kind of RDP server rdpcert has a backend for (src/hosts/<kind>/). */
export const BACKEND_KINDS = ["windows", "xrdp", "weston", "freerdp-shadow", "pem-pair", "gnome-remote-desktop"] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

/** The kinds that serve a PEM certificate file and key file on Linux (every kind but Windows). */
export function servesPemFiles(kind: BackendKind): boolean {
  return kind !== "windows";
}

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
      /** false: the path holds something that is not a certificate, which rdpcert will not overwrite. */
      readonly replaceable?: boolean;
    };

/**
 * The private key's state, from the server's point of view:
 * - ok: exists, readable by the server, and matches the certificate's public key;
 * - missing / unreadable (by us or by the server's runtime user) / not-a-key;
 * - corrupt: the key exists but will not open for the identity that serves
 *   (Windows: the key behind the certificate is damaged, the 0x904/0x7 case);
 * - mismatch: a valid key, but for another certificate;
 * - unknown: could not be checked (e.g. no permission to look).
 */
export interface KeyState {
  readonly state: "ok" | "missing" | "unreadable" | "not-a-key" | "corrupt" | "mismatch" | "unknown";
  readonly location: string | null;
  readonly reason: string | null;
  /** What to do about it, when the backend knows better than the generic advice. */
  readonly fix?: string | null;
  /** For "unreadable": whose access was judged (see ServerIdentity). */
  readonly basis?: ServerIdentity["basis"];
  /**
   * false: a new pair would not fix it (the path holds something that is not the listener's key, and rdpcert will not overwrite it);
   * true: it would, even where the state alone says otherwise (Windows' own key: a new certificate comes with a new key and a correct ACL).
   */
  readonly replaceable?: boolean;
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
  /**
   * A new pair repairs it (a private key other users can read must be taken as known):
   * the verdict is then at least WARN, and `run` rotates for it.
   */
  readonly fixedByReplacement?: boolean;
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
export type InspectOutcome =
  { readonly ok: true; readonly inspection: HostInspection } | { readonly ok: false; readonly reason: string; readonly fix: string | null };
