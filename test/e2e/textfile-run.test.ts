import { samples } from "../helpers/prom-text";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { certValid } from "../helpers/certs";
import { rdpcert } from "../helpers/cli";
import { adminDir } from "../helpers/admin-dir";
import { writeXrdpConfig, xrdpPool } from "../helpers/xrdp-pool";

/** `rdpcert run --textfile-dir`: rdpcert.prom for node_exporter's textfile collector, checked by promtool. */
const promtoolCheck = (text: string) => spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });

describe("rdpcert run --textfile-dir against real xrdp", () => {
  const start = xrdpPool();

  it("healthy: writes rdpcert.prom atomically with the verdict and the served certificate's notAfter; promtool accepts it", async () => {
    const pair = certValid(-1, 179);
    const server = await start(pair);
    const dir = join(adminDir(), "textfile");
    mkdirSync(dir);
    const before = Date.now() / 1000;
    const run = await rdpcert(["run", "--config", writeXrdpConfig(server), "--textfile-dir", dir, "--json"]);
    expect(run.code).toBe(0);
    // Only the final file: no temp file left beside it.
    expect(readdirSync(dir)).toEqual(["rdpcert.prom"]);
    const text = readFileSync(join(dir, "rdpcert.prom"), "utf8");
    const check = promtoolCheck(text);
    expect({ status: check.status, out: check.stdout + check.stderr }).toEqual({ status: 0, out: "" });
    const s = samples(text);
    expect(s.get('rdpcert_run_status{status="OK"}')).toBe(1);
    expect(s.get('rdpcert_run_status{status="EXPIRED"}')).toBe(0);
    expect(s.get("rdpcert_run_cert_not_after_seconds")).toBe(Date.parse(new X509Certificate(pair.certPem).validTo) / 1000);
    expect(s.get("rdpcert_run_exit_code")).toBe(0);
    expect(s.get("rdpcert_run_rotation_failures")).toBe(0);
    expect(s.get("rdpcert_run_finished_timestamp_seconds")).toBeGreaterThanOrEqual(Math.floor(before));
    expect(s.has("rdpcert_run_last_rotation_timestamp_seconds")).toBe(false);
  });

  it("from the config's textfileDir: after a rotation, the new certificate's notAfter and the rotation's time", async () => {
    const server = await start(certValid(-130, 50));
    const dir = join(adminDir(), "textfile");
    mkdirSync(dir);
    const run = await rdpcert(["run", "--config", writeXrdpConfig(server, { textfileDir: dir }), "--json"]);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { outcome: string }).outcome).toBe("rotated");
    const s = samples(readFileSync(join(dir, "rdpcert.prom"), "utf8"));
    const served = new X509Certificate(readFileSync(server.certPath));
    expect(s.get("rdpcert_run_cert_not_after_seconds")).toBe(Date.parse(served.validTo) / 1000);
    expect(s.get("rdpcert_run_last_rotation_timestamp_seconds")).toBeGreaterThan(Date.now() / 1000 - 600);
  });

  it("a textfile directory that does not exist: the pass still succeeds and the log says why there is no file", async () => {
    const server = await start(certValid(-1, 179));
    const dir = join(adminDir(), "missing");
    const run = await rdpcert(["run", "--config", writeXrdpConfig(server), "--textfile-dir", dir, "--json"]);
    expect(run.code).toBe(0);
    const log = readFileSync(join(server.dir, "log", "rdpcert.log"), "utf8");
    expect(log).toMatch(/cannot write the textfile metrics .*missing\/rdpcert\.prom: ENOENT/);
    // And in run --json's warnings, and in the state dir for the exporter's module=local.
    expect((JSON.parse(run.stdout) as { warnings: string[] }).warnings).toEqual([`cannot write the textfile metrics ${join(dir, "rdpcert.prom")}: ENOENT`]);
    expect(JSON.parse(readFileSync(join(server.dir, "state", "textfile.json"), "utf8"))).toEqual({ at: expect.any(String), error: "ENOENT" });
  });

  it("--dry-run writes nothing", async () => {
    const server = await start(certValid(-1, 179));
    const dir = join(adminDir(), "textfile");
    mkdirSync(dir);
    expect((await rdpcert(["run", "--config", writeXrdpConfig(server), "--textfile-dir", dir, "--dry-run", "--json"])).code).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });
});
