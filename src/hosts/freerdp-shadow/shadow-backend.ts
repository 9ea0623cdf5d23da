import { join } from "node:path";
import type { HostBackend, HostFinding, SecurityLayer } from "../host-backend";
import { type ListenerProcess, homeOf, processEnvironment } from "../local/listening-process";
import { type Locate, type PairBackendContext, createPairBackend, servingIdentity } from "../pem-pair/pair-backend";

/**
 * FreeRDP's shadow server (`freerdp-shadow-cli`, Debian's freerdp2-shadow-x11): it
 * keeps its pair in `$XDG_CONFIG_HOME/freerdp/shadow/shadow.crt` and `shadow.key`
 * of the user it runs as (XDG_CONFIG_HOME defaults to $HOME/.config), generates
 * them for 5 years when either is missing, with the key world-readable (0644),
 * and reads them for every new connection (2.x): no restart after a rotation.
 */

/** Where the shadow server of this process keeps its pair: its environment when readable, else HOME from /etc/passwd. */
export function shadowConfigDir(env: ReadonlyMap<string, string> | null, passwdHome: string | null): { dir: string; basis: string } | null {
  const xdg = env?.get("XDG_CONFIG_HOME");
  if (xdg && xdg.startsWith("/")) return { dir: join(xdg, "freerdp", "shadow"), basis: "XDG_CONFIG_HOME of its environment" };
  const home = env?.get("HOME");
  if (home && home.startsWith("/")) return { dir: join(home, ".config", "freerdp", "shadow"), basis: "HOME of its environment" };
  if (passwdHome)
    return {
      dir: join(passwdHome, ".config", "freerdp", "shadow"),
      basis: env === null ? "its user's home in /etc/passwd (its environment could not be read)" : "its user's home in /etc/passwd",
    };
  return null;
}

/** The security layer shadow's command line forces (`/sec:tls`, `/sec:nla`, `/sec:rdp`), else negotiate. */
export function shadowSecurity(argv: readonly string[]): SecurityLayer {
  const sec = [...argv].reverse().find((a) => /^[/+-]sec:/.test(a));
  if (!sec) return argv.includes("-sec-tls") && argv.includes("-sec-nla") ? "rdp" : "negotiate";
  const value = sec.slice(sec.indexOf(":") + 1).toLowerCase();
  return value === "rdp" ? "rdp" : value === "tls" ? "tls" : "negotiate";
}

function bindAddress(argv: readonly string[]): string | null {
  const arg = [...argv].reverse().find((a) => /^[/]bind-address:/.test(a));
  if (!arg) return null;
  const first = arg
    .slice(arg.indexOf(":") + 1)
    .split(",")[0]!
    .replace(/^\[|\]$/g, "");
  return first || null;
}

export const locateShadow: Locate = (ctx, lookup) => {
  if (lookup.kind !== "found") {
    return {
      ok: false,
      reason: `the shadow server keeps its pair in the config directory of the user it runs as, and ${lookup.kind === "none" ? `nothing listens on port ${ctx.port}` : lookup.reason}`,
      fix:
        lookup.kind === "none"
          ? "start freerdp-shadow-cli, or pass the port it listens on with --port N"
          : "run as root to see which user runs freerdp-shadow-cli",
    };
  }
  const p: ListenerProcess = lookup.process;
  const env = processEnvironment(p);
  const located = shadowConfigDir(env, homeOf(p.identity.uid));
  if (!located) {
    return {
      ok: false,
      reason: `cannot tell where freerdp-shadow-cli (pid ${p.pid}) keeps its pair: its environment cannot be read and /etc/passwd names no home for uid ${p.identity.uid}`,
      fix: "run as root",
    };
  }
  const findings: HostFinding[] = [];
  if (env === null)
    findings.push({
      severity: "info",
      code: "shadow-home-guessed",
      message: `freerdp-shadow-cli's environment cannot be read: its pair is looked for under ${located.basis}`,
      fix: "run as root to read its environment",
    });
  const who = servingIdentity(lookup, ctx.port, "freerdp-shadow-cli");
  return {
    ok: true,
    location: {
      kind: "freerdp-shadow",
      label: "freerdp-shadow-cli",
      source: `${located.dir} (the config directory of ${p.identity.name}, who runs freerdp-shadow-cli pid ${p.pid}; from ${located.basis})`,
      certPath: join(located.dir, "shadow.crt"),
      keyPath: join(located.dir, "shadow.key"),
      address: bindAddress(p.argv),
      port: ctx.port,
      securityLayer: shadowSecurity(p.argv),
      nla: null,
      process: p,
      serving: who.serving,
      server: who.server,
      findings,
    },
  };
};

export function createShadowBackend(ctx: PairBackendContext): HostBackend {
  return createPairBackend("freerdp-shadow", "freerdp-shadow-cli", ctx, locateShadow, true);
}
