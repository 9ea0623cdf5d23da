import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseYaml } from "../helpers/yaml";

/** contrib/prometheus: the rules pass promtool's check and unit tests, and the checks are real. */
const CONTRIB = join(__dirname, "..", "..", "contrib", "prometheus");
const promtool = (args: readonly string[], cwd = CONTRIB) => {
  const run = spawnSync("promtool", args, { cwd, encoding: "utf8" });
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
};

describe("contrib/prometheus", () => {
  const work = mkdtempSync(join(tmpdir(), "rdpcert-contrib-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** A copy of the rules and their tests with one edit to rules.yml. */
  const mutated = (from: string | RegExp, to: string): string => {
    const dir = mkdtempSync(join(work, "m-"));
    const rules = readFileSync(join(CONTRIB, "rules.yml"), "utf8");
    const edited = rules.replace(from, to);
    expect(edited).not.toBe(rules);
    writeFileSync(join(dir, "rules.yml"), edited);
    copyFileSync(join(CONTRIB, "rules.test.yml"), join(dir, "rules.test.yml"));
    return dir;
  };

  it("promtool check rules accepts rules.yml", () => {
    const run = promtool(["check", "rules", "rules.yml"]);
    expect(run).toEqual({ status: 0, out: expect.stringContaining("SUCCESS: 15 rules found") });
  });

  it("promtool test rules passes rules.test.yml", () => {
    const run = promtool(["test", "rules", "rules.test.yml"]);
    expect(run).toEqual({ status: 0, out: expect.stringContaining("SUCCESS") });
  });

  it("the check is real: a rule that does not parse fails promtool check rules", () => {
    const dir = mutated("expr: rdpcert_run_rotation_failures > 0", "expr: rdpcert_run_rotation_failures >");
    const run = promtool(["check", "rules", "rules.yml"], dir);
    expect(run.status).not.toBe(0);
    expect(run.out).toMatch(/FAILED|parse error/i);
  });

  it("the unit tests are real: a rule that matches the wrong error kind fails promtool test rules, naming the alert", () => {
    const dir = mutated('label_replace(rdp_probe_error_info{kind="rdp-security-only"}', 'label_replace(rdp_probe_error_info{kind="connect-refused"}');
    const run = promtool(["test", "rules", "rules.test.yml"], dir);
    expect(run.status).not.toBe(0);
    expect(run.out).toContain("RdpTlsNotOffered");
  });

  it("the unit tests are real: a 7-day threshold moved to 2 days fails them", () => {
    const dir = mutated("< 7 * 86400 and", "< 2 * 86400 and");
    const run = promtool(["test", "rules", "rules.test.yml"], dir);
    expect(run.status).not.toBe(0);
    expect(run.out).toContain("RdpCertExpiresWithin7Days");
  });

  it("the unit tests cover every mix of sources: the old rule (one regex over every notAfter name) fails them, naming the alert", () => {
    const regex = '{__name__=~"rdp_cert_not_after_seconds|rdpcert_local_cert_not_after_seconds|rdpcert_run_cert_not_after_seconds"}';
    const dir = mutated(
      /- record: rdpcert:cert_not_after_seconds\n {8}expr: \|\n[\s\S]*?\n\n/,
      `- record: rdpcert:cert_not_after_seconds\n        expr: '${regex}'\n\n`,
    );
    const run = promtool(["test", "rules", "rules.test.yml"], dir);
    expect(run.status).not.toBe(0);
    expect(run.out).toContain("RdpCertExpiresWithin14Days");
    // Two series for host m3 (module=local and the textfile), where the test expects one.
    expect(run.out).toContain('instance="m3:9100"');
  });

  it("the unit tests are real: a fingerprint alert that ignores rdpcert's own rotations fails them", () => {
    const dir = mutated(/\n {10}unless on \(host\) label_replace\(time\(\) - rdpcert_run_last_rotation_timestamp_seconds[^\n]*/, "");
    const run = promtool(["test", "rules", "rules.test.yml"], dir);
    expect(run.status).not.toBe(0);
    expect(run.out).toContain("RdpCertFingerprintChanged");
    expect(run.out).toContain('instance="p-planned:3389"');
  });

  it("the example prometheus.yml with file_sd passes promtool check config", () => {
    const run = promtool(["check", "config", "prometheus.example.yml"]);
    expect(run.status).toBe(0);
    expect(readdirSync(join(CONTRIB, "targets"))).toContain("rdp-listeners.example.yml");
  });

  it("rules.yml's header names files that exist beside it", () => {
    const header = readFileSync(join(CONTRIB, "rules.yml"), "utf8").split("\ngroups:")[0]!;
    const named = [...header.matchAll(/\b([\w.-]+\.(?:yml|json))\b/g)].map((m) => m[1]!);
    expect(named).toEqual(expect.arrayContaining(["prometheus.example.yml", "rules.yml", "rules.test.yml"]));
    expect(named.filter((f) => !existsSync(join(CONTRIB, f)))).toEqual([]);
  });

  it("every rdp_/rdpcert_ metric the rules and the dashboard use is one rdpcert exports", () => {
    const sources = ["src/metrics/probe-metrics.ts", "src/metrics/local-metrics.ts", "src/metrics/textfile.ts", "src/metrics/exporter-server.ts"]
      .map((p) => readFileSync(join(__dirname, "..", "..", p), "utf8"))
      .join("\n");
    const exported = new Set([...sources.matchAll(/"((?:rdp|rdpcert)_[a-z0-9_]+)"/g)].map((m) => m[1]!));
    const dashboard = JSON.parse(readFileSync(join(CONTRIB, "grafana-dashboard.json"), "utf8")) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const rules = parseYaml(readFileSync(join(CONTRIB, "rules.yml"), "utf8")) as { groups: Array<{ rules: Array<{ expr: string }> }> };
    const exprs = [...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)), ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr))].join(
      "\n",
    );
    const used = new Set([...exprs.matchAll(/\b((?:rdp|rdpcert)_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, "")));
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });
});
