import type { HostBackend } from "../host-backend";
import { type Locate, type PairBackendContext, createPairBackend, servingIdentity } from "./pair-backend";

/**
 * Any RDP server configured with a PEM certificate file and key file (ogon, KRdp, a
 * server rdpcert has no backend for): the two paths come from rdpcert's configuration
 * (certFile, keyFile), the serving user from the process listening on --port (when it
 * can be seen), and a new pair is loaded by the optional reloadCommand (argv, never
 * through a shell) or by the server itself.
 */
export const locatePemPair: Locate = (ctx, lookup) => {
  if (!ctx.certFile || !ctx.keyFile) {
    return {
      ok: false,
      reason: "the pem-pair backend needs the two files the server serves: certFile and keyFile are not both configured",
      fix: 'set "certFile" and "keyFile" (absolute paths) in /etc/rdpcert/config.json, or RDPCERT_CERT_FILE and RDPCERT_KEY_FILE',
    };
  }
  const label = lookup.kind === "found" ? lookup.process.command : "the server";
  const who = servingIdentity(lookup, ctx.port, label);
  return {
    ok: true,
    location: {
      kind: "pem-pair",
      label,
      source: `certFile ${ctx.certFile} and keyFile ${ctx.keyFile} of rdpcert's configuration`,
      certPath: ctx.certFile,
      keyPath: ctx.keyFile,
      address: null,
      port: ctx.port,
      securityLayer: "negotiate",
      nla: null,
      process: who.process,
      serving: who.serving,
      server: who.server,
      findings: [],
    },
  };
};

export function createPemPairBackend(ctx: PairBackendContext, reloads: boolean): HostBackend {
  return createPairBackend("pem-pair", "the server", ctx, locatePemPair, !reloads);
}
