import * as net from "node:net";
import type { DoctorFacts } from "../core/diagnosis";

/** One TCP connect to `address:port` within `timeoutMs`, for doctor's reachability per address: open, refused, timeout, or the errno. */
export function tcpCheck(address: string, port: number, timeoutMs: number): Promise<DoctorFacts["reachability"][number]> {
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
      done(
        error.code === "ECONNREFUSED" ? "refused" : "error",
        error.code === "ECONNREFUSED" ? "connection refused (nothing listens)" : `${error.code ?? error.message}`,
      ),
    );
  });
}
