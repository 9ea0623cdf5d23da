import * as dgram from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A DNS server on loopback UDP port 53 that answers only the names it is given
 * (A: the address; any other type: no records) and never answers any other
 * name: a hostile or broken server, real on the wire. `prefix` runs a command
 * in its own mount namespace where /etc/resolv.conf names only this server
 * (the host's file is untouched; paths travel as arguments, never spliced).
 */
export interface TestDns {
  readonly address: string;
  /** Names asked, in order (lower case). */
  readonly queries: string[];
  readonly prefix: readonly string[];
  close(): void;
}

function name(message: Buffer): { name: string; end: number } | null {
  const labels: string[] = [];
  let at = 12;
  while (at < message.length) {
    const length = message[at]!;
    if (length === 0) return { name: labels.join(".").toLowerCase(), end: at + 1 };
    if (length > 63 || at + 1 + length > message.length) return null;
    labels.push(message.subarray(at + 1, at + 1 + length).toString("latin1"));
    at += 1 + length;
  }
  return null;
}

function reply(query: Buffer, questionEnd: number, ipv4: string | null): Buffer {
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // id
  header.writeUInt16BE(0x8180 | (query.readUInt16BE(2) & 0x0100), 2); // response, recursion available, NOERROR
  header.writeUInt16BE(1, 4); // one question
  header.writeUInt16BE(ipv4 ? 1 : 0, 6);
  const question = query.subarray(12, questionEnd + 4);
  if (!ipv4) return Buffer.concat([header, question]);
  const answer = Buffer.alloc(16);
  answer.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
  answer.writeUInt16BE(1, 2); // A
  answer.writeUInt16BE(1, 4); // IN
  answer.writeUInt32BE(60, 6); // TTL
  answer.writeUInt16BE(4, 10);
  Buffer.from(ipv4.split(".").map(Number)).copy(answer, 12);
  return Buffer.concat([header, question, answer]);
}

export async function startTestDns(answers: Record<string, string>): Promise<TestDns> {
  const socket = dgram.createSocket("udp4");
  const queries: string[] = [];
  socket.on("message", (message, from) => {
    const asked = name(message);
    if (!asked || asked.end + 4 > message.length) return;
    queries.push(asked.name);
    const ipv4 = answers[asked.name];
    if (ipv4 === undefined) return; // never answered
    const type = message.readUInt16BE(asked.end);
    socket.send(reply(message, asked.end, type === 1 ? ipv4 : null), from.port, from.address);
  });
  let address = "";
  for (let attempt = 0; ; attempt++) {
    address = `127.0.${53 + Math.floor(Math.random() * 150)}.${1 + Math.floor(Math.random() * 250)}`;
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(53, address, () => {
          socket.off("error", reject);
          resolve();
        });
      });
      break;
    } catch (error) {
      if (attempt > 20) throw error;
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "rdpcert-dns-"));
  const resolvConf = join(dir, "resolv.conf");
  writeFileSync(resolvConf, `nameserver ${address}\n`);
  return {
    address,
    queries,
    prefix: ["unshare", "-m", "--propagation", "private", "sh", "-c", 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"', "sh", resolvConf],
    close: () => {
      socket.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
