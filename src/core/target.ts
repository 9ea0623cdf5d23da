/** A listener to probe: what the user typed, and where it points. */
export interface Target {
  readonly input: string;
  readonly host: string;
  readonly port: number;
}

export const DEFAULT_RDP_PORT = 3389;

export class TargetError extends Error {
  override name = "TargetError";
  /** The same failure without the input: what a file's line is told (errors never quote a file). */
  readonly reason: string;
  constructor(message: string, reason: string) {
    super(message);
    this.reason = reason;
  }
}

export function parsePort(text: string, context = ""): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535))
    throw new TargetError(`${context}port "${text}" is not a number from 1 to 65535`, "the port is not a number from 1 to 65535");
  return port;
}

/**
 * Parses `host`, `host:port`, `[v6]`, `[v6]:port` and a bare IPv6 address.
 * Throws TargetError naming the input and the accepted forms.
 */
export function parseTarget(input: string, defaultPort = DEFAULT_RDP_PORT): Target {
  const text = input.trim();
  const forms = "use host, host:port or [IPv6]:port";
  if (!text) throw new TargetError(`empty target: ${forms}`, `empty target: ${forms}`);
  if (text.startsWith("[")) {
    const match = /^\[([0-9A-Fa-f:.%\w-]+)\](?::(.*))?$/.exec(text);
    if (!match) throw new TargetError(`target "${input}" is not valid: ${forms}`, `not a valid target: ${forms}`);
    return { input: text, host: match[1]!, port: match[2] === undefined ? defaultPort : parsePort(match[2], `target "${input}": `) };
  }
  const colons = text.split(":").length - 1;
  if (colons > 1) {
    if (!/^[0-9A-Fa-f:.]+$/.test(text)) throw new TargetError(`target "${input}" is not valid: ${forms}`, `not a valid target: ${forms}`);
    return { input: text, host: text, port: defaultPort };
  }
  const [host, portText] = text.split(":") as [string, string | undefined];
  if (!/^[A-Za-z0-9._-]+$/.test(host)) throw new TargetError(`target "${input}" has an invalid host name: ${forms}`, `not a valid host name: ${forms}`);
  return { input: text, host, port: portText === undefined ? defaultPort : parsePort(portText, `target "${input}": `) };
}

/** One target per line; `#` starts a comment; blank lines are ignored. */
export function parseTargetList(text: string, defaultPort = DEFAULT_RDP_PORT, source = "targets file"): Target[] {
  const targets: Target[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const content = line.replace(/#.*/, "").trim();
    if (!content) return;
    try {
      targets.push(parseTarget(content, defaultPort));
    } catch (error) {
      if (error instanceof TargetError) {
        const message = `${source} line ${index + 1}: ${error.reason}`;
        throw new TargetError(message, message);
      }
      throw error;
    }
  });
  return targets;
}

/** A line of a targets list: a target, or why that line names none (one bad line does not stop the others). */
export type TargetLine = { readonly ok: true; readonly target: Target } | { readonly ok: false; readonly input: string; readonly reason: string };

/** parseTargetList, but a bad line is that line's error ("SOURCE line N: reason", never the line's text), not the list's. */
export function parseTargetLines(text: string, defaultPort = DEFAULT_RDP_PORT, source = "targets file"): TargetLine[] {
  const lines: TargetLine[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const content = line.replace(/#.*/, "").trim();
    if (!content) return;
    try {
      lines.push({ ok: true, target: parseTarget(content, defaultPort) });
    } catch (error) {
      if (!(error instanceof TargetError)) throw error;
      lines.push({ ok: false, input: `${source} line ${index + 1}`, reason: `${source} line ${index + 1}: ${error.reason}` });
    }
  });
  return lines;
}

export function formatEndpoint(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Where to probe a listener from the host itself: loopback for wildcard binds. */
export function probeAddressFor(address: string | null): string {
  if (address === null || address === "0.0.0.0") return "127.0.0.1";
  if (address === "::") return "::1";
  return address;
}
