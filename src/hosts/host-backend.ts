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
      readonly state: "missing" | "unreadable" | "not-pem";
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
}
