import { lookup } from "node:dns/promises";
import * as net from "node:net";
import { type DoctorFacts, type LinkSample, type NegotiationAttempt, diagnose, doctorExitCode, linkStats } from "../../core/diagnosis";
import { DEFAULT_RENEWAL_FRACTION } from "../../core/policy";
import { TargetError, parseTarget, probeAddressFor } from "../../core/target";
import type { BackendChoice } from "../../hosts/select-backend";
import { PROTOCOL_HYBRID, PROTOCOL_SSL, negotiationFailureNames, protocolName } from "../../probe/negotiation";
import { type ProbeResult, probe } from "../../probe/prober";
import { ExitCode, UsageError } from "../exit-codes";
import { collectStatus } from "./status";

export interface DoctorOptions {
  readonly target?: string;
  readonly port: number;
  readonly samples: number;
  readonly timeout: number;
  readonly warnDays: number;
  readonly backend: BackendChoice;
  readonly xrdpIni?: string;
  readonly json: boolean;
}

export const DOCTOR_SCHEMA = "rdpcert.doctor/v1";

function tcpCheck(address: string, port: number, timeoutMs: number): Promise<DoctorFacts["reachability"][number]> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect({ host: address, port });
    const done = (result: "open" | "refused" | "timeout" | "error", detail: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ address, result, detail });
    };
    const timer = setTimeout(() => done("timeout", `no answer within ${timeoutMs} ms (filtered, or host down)`), timeoutMs);
    socket.once("connect", () => done("open", `connected in ${Date.now() - started} ms`));
    socket.once("error", (error: NodeJS.ErrnoException) =>
      done(error.code === "ECONNREFUSED" ? "refused" : "error", error.code === "ECONNREFUSED" ? "connection refused (nothing listens)" : `${error.code ?? error.message}`),
    );
  });
}

function attempt(offered: NegotiationAttempt["offered"], requestedProtocols: number, result: ProbeResult): NegotiationAttempt {
  const confirm = result.confirm;
  return {
    offered,
    requestedProtocols,
    selected: confirm?.type === "response" ? protocolName(confirm.selectedProtocol) : confirm?.type === "legacy" ? "RDP" : null,
    failure: confirm?.type === "failure" ? `${negotiationFailureNames[confirm.failureCode] ?? "UNKNOWN"} (${confirm.failureCode})` : null,
    error: confirm ? null : result.error?.kind ?? null,
  };
}

export async function gatherDoctorFacts(options: DoctorOptions) {
  let target: DoctorFacts["target"];
  let host: DoctorFacts["host"] = null;
  if (options.target !== undefined) {
    try {
      const t = parseTarget(options.target, options.port);
      target = { input: t.input, host: t.host, port: t.port, local: false };
    } catch (error) {
      if (error instanceof TargetError) throw new UsageError(error.message);
      throw error;
    }
  } else {
    const status = await collectStatus({ backend: options.backend, xrdpIni: options.xrdpIni, timeout: options.timeout, warnDays: options.warnDays, renewalFraction: DEFAULT_RENEWAL_FRACTION });
    if (!status.outcome.ok) return { ok: false as const, reason: `cannot find the local listener: ${status.outcome.reason}`, fix: status.outcome.fix };
    const listener = status.outcome.inspection.listener;
    const address = probeAddressFor(listener.address);
    target = { input: `${address.includes(":") ? `[${address}]` : address}:${listener.port}`, host: address, port: listener.port, local: true };
    host = { assessment: status.assessment, findings: status.outcome.inspection.findings };
  }

  let resolved: DoctorFacts["resolved"];
  try {
    const found = await lookup(target.host, { all: true });
    resolved = { addresses: [...new Set(found.map((f) => f.address))], error: null };
  } catch (error) {
    resolved = { addresses: [], error: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
  }
  const reachability = await Promise.all(resolved.addresses.map((a) => tcpCheck(a, target.port, options.timeout)));
  const open = reachability.find((r) => r.result === "open");
  const at = (requestedProtocols: number) => probe({ input: target.input, host: open!.address, port: target.port }, { timeoutMs: options.timeout, requestedProtocols });

  let negotiation: NegotiationAttempt[] = [];
  let handshake: DoctorFacts["handshake"] = null;
  let link: DoctorFacts["link"] = null;
  const certificateNameAddresses: Record<string, string[]> = {};
  if (open) {
    const [tlsOnly, credssp, rdpOnly, main] = [await at(PROTOCOL_SSL), await at(PROTOCOL_HYBRID | PROTOCOL_SSL), await at(0), await at(PROTOCOL_SSL | PROTOCOL_HYBRID)];
    negotiation = [attempt("TLS", PROTOCOL_SSL, tlsOnly), attempt("CredSSP", PROTOCOL_HYBRID | PROTOCOL_SSL, credssp), attempt("RDP", 0, rdpOnly)];
    handshake = { error: main.error, certificate: main.certificate, tls: main.tls };
    if (main.certificate) {
      const names = main.certificate.subjectAltNames.filter((s) => s.startsWith("DNS:") && !s.includes("*")).map((s) => s.slice(4)).slice(0, 5);
      for (const name of names) {
        try {
          certificateNameAddresses[name] = (await lookup(name, { all: true })).map((f) => f.address);
        } catch {
          // A name that does not resolve says nothing about this server.
        }
      }
      const samples: LinkSample[] = [];
      for (let i = 0; i < options.samples; i++) {
        const r = await at(PROTOCOL_SSL | PROTOCOL_HYBRID);
        samples.push({ ok: r.error === null, totalMs: r.timings.totalMs, error: r.error?.kind ?? null });
      }
      link = linkStats(samples);
    }
  }
  const facts: DoctorFacts = { target, resolved, reachability, negotiation, handshake, certificateNameAddresses, link, host, warnDays: options.warnDays, now: new Date() };
  return { ok: true as const, facts };
}

const mark = { pass: "[ ok ]", fail: "[FAIL]", warn: "[warn]", skip: "[skip]" } as const;

export async function doctorCommand(options: DoctorOptions): Promise<number> {
  const gathered = await gatherDoctorFacts(options);
  if (!gathered.ok) {
    if (options.json) process.stdout.write(`${JSON.stringify({ schema: DOCTOR_SCHEMA, exitCode: 3, error: gathered.reason, fix: gathered.fix })}\n`);
    else process.stderr.write(`rdpcert: doctor could not run: ${gathered.reason}${gathered.fix ? `; ${gathered.fix}` : ""}\n`);
    return ExitCode.UNKNOWN;
  }
  const { facts } = gathered;
  const diagnosis = diagnose(facts);
  const exitCode = doctorExitCode(diagnosis.causes);
  const failing = diagnosis.causes.filter((c) => c.severity !== "note");
  const notes = diagnosis.causes.filter((c) => c.severity === "note");
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          schema: DOCTOR_SCHEMA,
          generatedAt: facts.now.toISOString(),
          target: facts.target,
          exitCode,
          mostLikelyCause: failing[0] ?? null,
          causes: failing,
          notes,
          checks: diagnosis.checks,
          negotiation: facts.negotiation,
          link: facts.link,
        },
        null,
        2,
      )}\n`,
    );
    return exitCode;
  }
  let out = `rdpcert doctor ${facts.target.input}${facts.target.local ? " (this host's listener)" : ""}\n\n`;
  for (const c of diagnosis.checks) out += `${mark[c.status]} ${c.title.padEnd(34)} ${c.detail}\n`;
  const [first, ...others] = failing;
  if (first) {
    out += `\n${first.severity === "warn" ? "Warning" : "Most likely cause"}: ${first.summary}\n${first.fix.map((f) => `  fix: ${f}\n`).join("")}`;
    for (const other of others) out += `Also: ${other.summary}\n${other.fix.map((f) => `  fix: ${f}\n`).join("")}`;
  } else {
    out += `\nNo cause found on the server side: the listener negotiates TLS and presents a valid certificate over a healthy link.\nIf one client still fails with 0x904, clear that client's cached state (Default.rdp, the bitmap cache, the stored certificate for this host).\n`;
  }
  for (const note of notes) out += `Note: ${note.summary}\n${note.fix.map((f) => `  ${f}\n`).join("")}`;
  process.stdout.write(out);
  return exitCode;
}

export interface ClientDoctorOptions {
  readonly host: string | null;
  readonly fix: boolean;
  readonly json: boolean;
  readonly platform?: NodeJS.Platform;
}

/** `rdpcert doctor --client [HOST] [--fix]`: the Windows client side of 0x904. */
export async function clientDoctorCommand(options: ClientDoctorOptions): Promise<number> {
  const platform = options.platform ?? process.platform;
  if (platform !== "win32") throw new UsageError(`doctor --client inspects the Windows Remote Desktop client (mstsc) of this machine; this host runs ${platform}`);
  const { clientExitCode, inspectClient } = await import("../../hosts/windows/client");
  const { runCommand } = await import("../../hosts/command-runner");
  const backupDir = `${process.env.LOCALAPPDATA ?? "."}\\rdpcert\\client-backups\\${new Date().toISOString().replace(/[:.]/g, "-")}`;
  const result = await inspectClient(runCommand, { host: options.host, fix: options.fix, backupDir });
  if (!result.ok) {
    process.stderr.write(`rdpcert: doctor --client could not run: ${result.reason}\n`);
    return ExitCode.UNKNOWN;
  }
  const { items, actions, fixError } = result.state;
  const exitCode = clientExitCode(result.state);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ schema: "rdpcert.doctor-client/v1", host: options.host, items, actions, fixError, exitCode }, null, 2)}\n`);
  } else {
    for (const item of items) process.stdout.write(`[found] ${item.kind.padEnd(19)} ${item.location}\n        ${item.detail}\n`);
    for (const action of actions) process.stdout.write(`[fixed] removed ${action.item}; backup in ${action.backup}\n`);
    if (fixError) process.stdout.write(`[stopped] ${fixError}\n        ${actions.length ? "the items above were already removed (and backed up); " : "nothing was removed; "}close mstsc and run the fix again\n`);
    if (items.length === 0) process.stdout.write("No cached client state found: the client side is clean.\n");
    else if (!options.fix) process.stdout.write(`\nThis is how a used client looks. If only this client fails, stale client state is the likely cause.\n  fix: rdpcert doctor --client${options.host ? ` ${options.host}` : ""} --fix   (each item is backed up first)\n`);
  }
  return exitCode === 2 ? ExitCode.CRITICAL : ExitCode.OK;
}
