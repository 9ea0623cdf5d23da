import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { XrdpServer } from "../../scripts/xrdp-server";
import { certValid } from "../helpers/certs";
import { rdpcertJson } from "../helpers/cli";
import { disposeAfterAll } from "../helpers/dispose";
import { type ClientRun, type FreerdpClient, XF_EXIT_TLS_CONNECT_FAILED, haveFreerdpClient, startFreerdpClient } from "../helpers/freerdp-client";
import { xrdpArgs, xrdpPool } from "../helpers/xrdp-pool";

/**
 * Staged rotation (issue 25) with the real FreeRDP 2 client (freerdp2-x11) under Xvfb against
 * real xrdp: a strict client (/cert-deny) given the staged pair's pin from its bundle before the
 * switch is refused while the old certificate is served and passes TLS right after
 * `rotate --activate`. "Passes" as test/e2e/client-trust-freerdp.test.ts judges it with xrdp:
 * not exit 143 (XF_EXIT_TLS_CONNECT_FAILED), no TLS or host-key failure in the output, and one
 * more "Connected client computer name" in xrdp's log (FreeRDP sends its MCS Connect Initial only
 * after accepting the certificate).
 */
const maybe = haveFreerdpClient ? describe : describe.skip;

maybe("a staged pin with the real FreeRDP 2 client", () => {
  const start = xrdpPool({ requireRoot: true });
  const made = disposeAfterAll();
  let client: FreerdpClient;

  beforeAll(async () => {
    client = await startFreerdpClient(made, "rdpcert-stage-home-");
  }, 60_000);

  const xfreerdp = (server: XrdpServer): Promise<ClientRun> => client.connect(`127.0.0.1:${server.port}`);

  it("the pin from the staged bundle is refused before --activate and passes TLS right after it", async () => {
    const server = await start({ ...certValid(-1, 179, "rdp-stage"), securityLayer: "tls" });
    const accepted = (): number => (server.log().match(/Connected client computer name/g) ?? []).length;
    const flags = xrdpArgs(server);
    const staged = await rdpcertJson<{ outcome: string; staged: { sha256: string; bundle: string } }>(["rotate", ...flags, "--stage"]);
    expect(staged.json.outcome).toBe("staged");
    const bundle = JSON.parse(readFileSync(staged.json.staged.bundle, "utf8")) as { freerdp2KnownHosts2: string; listener: { host: string } };
    // The bundle names the listener as clients reach it (its DNS name); this client reaches it by address.
    const [host, port, ...rest] = bundle.freerdp2KnownHosts2.split(" ");
    expect([host, port]).toEqual([bundle.listener.host, String(server.port)]);
    mkdirSync(join(client.home, ".config", "freerdp"), { recursive: true });
    writeFileSync(join(client.home, ".config", "freerdp", "known_hosts2"), `${["127.0.0.1", port, ...rest].join(" ")}\n`);

    const before = accepted();
    const refused = await xfreerdp(server);
    expect(refused.code).toBe(XF_EXIT_TLS_CONNECT_FAILED);
    expect(refused.output).toMatch(/Host key verification failed/);
    expect(accepted()).toBe(before);

    const activated = await rdpcertJson<{ outcome: string; newSha256: string }>(["rotate", ...flags, "--activate", "--yes"]);
    expect([activated.json.outcome, activated.code, activated.json.newSha256]).toEqual(["deployed", 0, staged.json.staged.sha256]);
    const passed = await xfreerdp(server);
    expect(passed.code).not.toBe(XF_EXIT_TLS_CONNECT_FAILED);
    expect(passed.output).not.toMatch(/Host key verification failed|ERRCONNECT_TLS_CONNECT_FAILED|certificate not trusted/);
    expect(passed.output).toContain("Authentication only");
    expect(accepted()).toBeGreaterThan(before);
  }, 120_000);
});
