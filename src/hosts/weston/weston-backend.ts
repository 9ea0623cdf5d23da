import { join } from "node:path";
import type { HostBackend, HostFinding } from "../host-backend";
import { readBoundedText } from "../local/bounded-read";
import { type ListenerProcess, homeOf, processEnvironment } from "../local/listening-process";
import { type Locate, type PairBackendContext, createPairBackend, fromProcessCwd, servingIdentity } from "../pem-pair/pair-backend";
import { iniValue, parseIni } from "../xrdp/xrdp-ini";

/**
 * weston's RDP backend (`weston --backend=rdp-backend.so --rdp-tls-cert C --rdp-tls-key K`):
 * the pair is named on its command line, or in `[rdp]` of weston.ini (tls-cert, tls-key;
 * weston 13 and later), and read for every new connection (measured with Debian 12's
 * weston 10: a new pair at the same path is served without a restart).
 */

/** `--name VALUE` or `--name=VALUE` from weston's command line (its option parser takes both); the last one wins. */
export function westonOption(argv: readonly string[], name: string): string | null {
  let value: string | null = null;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === `--${name}` && argv[i + 1] !== undefined) value = argv[++i]!;
    else if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3);
  }
  return value;
}

/** The weston.ini weston reads: `--config`/`-c` (absolute, or searched in the XDG directories), none with `--no-config`, else the XDG search. */
export function westonIniCandidates(argv: readonly string[], env: ReadonlyMap<string, string> | null, home: string | null): string[] {
  if (argv.includes("--no-config")) return [];
  let name = "weston.ini";
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if ((arg === "-c" || arg === "--config") && argv[i + 1] !== undefined) name = argv[i + 1]!;
    else if (arg.startsWith("--config=")) name = arg.slice("--config=".length);
  }
  if (name.startsWith("/")) return [name];
  const configHome = env?.get("XDG_CONFIG_HOME") || (home ? join(home, ".config") : null);
  const dirs = (env?.get("XDG_CONFIG_DIRS") || "/etc/xdg").split(":").filter((d) => d.startsWith("/"));
  return [...(configHome ? [join(configHome, name)] : []), ...dirs.map((d) => join(d, name))];
}

function fromIni(process: ListenerProcess): { cert: string | null; key: string | null; path: string } | null {
  const env = processEnvironment(process);
  const home = env?.get("HOME") ?? homeOf(process.identity.uid);
  for (const path of westonIniCandidates(process.argv, env, home)) {
    let text: string;
    try {
      text = readBoundedText(path, "ini");
    } catch {
      continue;
    }
    const ini = parseIni(text);
    return { cert: iniValue(ini, "rdp", "tls-cert")?.value ?? null, key: iniValue(ini, "rdp", "tls-key")?.value ?? null, path };
  }
  return null;
}

export const locateWeston: Locate = (ctx, lookup) => {
  if (lookup.kind !== "found") {
    return {
      ok: false,
      reason: `weston keeps its certificate's paths on its command line, and ${lookup.kind === "none" ? `nothing listens on port ${ctx.port}` : lookup.reason}`,
      fix: lookup.kind === "none" ? "start weston, or pass the port it listens on with --port N" : "run as root to see weston's command line",
    };
  }
  const p = lookup.process;
  const findings: HostFinding[] = [];
  let cert = westonOption(p.argv, "rdp-tls-cert");
  let key = westonOption(p.argv, "rdp-tls-key");
  let source = `weston (pid ${p.pid}) command line --rdp-tls-cert/--rdp-tls-key`;
  if (cert === null || key === null) {
    const ini = fromIni(p);
    if (ini && (cert ?? ini.cert) && (key ?? ini.key)) {
      source = `${cert === null && key === null ? "" : "weston's command line and "}[rdp] tls-cert/tls-key of ${ini.path}`;
      cert = cert ?? ini.cert;
      key = key ?? ini.key;
    }
  }
  if (cert === null || key === null) {
    return {
      ok: false,
      reason: `weston (pid ${p.pid}) on port ${ctx.port} was started without ${cert === null ? "--rdp-tls-cert" : "--rdp-tls-key"} (nor tls-cert/tls-key in [rdp] of weston.ini): it offers no TLS, so there is no certificate to check`,
      fix: "start weston with --rdp-tls-cert FILE --rdp-tls-key FILE",
    };
  }
  const who = servingIdentity(lookup, ctx.port, "weston");
  return {
    ok: true,
    location: {
      kind: "weston",
      label: "weston",
      source,
      certPath: fromProcessCwd(p, cert),
      keyPath: fromProcessCwd(p, key),
      address: westonOption(p.argv, "address"),
      port: ctx.port,
      securityLayer: "negotiate",
      nla: null,
      process: p,
      serving: who.serving,
      server: who.server,
      findings,
    },
  };
};

export function createWestonBackend(ctx: PairBackendContext): HostBackend {
  return createPairBackend("weston", "weston", ctx, locateWeston, true);
}
