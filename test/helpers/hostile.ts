import * as net from "node:net";

export interface HostileListener {
  readonly port: number;
  close(): Promise<void>;
}

/** A loopback TCP listener that answers each connection with `behaviour`; sockets are destroyed on close. */
export async function hostileListener(behaviour: (socket: net.Socket) => void): Promise<HostileListener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    behaviour(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Answers once the whole Connection Request (19 bytes without a cookie) has arrived. */
export function onRequest(socket: net.Socket, answer: (socket: net.Socket) => void): void {
  let seen = 0;
  socket.on("data", (chunk) => {
    const before = seen;
    seen += chunk.length;
    if (before < 19 && seen >= 19) answer(socket);
  });
}

export function confirmBytes(type: 2 | 3, value: number): Buffer {
  const out = Buffer.from([0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34, 0x00, type, 0x00, 0x08, 0x00, 0, 0, 0, 0]);
  out.writeUInt32LE(value, 15);
  return out;
}
