import { lookup } from "node:dns";
import { Resolver } from "node:dns/promises";
import { readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { boundSystemResolver } from "../../probe/prober";

/**
 * Name resolution with a deadline, for the long-running exporter and for
 * doctor. Every answer comes within `deadlineMs`; what is still asking after
 * it is abandoned, and bounded so that it cannot pile up:
 *
 * - `lookupWithin`: the system resolver (getaddrinfo: /etc/hosts, DNS, and
 *   whatever nsswitch names). It runs in libuv's small thread pool, so
 *   RES_OPTIONS tells glibc about the deadline (a thread past it frees itself
 *   soon after, and the process exit is not held for glibc's 5 s per server
 *   and try).
 * - `resolveForExporter`: what blackbox_exporter does: /etc/hosts and
 *   `localhost` answered in-process, other dotted names asked of the DNS
 *   servers in /etc/resolv.conf asynchronously (c-ares: no thread is held, so
 *   a flood of names a DNS server never answers cannot delay any other
 *   resolution); single-label names (which need resolv.conf's search list) go
 *   to the system resolver, at most SYSTEM_LOOKUP_SLOTS at once, so that they
 *   never take every thread of the pool.
 */

export class ResolveTimeout extends Error {
  override name = "ResolveTimeout";
}

/** Resolves to the addresses, or rejects with ResolveTimeout at the deadline, or with the resolver's error (code ENOTFOUND, ...). */
export function lookupWithin(name: string, deadlineMs: number): Promise<string[]> {
  boundSystemResolver(deadlineMs);
  return withDeadline(
    new Promise<string[]>((resolve, reject) =>
      lookup(name, { all: true }, (error, found) => (error ? reject(error) : resolve([...new Set(found.map((f) => f.address))]))),
    ),
    deadlineMs,
  );
}

function withDeadline<T>(work: Promise<T>, deadlineMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ResolveTimeout(`no answer within ${deadlineMs} ms`)), deadlineMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

const HOSTS = "/etc/hosts";
const RESOLV_CONF = "/etc/resolv.conf";
/** getaddrinfo calls in flight at once for single-label names: libuv's pool has 4 threads, and files and crypto need some. */
export const SYSTEM_LOOKUP_SLOTS = 2;
/** How long a DNS server gets per query before c-ares gives up on it (our own deadline answers sooner when it is shorter). */
const DNS_QUERY_TIMEOUT_MS = 5000;

let hostsCache: { mtimeMs: number; size: number; names: Map<string, string[]> } | null = null;

/** /etc/hosts as name -> addresses (first line naming it first), re-read when the file changes. */
function hostsFile(): Map<string, string[]> {
  let stats;
  try {
    stats = statSync(HOSTS);
  } catch {
    return new Map();
  }
  if (hostsCache && hostsCache.mtimeMs === stats.mtimeMs && hostsCache.size === stats.size) return hostsCache.names;
  const names = new Map<string, string[]>();
  let text = "";
  try {
    // hosts(5) is small; a huge one is not a hosts file.
    if (stats.size <= 4 * 1024 * 1024) text = readFileSync(HOSTS, "utf8");
  } catch {
    text = "";
  }
  for (const raw of text.split("\n")) {
    const hash = raw.indexOf("#");
    const fields = (hash === -1 ? raw : raw.slice(0, hash)).trim().split(/[ \t]+/);
    const address = fields[0];
    if (!address || isIP(address.split("%")[0]!) === 0) continue;
    for (const alias of fields.slice(1)) {
      const key = alias.toLowerCase().replace(/\.$/, "");
      const list = names.get(key) ?? [];
      if (!list.includes(address)) list.push(address);
      names.set(key, list);
    }
  }
  hostsCache = { mtimeMs: stats.mtimeMs, size: stats.size, names };
  return names;
}

let resolverCache: { mtimeMs: number; size: number; resolver: Resolver } | null = null;

/** One c-ares resolver, rebuilt when /etc/resolv.conf changes (DHCP, systemd-resolved). */
function dnsResolver(): Resolver {
  let stamp = { mtimeMs: 0, size: 0 };
  try {
    const stats = statSync(RESOLV_CONF);
    stamp = { mtimeMs: stats.mtimeMs, size: stats.size };
  } catch {
    // no resolv.conf: c-ares falls back to its defaults
  }
  if (!resolverCache || resolverCache.mtimeMs !== stamp.mtimeMs || resolverCache.size !== stamp.size) {
    resolverCache = { ...stamp, resolver: new Resolver({ timeout: DNS_QUERY_TIMEOUT_MS, tries: 1 }) };
  }
  return resolverCache.resolver;
}

let systemInFlight = 0;
const systemWaiting: Array<() => void> = [];

/** A getaddrinfo call in one of SYSTEM_LOOKUP_SLOTS; a slot is held until the call really returns, not just until our deadline. */
function gatedSystemLookup(name: string, deadlineMs: number): Promise<string[]> {
  boundSystemResolver(deadlineMs);
  return new Promise<string[]>((resolve, reject) => {
    let settled = false;
    const start = (): void => {
      systemInFlight++;
      lookup(name, { all: true }, (error, found) => {
        systemInFlight--;
        systemWaiting.shift()?.();
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve([...new Set(found.map((f) => f.address))]);
      });
    };
    const timer = setTimeout(() => {
      settled = true;
      // A waiter whose deadline passed gives up its place in the queue.
      const waiting = systemWaiting.indexOf(start);
      if (waiting !== -1) systemWaiting.splice(waiting, 1);
      reject(new ResolveTimeout(`no answer within ${deadlineMs} ms`));
    }, deadlineMs);
    if (systemInFlight < SYSTEM_LOOKUP_SLOTS) start();
    else systemWaiting.push(start);
  });
}

/** Why a DNS answer holds no address: ENODATA / ENOTFOUND are "no such name or record", anything else a failure. */
const isEmptyAnswer = (error: unknown): boolean => ["ENODATA", "ENOTFOUND", "NOTFOUND", "NODATA"].includes((error as NodeJS.ErrnoException).code ?? "");

async function askDns(name: string): Promise<string[]> {
  const resolver = dnsResolver();
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  const addresses = [...(v4.status === "fulfilled" ? v4.value : []), ...(v6.status === "fulfilled" ? v6.value : [])];
  if (addresses.length > 0) return addresses;
  const failure = [v4, v6].find((r): r is PromiseRejectedResult => r.status === "rejected" && !isEmptyAnswer(r.reason));
  if (failure) throw failure.reason;
  throw Object.assign(new Error(`${name} does not resolve`), { code: "ENOTFOUND" });
}

/** The exporter's resolution (see above): addresses, IPv4 first; rejects with ResolveTimeout at the deadline or the resolver's error. */
export function resolveForExporter(name: string, deadlineMs: number): Promise<string[]> {
  const key = name.toLowerCase().replace(/\.$/, "");
  const fromHosts = hostsFile().get(key);
  if (fromHosts) return Promise.resolve(fromHosts);
  // RFC 6761 6.3: localhost and its subdomains are loopback, never asked of DNS.
  if (key === "localhost" || key.endsWith(".localhost")) return Promise.resolve(["127.0.0.1", "::1"]);
  if (!key.includes(".")) return gatedSystemLookup(name, deadlineMs);
  const asked = askDns(name);
  asked.catch(() => undefined); // after the deadline nobody listens
  return withDeadline(asked, deadlineMs);
}
