import { hostname } from "node:os";
import type { CommandRunner } from "../command-runner";

/** The names a regenerated certificate carries: the host name and its FQDN (what Windows uses as CN), lower-case, deduplicated. */
export async function hostNames(runner: CommandRunner): Promise<string[]> {
  const names = [hostname()];
  const fqdn = await runner("hostname", ["--fqdn"], { timeoutMs: 3000 });
  const text = fqdn.exitCode === 0 ? fqdn.stdout.trim() : "";
  if (/^[A-Za-z0-9.-]+$/.test(text)) names.unshift(text);
  return [...new Set(names.map((n) => n.toLowerCase()).filter((n) => /^[a-z0-9.-]+$/.test(n)))];
}

/** xrdp's restart when it still presents the old certificate after a change: `systemctl restart xrdp` when systemd runs it, else none. */
export async function defaultXrdpRestart(runner: CommandRunner): Promise<string[] | null> {
  const active = await runner("systemctl", ["is-active", "--quiet", "xrdp"], { timeoutMs: 5000 });
  return active.exitCode === 0 ? ["systemctl", "restart", "xrdp"] : null;
}
