import { readlinkSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { BackendKind, HostBackend, InspectOutcome, ServerIdentity } from "../host-backend";
import type { CommandRunner } from "../command-runner";
import type { Identity } from "../local/file-access";
import { type ListenerProcess, type ListenerProcessLookup, findListenerProcess } from "../local/listening-process";
import { type PairLocation, inspectPair } from "./pair-inspect";
import { createPairRotation } from "./pair-rotation";
import { type Platform, isLinux } from "../../core/platform";

/** What every PEM-pair backend is built from (src/hosts/detect-server.ts passes it). */
export interface PairBackendContext {
  readonly port: number;
  readonly runner: CommandRunner;
  readonly platform: Platform;
  /** The listening process when detection already found it; else it is looked up on `port`. */
  readonly listener?: ListenerProcessLookup;
  /** pem-pair: the two files, from the configuration. */
  readonly certFile?: string | null;
  readonly keyFile?: string | null;
  /** Tests of the locators pass a /proc fixture. */
  readonly findListener?: (port: number) => ListenerProcessLookup;
}

/** A locator: where this kind of server keeps its pair, from its listening process; or why it cannot say. */
export type Locate = (
  ctx: PairBackendContext,
  lookup: ListenerProcessLookup,
) => { readonly ok: true; readonly location: PairLocation } | { readonly ok: false; readonly reason: string; readonly fix: string | null };

/** Who serves, in the inspection's terms. */
export function servingIdentity(
  lookup: ListenerProcessLookup,
  port: number,
  label: string,
): { serving: Identity | null; server: ServerIdentity; process: ListenerProcess | null } {
  if (lookup.kind === "found") {
    const p = lookup.process;
    return {
      serving: p.identity,
      process: p,
      server: {
        basis: "listener",
        name: p.identity.name,
        pid: p.pid,
        detail: `${p.command} (pid ${p.pid}) listening on port ${port} runs as ${p.identity.name}`,
      },
    };
  }
  const why = lookup.kind === "none" ? `nothing listens on port ${port}` : lookup.reason;
  return { serving: null, process: null, server: { basis: "unknown", name: null, pid: null, detail: `${label}: ${why}` } };
}

/** A path from a process's command line: relative ones are taken from its working directory (/proc/PID/cwd). */
export function fromProcessCwd(process: ListenerProcess, path: string): string {
  if (isAbsolute(path)) return path;
  try {
    return join(readlinkSync(join(process.proc, String(process.pid), "cwd")), path);
  } catch {
    return path;
  }
}

export function createPairBackend(kind: BackendKind, label: string, ctx: PairBackendContext, locate: Locate, rereadsPerConnection: boolean): HostBackend {
  let serving: Identity | null = null;
  // Detection's lookup serves the first inspection only: after a reload the server may have another pid.
  let detected = ctx.listener;
  const lookup = (): ListenerProcessLookup => {
    const found = detected ?? (ctx.findListener ? ctx.findListener(ctx.port) : findListenerProcess(ctx.port, null));
    detected = undefined;
    return found;
  };
  return {
    kind,
    capability: async () =>
      isLinux(ctx.platform) ? { available: true } : { available: false, reason: `the ${kind} backend reads /proc, so it runs on Linux only` },
    inspect: async (): Promise<InspectOutcome> => {
      const located = locate(ctx, lookup());
      if (!located.ok) return located;
      serving = located.location.serving;
      return { ok: true, inspection: inspectPair(located.location) };
    },
    rotation: createPairRotation({ kind, label, runner: ctx.runner, serving: () => serving, rereadsPerConnection }),
  };
}
