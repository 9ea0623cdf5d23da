import type { BackendKind, Issuance } from "./inspection";

/**
 * The fixes status and doctor name for the Linux servers whose pair rdpcert replaces in
 * place (weston, FreeRDP's shadow server, pem-pair): the same commands as xrdp's, with
 * --port and --backend, since these servers are found by the port they listen on.
 */
const NAMES: Partial<Record<BackendKind, string>> = { weston: "weston", "freerdp-shadow": "freerdp-shadow-cli", "pem-pair": "the server" };

export function isPairServer(backend: BackendKind): boolean {
  return NAMES[backend] !== undefined;
}

const flags = (backend: BackendKind, port: number | null): string => `--backend ${backend}${port ? ` --port ${port}` : ""}`;

export function pairReplaceFix(backend: BackendKind, issuance: Issuance, port: number | null = null): string {
  if (issuance === "ca-issued")
    return `re-issue the certificate from its CA, then: sudo rdpcert deploy ${flags(backend, port)} --cert CERT.pem --key KEY.pem --chain CHAIN.pem --yes`;
  const restart = backend === "pem-pair" ? "its reloadCommand, if configured" : "no restart";
  return `sudo rdpcert rotate ${flags(backend, port)} --yes: a new self-signed pair written in place (key 0600 for the user ${NAMES[backend]} runs as), verified on the wire, ${restart}; or rdpcert deploy for a CA-issued one`;
}

export function pairDownFix(backend: BackendKind): string {
  return `start ${NAMES[backend]} and check the firewall for the listener port (rdpcert finds it by --port)`;
}

export function pairUnusableFix(backend: BackendKind): string {
  return `${NAMES[backend]} cannot use its certificate or key: make the key readable by the user it runs as (and nobody else), or replace the pair with rdpcert rotate`;
}

export function pairMismatchFix(backend: BackendKind, port: number): string {
  return backend === "pem-pair"
    ? `the server on port ${port} does not serve certFile/keyFile as they are now: it may load its pair only at start (run its reload, or set reloadCommand), or another process listens there (ss -ltnp 'sport = :${port}')`
    : `the process on port ${port} does not serve this pair: find it (ss -ltnp 'sport = :${port}') and pass its port with --port`;
}
