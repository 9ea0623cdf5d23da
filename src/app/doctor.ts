import type { Config } from "../core/config";
import { type DoctorFacts, type LinkSample, type NegotiationAttempt, linkStats } from "../core/diagnosis";
import type { ProbeResult } from "../core/probe-result";
import { type Target, formatEndpoint, probeAddressFor } from "../core/target";
import { PROTOCOL_HYBRID, PROTOCOL_SSL, negotiationFailureNames, protocolName } from "../probe/negotiation";
import { probe, resolveDeadline } from "../probe/prober";
import { tcpCheck } from "../probe/tcp-check";
import { ResolveTimeout, lookupWithin } from "../hosts/local/resolve-name";
import { collectStatus } from "./status";

/**
 * `rdpcert doctor`'s use case: measure (resolution, TCP per address, the
 * negotiation matrix, TLS and the certificate, link quality) and, on the host,
 * add the status view. Pure judgement lives in core/diagnosis.ts.
 */

function attempt(offered: NegotiationAttempt["offered"], requestedProtocols: number, result: ProbeResult): NegotiationAttempt {
  const confirm = result.confirm;
  return {
    offered,
    requestedProtocols,
    selected: confirm?.type === "response" ? protocolName(confirm.selectedProtocol) : confirm?.type === "legacy" ? "RDP" : null,
    failure: confirm?.type === "failure" ? `${negotiationFailureNames[confirm.failureCode] ?? "UNKNOWN"} (${confirm.failureCode})` : null,
    error: confirm ? null : (result.error?.kind ?? null),
  };
}

export interface DoctorRequest {
  /** A target from anywhere; null: this host's listener, with the configuration's view. */
  readonly target: Target | null;
  readonly samples: number;
}

export type DoctorGathered = { readonly ok: true; readonly facts: DoctorFacts } | { readonly ok: false; readonly reason: string; readonly fix: string | null };

/** doctor's measurements, from the most to the least likely cause of "0x904 / extended 0x7" (core/diagnosis.ts's order); core/diagnosis judges them. */
export async function gatherDoctorFacts(config: Config, request: DoctorRequest): Promise<DoctorGathered> {
  const options = { timeout: config.timeoutMs, samples: request.samples };
  let target: DoctorFacts["target"];
  let host: DoctorFacts["host"] = null;
  if (request.target) {
    target = { input: request.target.input, host: request.target.host, port: request.target.port, local: false };
  } else {
    const status = await collectStatus(config, { recover: false });
    if (!status.outcome.ok) return { ok: false, reason: `cannot find the local listener: ${status.outcome.reason}`, fix: status.outcome.fix };
    const listener = status.outcome.inspection.listener;
    const address = probeAddressFor(listener.address);
    target = { input: formatEndpoint(address, listener.port), host: address, port: listener.port, local: true };
    host = { assessment: status.assessment, findings: status.outcome.inspection.findings };
  }

  // Resolution gets the probe's share of --timeout (half), so a DNS server that never answers cannot hold doctor.
  const resolveMs = resolveDeadline(options.timeout);
  let resolved: DoctorFacts["resolved"];
  try {
    resolved = { addresses: await lookupWithin(target.host, resolveMs), error: null };
  } catch (error) {
    resolved = {
      addresses: [],
      error:
        error instanceof ResolveTimeout
          ? `no answer within ${resolveMs} ms (half of --timeout): check the DNS servers (/etc/resolv.conf), or give the IP address`
          : ((error as NodeJS.ErrnoException).code ?? (error as Error).message),
    };
  }
  const reachability = await Promise.all(resolved.addresses.map((a) => tcpCheck(a, target.port, options.timeout)));
  const open = reachability.find((r) => r.result === "open");
  // The matrix rows show each offer's own answer (no re-offer, no policy step); the main probe learns the NLA policy.
  const at = (requestedProtocols: number, main = false) =>
    probe(
      { input: target.input, host: open!.address, port: target.port },
      { timeoutMs: options.timeout, requestedProtocols, ...(main ? {} : { reofferHybrid: false, nlaPolicy: false }) },
    );

  let negotiation: NegotiationAttempt[] = [];
  let handshake: DoctorFacts["handshake"] = null;
  let link: DoctorFacts["link"] = null;
  const certificateNameAddresses: Record<string, string[]> = {};
  if (open) {
    const [tlsOnly, credssp, rdpOnly, main] = [
      await at(PROTOCOL_SSL),
      await at(PROTOCOL_HYBRID | PROTOCOL_SSL),
      await at(0),
      await at(PROTOCOL_SSL | PROTOCOL_HYBRID, true),
    ];
    negotiation = [attempt("TLS", PROTOCOL_SSL, tlsOnly), attempt("CredSSP", PROTOCOL_HYBRID | PROTOCOL_SSL, credssp), attempt("RDP", 0, rdpOnly)];
    handshake = { error: main.error, certificate: main.certificate, tls: main.tls, nlaPolicy: main.nlaPolicy ?? null };
    if (main.certificate) {
      const names = main.certificate.subjectAltNames
        .filter((s) => s.startsWith("DNS:") && !s.includes("*"))
        .map((s) => s.slice(4))
        .slice(0, 5);
      // All at once, each within the same deadline: a name that does not resolve (in time) says nothing about this server.
      const found = await Promise.all(names.map((name) => lookupWithin(name, resolveMs).catch(() => null)));
      names.forEach((name, i) => {
        if (found[i]) certificateNameAddresses[name] = found[i]!;
      });
      const samples: LinkSample[] = [];
      for (let i = 0; i < options.samples; i++) {
        const r = await at(PROTOCOL_SSL | PROTOCOL_HYBRID);
        samples.push({ ok: r.error === null, totalMs: r.timings.totalMs, error: r.error?.kind ?? null });
      }
      link = linkStats(samples);
    }
  }
  const facts: DoctorFacts = {
    target,
    resolved,
    reachability,
    negotiation,
    handshake,
    certificateNameAddresses,
    link,
    host,
    warnDays: config.warnDays,
    now: new Date(),
  };
  return { ok: true, facts };
}
