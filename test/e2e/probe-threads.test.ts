import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FleetKind } from "../../scripts/fleet-sim";
import { freePort } from "../../scripts/xrdp-server";
import { rdpcertJson } from "../helpers/cli";

/**
 * `probe --targets` on several threads reports exactly what one
 * thread does: same order, same verdicts, same JSON but for the timings. Runs
 * against the benchmarks' simulated fleet (scripts/fleet-sim.ts, built).
 */
const SIM = join(__dirname, "..", "..", "dist", "scripts", "fleet-sim.js");
const COUNT = 300;

interface Report {
  results: Array<Record<string, unknown> & { status: string; error: { kind: string } | null; timings: unknown; certificate: { daysLeft: number } | null }>;
  generatedAt: string;
}

describe("rdpcert probe --targets on threads", () => {
  let sim: ChildProcess;
  let dir: string;
  let file: string;
  let kinds: FleetKind[];
  beforeAll(async () => {
    const port = await freePort();
    sim = spawn(process.execPath, [SIM, String(COUNT), "0"], { env: { ...process.env, FLEET_PORT: String(port) }, stdio: ["ignore", "pipe", "inherit"] });
    const ready = await new Promise<{ targets: Array<{ host: string; kind: FleetKind }> }>((resolve, reject) => {
      let out = "";
      sim.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("\n")) resolve(JSON.parse(out.slice(0, out.indexOf("\n"))) as { targets: Array<{ host: string; kind: FleetKind }> });
      });
      sim.once("exit", (code) => reject(new Error(`fleet simulator exited with ${code}`)));
    });
    kinds = ready.targets.map((t) => t.kind);
    dir = mkdtempSync(join(tmpdir(), "rdpcert-threads-"));
    file = join(dir, "targets.txt");
    writeFileSync(file, ready.targets.map((t) => `${t.host}:${port}\n`).join(""));
  }, 60_000);
  afterAll(async () => {
    if (sim && sim.exitCode === null) {
      const exited = new Promise((r) => sim.once("exit", r));
      sim.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const scan = (threads: string) =>
    rdpcertJson<Report>(["probe", "--targets", file, "--concurrency", "64", "--timeout", "1500", "--json"], { env: { RDPCERT_PROBE_THREADS: threads } });
  const comparable = (report: Report) => report.results.map(({ timings: _timings, ...rest }) => rest);

  it("reports every listener as one thread does, in input order", async () => {
    const [one, two] = [await scan("1"), await scan("2")];
    expect(two.code).toBe(one.code);
    expect(comparable(two.json)).toEqual(comparable(one.json));
    const expected: Record<FleetKind, (r: Report["results"][number]) => boolean> = {
      healthy: (r) => r.status === "ok",
      expiring: (r) => r.status === "warn",
      downgraded: (r) => r.error?.kind === "rdp-security-only",
      silent: (r) => r.error?.kind === "timeout",
    };
    expect(two.json.results.filter((r, i) => !expected[kinds[i]!](r))).toEqual([]);
  }, 120_000);
});
