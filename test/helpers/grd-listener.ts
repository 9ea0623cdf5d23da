import * as net from "node:net";
import * as tls from "node:tls";

/**
 * A loopback listener that negotiates as gnome-remote-desktop does (NLA only:
 * FreeRDP's server with NlaSecurity on, TlsSecurity and RdpSecurity off, as
 * grd-session-rdp.c sets them): an offer without PROTOCOL_HYBRID gets the X.224
 * Connection Confirm with RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER (5) and the
 * connection is closed; an offer with HYBRID gets RDP_NEG_RSP selecting HYBRID (2),
 * then a real TLS handshake with `certPem`/`keyPem` (CredSSP would follow; a
 * client that closes after the handshake is fine). Bytes: /work/shared/DOMAIN.md.
 */
export interface GrdListener {
  readonly port: number;
  /** requestedProtocols of every Connection Request, in arrival order. */
  readonly offers: number[];
  /** A restart of g-r-d: new connections get this pair (g-r-d loads its pair only when it starts). */
  reload(pair: { readonly certPem: string; readonly keyPem: string }): void;
  close(): Promise<void>;
}

const REQUEST_LENGTH = 19; // TPKT 4 + X.224 CR 7 + RDP_NEG_REQ 8, no cookie

export function grdConfirm(type: 2 | 3, value: number): Buffer {
  const out = Buffer.from([0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34, 0x00, type, 0x00, 0x08, 0x00, 0, 0, 0, 0]);
  out.writeUInt32LE(value >>> 0, 15);
  return out;
}

export async function grdListener(pair: { readonly certPem: string; readonly keyPem: string }): Promise<GrdListener> {
  const sockets = new Set<net.Socket>();
  const offers: number[] = [];
  let context = tls.createSecureContext({ cert: pair.certPem, key: pair.keyPem });
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const length = received.readUInt16BE(2);
      if (length !== REQUEST_LENGTH || received[5] !== 0xe0 || received[11] !== 0x01) {
        socket.destroy();
        return;
      }
      if (received.length < length) return;
      socket.off("data", onData);
      const requested = received.readUInt32LE(15);
      offers.push(requested);
      if ((requested & 0x2) === 0) {
        socket.end(grdConfirm(3, 5));
        return;
      }
      socket.write(grdConfirm(2, 0x2));
      const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
      secure.on("error", () => undefined);
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    offers,
    reload: (next) => {
      context = tls.createSecureContext({ cert: next.certPem, key: next.keyPem });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
