import type { Config } from "../core/config";
import type { Policy } from "../core/policy";
import type { HostBackend } from "../hosts/host-backend";

/** What the configuration means for the verdict and the listener, shared by status and the session (kept light: status loads it on every run). */
export function policyOf(config: Config): Policy {
  return { warnDays: config.warnDays, renewalFraction: config.renewalFraction, rotateDays: config.rotateDays };
}

/** The config's `port`: probe and verify on this port (a port forward, a NAT) instead of the configured one. */
export function withPortOverride(backend: HostBackend, port: number): HostBackend {
  return {
    ...backend,
    inspect: async (hooks) => {
      const outcome = await backend.inspect(hooks?.listenerKnown ? { listenerKnown: (listener) => hooks.listenerKnown?.({ ...listener, port }) } : hooks);
      return outcome.ok ? { ok: true, inspection: { ...outcome.inspection, listener: { ...outcome.inspection.listener, port } } } : outcome;
    },
  };
}

/** What selecting the host backend needs from the configuration (src/hosts/select-backend.ts). */
export function backendSettings(config: Config) {
  return {
    backend: config.backend,
    xrdpIni: config.xrdpIni,
    grdConf: config.grdConf,
    grdUser: config.grdUser,
    port: config.port,
    warnDays: config.warnDays,
    certFile: config.certFile,
    keyFile: config.keyFile,
    reloadCommand: config.reloadCommand,
  };
}
