import {
  type ClientStore,
  STORE_NAMES,
  type PinVerdict,
  type StoredPin,
  comparePin,
  freerdp3Pin,
  knownHosts2Pin,
  mstscPin as mstscStoredPin,
  updateKnownHosts2,
} from "../core/client-pins";
import { type PinBundle, makePinBundle, mstscServerName, normalizeSha256, pemOf } from "../core/pin-bundle";
import type { Target } from "../core/target";
import { runCommand } from "../hosts/command-runner";
import { BoundedReadError, freerdpConfigDir, readStoreFile, writeStoreFile } from "../hosts/local/client-stores";
import { readBounded } from "../hosts/local/bounded-read";
import { probe } from "../probe/prober";
import { type Platform, currentPlatform, isWindows } from "../core/platform";

/**
 * `rdpcert client trust` and `doctor --client`'s pin comparison (issue 25): the
 * client side of a rotation. The listener is probed from here; a store is
 * written only when the certificate presented now has exactly the expected
 * SHA-256, and then with the pins of that presented certificate.
 *
 * Stores: on Linux and macOS the FreeRDP 2 and 3 stores of the user running
 * rdpcert (hosts/local/client-stores.ts); on Windows mstsc's CertHash in HKCU
 * (hosts/windows/client.ts, client-pin.ps1).
 */
export interface StoreReport {
  readonly store: ClientStore;
  readonly name: string;
  /** A file, or a registry key. */
  readonly location: string;
}

export interface StoreUpdate extends StoreReport {
  readonly result: "updated" | "already-pinned" | "failed";
  readonly detail: string | null;
}

export interface Presented {
  readonly sha256: string;
  readonly sha1: string;
}

export type TrustOutcome =
  | { readonly outcome: "trusted"; readonly presented: Presented; readonly stores: readonly StoreUpdate[] }
  /** The certificate presented now is not the expected one: nothing was written. */
  | { readonly outcome: "mismatch"; readonly presented: Presented; readonly expectedSha256: string }
  /** The listener could not be probed (or presented no certificate): nothing was written. */
  | { readonly outcome: "unreachable"; readonly reason: string };

export interface ClientEnvironment {
  readonly env?: NodeJS.ProcessEnv;
  readonly platform?: Platform;
}

async function presentedCertificate(
  target: Target,
  timeoutMs: number,
): Promise<{ ok: true; der: Buffer; presented: Presented } | { ok: false; reason: string }> {
  const result = await probe(target, { timeoutMs });
  if (result.error) return { ok: false, reason: `${target.input}: ${result.error.message}` };
  if (!result.certificateDer || !result.certificate) return { ok: false, reason: `${target.input} presented no certificate` };
  return {
    ok: true,
    der: result.certificateDer,
    presented: { sha256: result.certificate.sha256.toLowerCase(), sha1: result.certificate.thumbprint.toLowerCase() },
  };
}

function stores(platform: Platform): ClientStore[] {
  return isWindows(platform) ? ["mstsc"] : ["freerdp2", "freerdp3"];
}

function locationOf(store: ClientStore, target: Target, bundle: PinBundle | null, env: NodeJS.ProcessEnv): string {
  const dir = freerdpConfigDir(env);
  if (store === "freerdp2") return `${dir}/known_hosts2`;
  if (store === "freerdp3") return `${dir}/${bundle?.freerdp3ServerPem.path ?? `server/${target.host.toLowerCase()}_${target.port}.pem`}`;
  return `HKCU\\Software\\Microsoft\\Terminal Server Client\\Servers\\${mstscServerName(target.host, target.port)}`;
}

function errorText(error: unknown): string {
  if (error instanceof BoundedReadError) return error.message;
  const e = error as NodeJS.ErrnoException;
  // The errno and the path, never the content.
  return e.code ? `${e.code}${e.path ? ` on ${e.path}` : ""}` : (e.message ?? String(error)).split("\n")[0]!;
}

/** Pins HOST:PORT in the local client stores, only when the listener presents exactly `expectedSha256` now. */
export async function trustClient(
  request: { target: Target; expectedSha256: string; timeoutMs: number; now: Date },
  environment: ClientEnvironment = {},
): Promise<TrustOutcome> {
  const env = environment.env ?? process.env;
  const platform = environment.platform ?? currentPlatform();
  const expected = normalizeSha256(request.expectedSha256);
  if (expected === null) throw new Error("expectedSha256 is not a SHA-256");
  const seen = await presentedCertificate(request.target, request.timeoutMs);
  if (!seen.ok) return { outcome: "unreachable", reason: seen.reason };
  if (seen.presented.sha256 !== expected) return { outcome: "mismatch", presented: seen.presented, expectedSha256: expected };
  const bundle = makePinBundle(pemOf(seen.der), request.target.host, request.target.port, request.now);
  const updates: StoreUpdate[] = [];
  for (const store of stores(platform)) {
    const report = { store, name: STORE_NAMES[store], location: locationOf(store, request.target, bundle, env) };
    try {
      updates.push({ ...report, ...(await updateStore(store, report.location, bundle)) });
    } catch (error) {
      updates.push({ ...report, result: "failed", detail: errorText(error) });
    }
  }
  return { outcome: "trusted", presented: seen.presented, stores: updates };
}

async function updateStore(store: ClientStore, location: string, bundle: PinBundle): Promise<{ result: StoreUpdate["result"]; detail: string | null }> {
  const { host, port } = bundle.listener;
  switch (store) {
    case "freerdp2": {
      const { text } = readStoreFile(location);
      const next = updateKnownHosts2(text, host, port, bundle.freerdp2KnownHosts2);
      if (next === text) return { result: "already-pinned", detail: null };
      writeStoreFile(location, next);
      return { result: "updated", detail: null };
    }
    case "freerdp3": {
      const { text } = readStoreFile(location);
      if (text === bundle.freerdp3ServerPem.content) return { result: "already-pinned", detail: null };
      writeStoreFile(location, bundle.freerdp3ServerPem.content);
      return { result: "updated", detail: null };
    }
    case "mstsc": {
      const { mstscPin } = await import("../hosts/windows/client");
      const done = await mstscPin(runCommand, { server: bundle.mstscServerKey, certHash: bundle.sha1.hex });
      if (!done.ok) return { result: "failed", detail: done.reason };
      if (done.after !== bundle.sha1.thumbprint) return { result: "failed", detail: `CertHash reads ${done.after ?? "nothing"} after the write` };
      return { result: done.before === bundle.sha1.thumbprint ? "already-pinned" : "updated", detail: null };
    }
  }
}

export interface StoreComparison extends StoreReport {
  readonly verdict: PinVerdict;
  /** The hash the store pins (its algorithm's hex), when it pins one. */
  readonly pinned: string | null;
  readonly detail: string | null;
}

export type ClientPinsOutcome =
  { readonly ok: true; readonly presented: Presented; readonly stores: readonly StoreComparison[] } | { readonly ok: false; readonly reason: string };

/** What each local client store pins for HOST:PORT, against what the listener presents now. */
export async function compareClientPins(request: { target: Target; timeoutMs: number }, environment: ClientEnvironment = {}): Promise<ClientPinsOutcome> {
  const env = environment.env ?? process.env;
  const platform = environment.platform ?? currentPlatform();
  const seen = await presentedCertificate(request.target, request.timeoutMs);
  if (!seen.ok) return { ok: false, reason: seen.reason };
  const out: StoreComparison[] = [];
  for (const store of stores(platform)) {
    const report = { store, name: STORE_NAMES[store], location: locationOf(store, request.target, null, env) };
    let pin: StoredPin;
    try {
      pin = await readPin(store, report.location, request.target);
    } catch (error) {
      out.push({ ...report, verdict: "not-checked", pinned: null, detail: errorText(error) });
      continue;
    }
    out.push({
      ...report,
      verdict: comparePin(pin, seen.presented),
      pinned: pin.kind === "pin" ? pin.hex : null,
      detail: pin.kind === "unreadable" ? pin.reason : null,
    });
  }
  return { ok: true, presented: seen.presented, stores: out };
}

async function readPin(store: ClientStore, location: string, target: Target): Promise<StoredPin> {
  switch (store) {
    case "freerdp2":
      return knownHosts2Pin(readStoreFile(location).text, target.host, target.port);
    case "freerdp3":
      return freerdp3Pin(readStoreFile(location).text);
    case "mstsc": {
      const { mstscPin } = await import("../hosts/windows/client");
      const read = await mstscPin(runCommand, { server: mstscServerName(target.host, target.port), certHash: null });
      if (!read.ok) throw new Error(read.reason);
      return mstscStoredPin(read.before);
    }
  }
}

/**
 * Windows: mstsc's pin (the CertHash client.ps1 read for `doctor --client`)
 * against what the listener presents now.
 */
export async function compareMstscPin(request: { target: Target; timeoutMs: number; certHash: string | null }): Promise<ClientPinsOutcome> {
  const seen = await presentedCertificate(request.target, request.timeoutMs);
  if (!seen.ok) return { ok: false, reason: seen.reason };
  const pin = mstscStoredPin(request.certHash);
  const location = locationOf("mstsc", request.target, null, {});
  return {
    ok: true,
    presented: seen.presented,
    stores: [
      {
        store: "mstsc",
        name: STORE_NAMES.mstsc,
        location,
        verdict: comparePin(pin, seen.presented),
        pinned: pin.kind === "pin" ? pin.hex : null,
        detail: pin.kind === "unreadable" ? pin.reason : null,
      },
    ],
  };
}

/** A pin bundle file (`--from-bundle`): the expected SHA-256 and the listener it was made for. */
export type BundleRead =
  { readonly ok: true; readonly sha256: string; readonly host: string; readonly port: number } | { readonly ok: false; readonly reason: string };

export function readBundleFile(path: string): BundleRead {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readBounded(path, "config").toString("utf8"));
  } catch (error) {
    if (error instanceof SyntaxError)
      return { ok: false, reason: `${path} is not JSON (a pin bundle is the .json file rdpcert writes under <stateDir>/pins/)` };
    return { ok: false, reason: `cannot read ${path}: ${errorText(error)}` };
  }
  const bundle = parsed as Partial<PinBundle> | null;
  const sha256 = typeof bundle?.sha256?.hex === "string" ? normalizeSha256(bundle.sha256.hex) : null;
  const host = bundle?.listener?.host;
  const port = bundle?.listener?.port;
  if (bundle?.schema !== 1 || sha256 === null || typeof host !== "string" || typeof port !== "number")
    return { ok: false, reason: `${path} is not a pin bundle (schema 1 with sha256.hex and listener)` };
  return { ok: true, sha256, host, port };
}
