import { X509Certificate } from "node:crypto";
import { describeCertificate } from "../../src/core/certificate";
import type { HostInspection, InspectOutcome } from "../../src/hosts/host-backend";
import type { ProbeError } from "../../src/probe/probe-error";
import type { ProbeResult } from "../../src/probe/prober";
import { certValid } from "./certs";

/** Plain values for the pure layers (assess, decideRun): shaped exactly as the backends and the prober return them. */
export function der(pem: string): Buffer {
  return Buffer.from(new X509Certificate(pem).raw);
}

export function inspected(overrides: Partial<HostInspection> = {}, certPem?: string): InspectOutcome {
  const pem = certPem ?? certValid(-10, 170).certPem;
  return {
    ok: true,
    inspection: {
      backend: "xrdp",
      source: "/etc/xrdp/xrdp.ini",
      listener: { address: null, port: 3389, securityLayer: "negotiate", nla: null },
      certificate: { state: "present", der: der(pem), location: "/etc/xrdp/cert.pem" },
      key: { state: "ok", location: "/etc/xrdp/key.pem", reason: null },
      issuance: "self-signed",
      configuredThumbprint: null,
      findings: [],
      ...overrides,
    },
  };
}

export function presentedBy(certPem: string | null, error: ProbeError | null = null): ProbeResult {
  const raw = certPem ? der(certPem) : null;
  return {
    target: { input: "127.0.0.1:3389", host: "127.0.0.1", port: 3389 },
    address: error ? null : "127.0.0.1",
    requestedProtocols: 3,
    confirm: error ? null : { type: "response", flags: 0, selectedProtocol: raw ? 1 : 0 },
    tls: raw ? { version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384" } : null,
    certificate: raw ? describeCertificate(raw) : null,
    certificateDer: raw,
    timings: { connectMs: 1, negotiationMs: 1, tlsMs: 1, totalMs: 3 },
    error,
  };
}
