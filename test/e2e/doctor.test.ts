import * as net from "node:net";
import { chownSync } from "node:fs";
import { freePort } from "../../scripts/xrdp-server";
import { buildSelfSigned } from "../../src/core/self-signed";
import { caIssued, certValid, testKey } from "../helpers/certs";
import { xrdpPool } from "../helpers/xrdp-pool";
import { rdpcert } from "../helpers/cli";
import { type HostileListener, hostileListener } from "../helpers/hostile";

/** `rdpcert doctor` against real xrdp and hostile listeners: each symptom with its expected most likely cause. */
interface DoctorJson {
  schema: string;
  exitCode: number;
  mostLikelyCause: { id: string; summary: string; fix: string[] } | null;
  notes: { id: string; summary: string; fix: string[] }[];
  checks: { id: string; status: string; detail: string }[];
  link: { samples: number; succeeded: number; p95Ms: number | null } | null;
}

async function doctor(args: string[]): Promise<{ code: number | null; json: DoctorJson }> {
  const run = await rdpcert(["doctor", "--json", "--samples", "3", "--timeout", "3000", ...args]);
  try {
    return { code: run.code, json: JSON.parse(run.stdout) as DoctorJson };
  } catch {
    throw new Error(`doctor did not print JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

/** A TCP proxy to a real listener that holds every chunk for `delayMs` in each direction: a slow VPN. */
async function slowProxy(port: number, delayMs: number): Promise<HostileListener> {
  return hostileListener((client) => {
    const upstream = net.connect({ host: "127.0.0.1", port });
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("data", (chunk) => setTimeout(() => upstream.write(chunk), delayMs));
    upstream.on("data", (chunk) => setTimeout(() => !client.destroyed && client.write(chunk), delayMs));
  });
}

describe("rdpcert doctor", () => {
  const start = xrdpPool();
  const listeners: HostileListener[] = [];
  afterAll(async () => {
    await Promise.all(listeners.map((l) => l.close()));
  });

  it("healthy: every check passes, no cause, exit 0", async () => {
    const server = await start(certValid(-1, 179, "localhost"));
    const { code, json } = await doctor(["--xrdp-ini", server.iniPath]);
    expect(json.schema).toBe("rdpcert.doctor/v1");
    expect([code, json.mostLikelyCause]).toEqual([0, null]);
    expect(json.checks.filter((c) => c.status === "fail")).toEqual([]);
    expect(json.link).toMatchObject({ samples: 3, succeeded: 3 });
  });

  it("expired certificate", async () => {
    const server = await start(certValid(-200, -3, "localhost"));
    const { code, json } = await doctor([`localhost:${server.port}`]);
    expect([code, json.mostLikelyCause?.id]).toEqual([2, "certificate-expired"]);
  });

  it("key missing: the listener downgrades; on the host the cause is named with its fix", async () => {
    const server = await start({ certPem: certValid(-1, 179).certPem });
    const remote = await doctor([`127.0.0.1:${server.port}`]);
    expect([remote.code, remote.json.mostLikelyCause?.id]).toEqual([2, "tls-refused"]);
    const local = await doctor(["--xrdp-ini", server.iniPath]);
    expect(local.json.mostLikelyCause?.id).toBe("certificate-unusable");
    expect(local.json.mostLikelyCause?.summary).toContain(`the private key file ${server.keyPath} does not exist`);
    expect(local.json.mostLikelyCause?.fix).toContain("sudo rdpcert rotate --yes");
  });

  it("key unreadable by xrdp (on the host): the fix names the permissions", async () => {
    const server = await start(certValid(-1, 179));
    if (!server.runAs) throw new Error("needs root, so that xrdp runs as the xrdp user");
    chownSync(server.keyPath, 0, 0);
    const { json } = await doctor(["--xrdp-ini", server.iniPath]);
    expect(json.mostLikelyCause?.id).toBe("certificate-unusable");
    expect(json.mostLikelyCause?.fix[0]).toBe(`chgrp xrdp ${server.keyPath} && chmod 640 ${server.keyPath}`);
  });

  it("truncated certificate: the handshake fails", async () => {
    const pair = certValid(-1, 179);
    const server = await start({ certPem: pair.certPem.slice(0, 400), keyPem: pair.keyPem });
    // From outside, a failed handshake does not say why: doctor says what it could be, and where to look.
    const remote = await doctor([`127.0.0.1:${server.port}`]);
    expect([remote.code, remote.json.mostLikelyCause?.id]).toEqual([2, "tls-handshake-failed"]);
    // On the host it sees the truncated file, and a rotation repairs that.
    const local = await doctor(["--xrdp-ini", server.iniPath]);
    expect([local.code, local.json.mostLikelyCause?.id]).toEqual([2, "certificate-corrupt"]);
    expect(local.json.mostLikelyCause?.fix).toContain("sudo rdpcert rotate --yes");
  });

  it("listener down: connection refused", async () => {
    const { code, json } = await doctor([`127.0.0.1:${await freePort()}`]);
    expect([code, json.mostLikelyCause?.id]).toEqual([2, "listener-down"]);
  });

  it("a listener that accepts and stalls", async () => {
    const silent = await hostileListener(() => undefined);
    listeners.push(silent);
    const { code, json } = await doctor([`127.0.0.1:${silent.port}`, "--timeout", "800"]);
    expect([code, json.mostLikelyCause?.id]).toEqual([2, "listener-stalls"]);
  });

  it("a slow link (a proxy delaying every answer): the certificate is fine, the connection is dodgy", async () => {
    const server = await start(certValid(-1, 179, "localhost"));
    const proxy = await slowProxy(server.port, 250);
    listeners.push(proxy);
    const { code, json } = await doctor([`localhost:${proxy.port}`]);
    expect([code, json.mostLikelyCause?.id]).toEqual([2, "dodgy-connection"]);
    expect(json.checks.find((c) => c.id === "validity")?.status).toBe("pass");
    expect(json.link!.p95Ms).toBeGreaterThan(1000);
  });

  it("name mismatch on a self-signed certificate: a note (clients warn about the issuer anyway), exit 0", async () => {
    const now = Date.now();
    const pair = buildSelfSigned(testKey(), {
      commonName: "rdp01.example.test",
      dnsNames: ["rdp01.example.test"],
      notBefore: new Date(now - 86_400_000),
      notAfter: new Date(now + 179 * 86_400_000),
    });
    const server = await start(pair);
    const { code, json } = await doctor([`localhost:${server.port}`]);
    expect([code, json.mostLikelyCause]).toEqual([0, null]);
    expect(json.checks.find((c) => c.id === "name")).toMatchObject({
      status: "warn",
      detail: "localhost is not in DNS:rdp01.example.test: clients warn that the identity cannot be verified",
    });
    expect(json.notes.map((n) => n.id)).toEqual(["name-mismatch"]);
  });

  // A self-signed certificate reached by IP: the advice used to be "rotate", and a rotation reproduced the mismatch.
  it("a healthy self-signed listener reached by IP: exit 0, and the fix adds the IP while keeping the names", async () => {
    const now = Date.now();
    const server = await start(
      buildSelfSigned(testKey(), {
        commonName: "localhost",
        dnsNames: ["localhost"],
        notBefore: new Date(now - 86_400_000),
        notAfter: new Date(now + 179 * 86_400_000),
      }),
    );
    const { code, json } = await doctor([`127.0.0.1:${server.port}`]);
    expect([code, json.mostLikelyCause]).toEqual([0, null]);
    expect(json.notes[0]!.fix).toEqual([
      "connect with a name in the certificate (DNS:localhost)",
      "or give the certificate this name too: on the server: sudo rdpcert rotate --yes --ip 127.0.0.1 --name localhost",
    ]);
  });

  it("name mismatch on a CA-issued certificate: a WARNING (exit 1) whose fix names the certificate's names", async () => {
    const server = await start(caIssued(-1, 179, "rdp01.example.test"));
    const { code, json } = await doctor([`localhost:${server.port}`]);
    expect([code, json.mostLikelyCause?.id]).toEqual([1, "name-mismatch"]);
    expect(json.mostLikelyCause!.fix).toEqual([
      "connect with a name in the certificate (DNS:rdp01.example.test)",
      "or have the CA issue a certificate that also names localhost",
    ]);
    expect(JSON.stringify(json)).not.toContain("rotate");
  });

  it("text output: a checklist, then the most likely cause and its fix", async () => {
    const run = await rdpcert(["doctor", `127.0.0.1:${await freePort()}`, "--samples", "1"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/^\[FAIL\] TCP 127\.0\.0\.1:\d+ +connection refused/m);
    expect(run.stdout).toMatch(/^Most likely cause: nothing listens on 127\.0\.0\.1:\d+/m);
    expect(run.stdout).toMatch(/^ {2}fix: /m);
  });

  it("a bad target is exit 3", async () => {
    const run = await rdpcert(["doctor", "host:99999"]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/port "99999" is not a number from 1 to 65535/);
  });
});
