/**
 * The `port` option of xrdp.ini [Globals] (xrdp 0.9.x, xrdp_listen.c):
 * a number alone listens on all interfaces; `tcp://.:P` is 127.0.0.1,
 * `tcp://:P` all IPv4, `tcp://ADDR:P`; `tcp6://.:P` is ::1, `tcp6://:P` all,
 * `tcp6://{ADDR}:P`; `unix://PATH` and `vsock://CID:PORT` are not TCP.
 * Several may be given, separated by spaces.
 */
export type ListenSpec =
  | { readonly kind: "tcp"; readonly address: string | null; readonly port: number; readonly text: string }
  | { readonly kind: "unsupported"; readonly transport: string; readonly text: string }
  | { readonly kind: "invalid"; readonly text: string; readonly reason: string };

export function parseListenSpecs(value: string): ListenSpec[] {
  return value
    .split(/\s+/)
    .filter((part) => part !== "")
    .map(parseListenSpec);
}

function portOf(text: string, whole: string): ListenSpec | number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    return { kind: "invalid", text: whole, reason: `port ${JSON.stringify(text)} is not a number from 1 to 65535` };
  }
  return Number(text);
}

export function parseListenSpec(text: string): ListenSpec {
  const scheme = /^([a-z0-9]+):\/\/(.*)$/i.exec(text);
  if (!scheme) {
    const port = portOf(text, text);
    return typeof port === "number" ? { kind: "tcp", address: null, port, text } : port;
  }
  const transport = scheme[1]!.toLowerCase();
  const rest = scheme[2]!;
  if (transport !== "tcp" && transport !== "tcp6") return { kind: "unsupported", transport, text };
  const colon = rest.lastIndexOf(":");
  if (colon < 0) return { kind: "invalid", text, reason: "expected ADDRESS:PORT after the scheme" };
  let host = rest.slice(0, colon);
  const port = portOf(rest.slice(colon + 1), text);
  if (typeof port !== "number") return port;
  if (transport === "tcp6" && host.startsWith("{") && host.endsWith("}")) host = host.slice(1, -1);
  if (host === ".") return { kind: "tcp", address: transport === "tcp" ? "127.0.0.1" : "::1", port, text };
  if (host === "") return { kind: "tcp", address: transport === "tcp" ? "0.0.0.0" : "::", port, text };
  return { kind: "tcp", address: host, port, text };
}
