import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { certValid } from "../helpers/certs";
import { adminDir } from "../helpers/admin-dir";
import { rdpcert } from "../helpers/cli";
import { type RunningProcess, httpGet, startExporterCli } from "../helpers/prometheus";
import { type ShadowServer, startShadow } from "../helpers/shadow";
import { type WestonServer, startWeston } from "../helpers/weston";

/**
 * doctor and the exporter's module=local for the Linux servers found by their port
 * (the config's `port`, RDPCERT_PORT): real weston and a real shadow server on loopback.
 */
interface DoctorJson {
  exitCode: number;
  mostLikelyCause: { id: string; summary: string } | null;
  checks: { id: string; status: string; detail: string }[];
}

describe("doctor and exporter module=local on weston and the shadow server", () => {
  let weston: WestonServer;
  let shadow: ShadowServer;
  const running: RunningProcess[] = [];
  beforeAll(async () => {
    [weston, shadow] = await Promise.all([startWeston(certValid(-170, 10, "localhost")), startShadow({ ...certValid(-1, 179, "localhost"), keyMode: 0o600 })]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all(running.map((r) => r.stop()));
    await Promise.all([weston?.stop(), shadow?.stop()]);
  });

  it.each([
    ["weston", () => weston.port, "WARN"],
    ["freerdp-shadow", () => shadow.port, "OK"],
  ])(
    "doctor (RDPCERT_PORT) inspects %s's own configuration and its listener",
    async (_kind, port, verdict) => {
      const run = await rdpcert(["doctor", "--json", "--samples", "2", "--timeout", "3000"], { env: { RDPCERT_PORT: String(port()) } });
      const json = JSON.parse(run.stdout) as DoctorJson;
      expect(json.checks.find((c) => c.id === "tls")?.status).toBe("pass");
      // The host check is status on the server found on that port (weston: its certificate expires in 10 days).
      const host = json.checks.find((c) => c.id === "host");
      expect([host?.status, host?.detail.split(":")[0]]).toEqual([verdict === "OK" ? "pass" : "warn", verdict]);
    },
    60_000,
  );

  it.each([
    ["weston", () => weston.port, "expiring"],
    ["freerdp-shadow", () => shadow.port, null],
  ])(
    "exporter module=local reports %s's verdict",
    async (_kind, port, problem) => {
      const config = join(adminDir(), "rdpcert.json");
      writeFileSync(config, JSON.stringify({ port: port() }));
      const exporter = await startExporterCli(["--config", config]);
      running.push(exporter);
      const answer = await httpGet(`${exporter.url}/probe?module=local`);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatch(/^rdpcert_local_cert_not_after_seconds \d/m);
      if (problem) expect(answer.body).toContain(`rdpcert_local_problem_info{code="${problem}"`);
      else expect(answer.body).toMatch(/^rdpcert_local_problems 0$/m);
    },
    60_000,
  );
});
