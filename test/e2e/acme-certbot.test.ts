import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../scripts/xrdp-server";
import { probe } from "../../src/probe/prober";
import { certValid } from "../helpers/certs";
import { CLI } from "../helpers/cli";
import { opensslThumbprint } from "../helpers/test-ca";
import { xrdpPool } from "../helpers/xrdp-pool";

/**
 * A real ACME round trip: Debian's pebble (an ACME test server that
 * here skips challenge validation) issues a certificate to Debian's certbot,
 * whose --deploy-hook runs `rdpcert deploy --from-certbot --yes`, docs/commands/deploy.md's
 * recipe; the xrdp listener then presents the ACME-issued certificate with
 * pebble's intermediate. A forced renewal runs the hook again.
 */
const waitForPort = async (port: number): Promise<void> => {
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port });
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => (socket.destroy(), resolve(false)));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe("certbot + pebble + rdpcert deploy --from-certbot on real xrdp", () => {
  const start = xrdpPool({ requireRoot: true });
  let pebble: ChildProcess | undefined;
  afterAll(() => {
    pebble?.kill("SIGKILL");
  });

  it("certbot's deploy hook puts the ACME certificate on the listener, and again after a renewal", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rdpcert-acme-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        join(dir, "pebble.key"),
        "-out",
        join(dir, "pebble.pem"),
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    const [acmePort, managementPort] = [await freePort(), await freePort()];
    writeFileSync(
      join(dir, "pebble.json"),
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: join(dir, "pebble.pem"),
          privateKey: join(dir, "pebble.key"),
          httpPort: 5002,
          tlsPort: 5001,
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
        },
      }),
    );
    pebble = spawn("pebble", ["-config", join(dir, "pebble.json")], {
      env: { ...process.env, PEBBLE_VA_ALWAYS_VALID: "1", PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0" },
      stdio: "ignore",
    });
    await waitForPort(acmePort);

    const server = await start(certValid(-10, 170));
    const state = join(server.dir, "state");
    // docs/commands/deploy.md's recipe, with the test's own paths (certbot runs the hook through a shell).
    const hook = `${process.execPath} ${CLI} deploy --from-certbot --yes --xrdp-ini ${server.iniPath} --state-dir ${state} --no-restart --log-dir ${join(dir, "log")}`;
    const certbot = (...args: string[]) =>
      spawnSync(
        "certbot",
        [
          ...args,
          "--non-interactive",
          "--server",
          `https://127.0.0.1:${acmePort}/dir`,
          "--no-verify-ssl",
          "--config-dir",
          join(dir, "config"),
          "--work-dir",
          join(dir, "work"),
          "--logs-dir",
          join(dir, "logs"),
        ],
        { encoding: "utf8", timeout: 120_000 },
      );
    const issued = certbot(
      "certonly",
      "--register-unsafely-without-email",
      "--agree-tos",
      "--manual",
      "--manual-auth-hook",
      "/bin/true",
      "--preferred-challenges",
      "http",
      "-d",
      "rdp.acme.test",
      "--deploy-hook",
      hook,
    );
    expect([issued.status, /returned error code/.test(issued.stderr) ? issued.stderr : "hook ok"]).toEqual([0, "hook ok"]);
    const lineage = join(dir, "config", "live", "rdp.acme.test");
    const first = await probe({ input: `127.0.0.1:${server.port}`, host: "127.0.0.1", port: server.port }, { timeoutMs: 5000, withChain: true });
    expect(first.error).toBeNull();
    expect(first.certificate!.thumbprint).toBe(opensslThumbprint(join(lineage, "cert.pem")));
    expect(first.certificate!.subjectAltNames).toEqual(["DNS:rdp.acme.test"]);
    // pebble's intermediate is served after the leaf, as fullchain.pem has it.
    expect(new X509Certificate(first.chain![1]!).subject).toMatch(/Pebble Intermediate CA/);

    const renewed = certbot("renew", "--force-renewal", "--no-random-sleep-on-renew");
    expect([renewed.status, /returned error code/.test(renewed.stderr) ? renewed.stderr : "hook ok"]).toEqual([0, "hook ok"]);
    const second = await probe({ input: `127.0.0.1:${server.port}`, host: "127.0.0.1", port: server.port }, { timeoutMs: 5000 });
    expect(second.certificate!.thumbprint).toBe(opensslThumbprint(join(lineage, "cert.pem")));
    expect(second.certificate!.thumbprint).not.toBe(first.certificate!.thumbprint);
    const history = readFileSync(join(state, "history.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { kind: string; outcome: string; newThumbprint: string });
    expect(history.map((h) => [h.kind, h.outcome, h.newThumbprint])).toEqual([
      ["deploy", "deployed", first.certificate!.thumbprint],
      ["deploy", "deployed", second.certificate!.thumbprint],
    ]);
  }, 180_000);
});
