import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { caIssued, certValid } from "../helpers/certs";
import { CLI } from "../helpers/cli";
import { type TestCa, makeTestCa } from "../helpers/test-ca";
import { writeXrdpConfig, xrdpPool } from "../helpers/xrdp-pool";
import { adminDir } from "../helpers/admin-dir";
import { presentedThumbprint, sha1 } from "../helpers/served";

/**
 * The Ansible collection `rdpcert.rdpcert` (contrib/ansible), built
 * and installed with Debian's ansible-core into a temporary collections path,
 * and run with `ansible-playbook` against localhost (connection: local) and
 * real xrdp servers on loopback: the modules call the built rdpcert CLI; the
 * role installs the real npm tarball into a temporary prefix.
 */
const ROOT = join(__dirname, "..", "..");
const COLLECTION = join(ROOT, "contrib", "ansible", "rdpcert", "rdpcert");

interface TaskResult {
  changed: boolean;
  failed?: boolean;
  msg?: string;
  skipped?: boolean;
  warnings?: string[];
  diff?: { before: string; after: string } | { before: string; after: string }[];
  [key: string]: unknown;
}

interface PlaybookRun {
  code: number | null;
  results: TaskResult[];
  stdout: string;
  stderr: string;
  stats: { changed: number; failures: number; ok: number };
}

let work: string;
let env: NodeJS.ProcessEnv;

/** Runs a playbook of `tasks` on localhost and returns each task's result (json callback). */
function playbook(
  tasks: readonly Record<string, unknown>[],
  options: { check?: boolean; diff?: boolean; vars?: Record<string, unknown> } = {},
): Promise<PlaybookRun> {
  const dir = mkdtempSync(join(work, "play-"));
  const path = join(dir, "play.yml");
  // JSON is YAML: nothing is spliced into a command line or a YAML text.
  writeFileSync(path, JSON.stringify([{ hosts: "localhost", connection: "local", gather_facts: false, vars: options.vars ?? {}, tasks }]));
  const argv = ["-i", "localhost,", path, ...(options.check ? ["--check"] : []), ...(options.diff ? ["--diff"] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn("ansible-playbook", argv, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      try {
        const report = JSON.parse(stdout) as {
          plays: { tasks: { hosts: Record<string, TaskResult> }[] }[];
          stats: Record<string, { changed: number; failures: number; ok: number }>;
        };
        const results = report.plays.flatMap((p) => p.tasks.map((t) => t.hosts.localhost!));
        resolve({ code, results, stdout, stderr, stats: report.stats.localhost! });
      } catch {
        reject(new Error(`ansible-playbook printed no JSON report (exit ${code}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "rdpcert-ansible-"));
  // A stand-in for the npm-installed `rdpcert` on the PATH: the built CLI run by this node.
  const bin = join(work, "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "rdpcert"), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`);
  chmodSync(join(bin, "rdpcert"), 0o755);
  const collections = join(work, "collections");
  env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    ANSIBLE_COLLECTIONS_PATH: collections,
    ANSIBLE_COLLECTIONS_PATHS: collections,
    ANSIBLE_HOME: join(work, "ansible-home"),
    ANSIBLE_LOCAL_TEMP: join(work, "ansible-tmp"),
    ANSIBLE_REMOTE_TEMP: join(work, "ansible-remote-tmp"),
    ANSIBLE_STDOUT_CALLBACK: "json",
    ANSIBLE_PYTHON_INTERPRETER: "/usr/bin/python3",
    ANSIBLE_NOCOLOR: "1",
    ANSIBLE_RETRY_FILES_ENABLED: "0",
    ANSIBLE_LOCALHOST_WARNING: "0",
    ANSIBLE_INVENTORY_UNPARSED_WARNING: "0",
  };
  execFileSync("ansible-galaxy", ["collection", "build", COLLECTION, "--output-path", work], { env, stdio: ["ignore", "pipe", "pipe"] });
  const built = readdirSync(work).find((f) => f.startsWith("rdpcert-rdpcert-") && f.endsWith(".tar.gz"));
  if (!built) throw new Error("ansible-galaxy collection build wrote no rdpcert-rdpcert-*.tar.gz");
  execFileSync("ansible-galaxy", ["collection", "install", join(work, built), "-p", collections], { env, stdio: ["ignore", "pipe", "pipe"] });
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("ansible collection rdpcert.rdpcert against real xrdp", () => {
  const start = xrdpPool();

  it("builds and installs with ansible-galaxy: the three modules and the role are in the installed collection", () => {
    const installed = join(work, "collections", "ansible_collections", "rdpcert", "rdpcert");
    for (const m of ["rdpcert_status", "rdpcert_run", "rdpcert_deploy"]) expect(existsSync(join(installed, "plugins", "modules", `${m}.py`))).toBe(true);
    expect(existsSync(join(installed, "roles", "rdpcert", "tasks", "main.yml"))).toBe(true);
    const doc = execFileSync("ansible-doc", ["-t", "module", "rdpcert.rdpcert.rdpcert_run", "--json"], { env, encoding: "utf8" });
    expect(Object.keys((JSON.parse(doc) as Record<string, { doc: { options: Record<string, unknown> } }>)["rdpcert.rdpcert.rdpcert_run"]!.doc.options)).toEqual(
      expect.arrayContaining(["config", "xrdp_ini", "state_dir", "port", "backend", "restart", "warn_days", "rdpcert_bin"]),
    );
  });

  it("ansible-test sanity: every test that runs offline passes (the others need a venv that pip fills from the network)", () => {
    // ansible-test wants the collection at ansible_collections/NAMESPACE/NAME.
    const tree = join(work, "sanity", "ansible_collections", "rdpcert", "rdpcert");
    mkdirSync(join(tree, ".."), { recursive: true });
    cpSync(COLLECTION, tree, { recursive: true });
    const offline = [
      "compile",
      "future-import-boilerplate",
      "metaclass-boilerplate",
      "line-endings",
      "no-smart-quotes",
      "empty-init",
      "use-argspec-type-path",
      "shebang",
      "symlinks",
      "no-illegal-filenames",
      "no-assert",
      "no-basestring",
      "no-get-exception",
      "no-unicode-literals",
      "replace-urlopen",
      "use-compat-six",
      "no-main-display",
      "no-dict-iteritems",
    ];
    const run = spawnSync("ansible-test", ["sanity", "--python", "3.11", ...offline.flatMap((t) => ["--test", t])], { cwd: tree, env, encoding: "utf8" });
    expect([run.status, run.stdout.match(/Running sanity test "[^"]+"/g)?.length]).toEqual([0, offline.length]);
  }, 120_000);

  it("rdpcert_run: check mode changes nothing and reports changed; the first run rotates (changed, diff); the second is unchanged; rdpcert_status returns the verdict", async () => {
    const old = certValid(-130, 50); // past the renewal point (72 % of 180 days)
    const server = await start(old);
    const config = writeXrdpConfig(server);
    const oldThumbprint = sha1(old.certPem);
    const task = { "rdpcert.rdpcert.rdpcert_run": { config }, register: "rdp_pass" };

    const check = await playbook([task], { check: true, diff: true });
    expect(check.code).toBe(0);
    expect(check.results[0]).toMatchObject({ changed: true, outcome: "dry-run: would rotate", old_thumbprint: oldThumbprint });
    expect(readFileSync(server.certPath, "utf8")).toBe(old.certPem);
    expect(readFileSync(server.iniPath, "utf8")).toContain(`certificate=${server.certPath}`);
    expect(await presentedThumbprint(server.port)).toBe(oldThumbprint);

    const first = await playbook([task], { diff: true });
    expect(first.code).toBe(0);
    const now = await presentedThumbprint(server.port);
    expect(now).not.toBe(oldThumbprint);
    expect(first.results[0]).toMatchObject({ changed: true, outcome: "rotated", old_thumbprint: oldThumbprint, new_thumbprint: now });
    expect(first.results[0]!.diff).toMatchObject({ before: `thumbprint: ${oldThumbprint}\n`, after: `thumbprint: ${now}\n` });

    const second = await playbook([task]);
    expect(second.code).toBe(0);
    expect(second.results[0]).toMatchObject({ changed: false, outcome: "nothing", exit_code: 0 });
    expect(second.stats.changed).toBe(0);

    const status = await playbook([{ "rdpcert.rdpcert.rdpcert_status": { config } }], { check: true });
    expect(status.results[0]).toMatchObject({ changed: false, verdict: "OK", health: "ok", exit_code: 0, thumbprint: now, problems: [] });
    expect((status.results[0]!.presented as { certificate: { thumbprint: string } }).certificate.thumbprint).toBe(now);
    expect((status.results[0]!.configured as { certificate: { thumbprint: string } }).certificate.thumbprint).toBe(now);
  }, 120_000);

  it("options named after the CLI's: xrdp_ini, state_dir, warn_days, restart=false, and rdpcert_bin instead of the PATH", async () => {
    const pair = certValid(-1, 20); // expires within 30 days, not within 10
    const server = await start(pair);
    const state = join(server.dir, "state-by-option");
    const bin = join(work, "bin", "rdpcert");
    const run = await playbook([
      { "rdpcert.rdpcert.rdpcert_status": { rdpcert_bin: bin, backend: "xrdp", xrdp_ini: server.iniPath, state_dir: state, warn_days: 10, timeout: 4000 } },
      {
        "rdpcert.rdpcert.rdpcert_status": {
          rdpcert_bin: bin,
          backend: "xrdp",
          xrdp_ini: server.iniPath,
          state_dir: state,
          port: server.port + 1,
          timeout: 2000,
        },
      },
      { "rdpcert.rdpcert.rdpcert_run": { rdpcert_bin: bin, xrdp_ini: server.iniPath, state_dir: state, restart: false, warn_days: 10, verify_timeout: 8000 } },
    ]);
    expect(run.results[0]).toMatchObject({ verdict: "OK", health: "ok", days_left: 19 });
    // port: rdpcert's config field (RDPCERT_PORT): nothing listens one port up.
    expect(run.results[1]).toMatchObject({ verdict: "DOWN", health: "critical", changed: false });
    expect(run.results[2]).toMatchObject({ changed: false, outcome: "nothing" });
    expect(run.results[2]!.cmd).toEqual([
      bin,
      "run",
      "--json",
      "--xrdp-ini",
      server.iniPath,
      "--state-dir",
      state,
      "--warn-days",
      "10",
      "--no-restart",
      "--verify-timeout",
      "8000",
    ]);
    // Without warn_days, rdpcert's default (30) counts: the same certificate is a WARN.
    const defaults = await playbook([{ "rdpcert.rdpcert.rdpcert_status": { xrdp_ini: server.iniPath, state_dir: state } }]);
    expect(defaults.results[0]).toMatchObject({ verdict: "WARN", health: "warn", changed: false });
    expect(readFileSync(server.certPath, "utf8")).toBe(pair.certPem);
  }, 120_000);

  it("rdpcert_run: exit 2 fails with rdpcert's one-line reason; exit 1 (WARNING) is a warning, failed only with fail_on_warning", async () => {
    const broken = await start({ certPem: certValid(-1, 179).certPem }); // key missing
    const critical = await playbook([{ "rdpcert.rdpcert.rdpcert_run": { config: writeXrdpConfig(broken, { autoRepair: false }) } }]);
    expect(critical.code).toBe(2);
    const failed = critical.results[0]!;
    expect(failed).toMatchObject({ failed: true, changed: false, exit_code: 2, verdict: "CORRUPT", outcome: "nothing" });
    expect(failed.msg).toBe(failed.reason);
    expect(failed.msg!.split("\n")).toHaveLength(1);
    expect(existsSync(broken.keyPath)).toBe(false);

    const ca = caIssued(-300, 20);
    const expiring = await start(ca);
    const config = writeXrdpConfig(expiring);
    const warned = await playbook([{ "rdpcert.rdpcert.rdpcert_run": { config } }, { "rdpcert.rdpcert.rdpcert_run": { config, fail_on_warning: true } }]);
    expect(warned.results[0]).toMatchObject({ changed: false, exit_code: 1, outcome: "nothing" });
    expect(warned.results[0]!.failed ?? false).toBe(false);
    expect(warned.results[0]!.warnings).toEqual([expect.stringMatching(/^rdpcert run: WARNING: .*CA-issued certificate \(never deleted by rdpcert\)/)]);
    expect(warned.results[1]).toMatchObject({ failed: true, exit_code: 1 });
    expect(readFileSync(expiring.certPath, "utf8")).toBe(ca.certPem);
  }, 120_000);

  it("rdpcert_status: a bad config fails with rdpcert's one line, not a traceback", async () => {
    const config = join(adminDir(), "bad.json");
    writeFileSync(config, JSON.stringify({ jitterMinutes: -5 }));
    const run = await playbook([{ "rdpcert.rdpcert.rdpcert_status": { config } }]);
    expect(run.results[0]).toMatchObject({ failed: true, rc: 3, exit_name: "UNKNOWN" });
    expect(run.results[0]!.msg).toMatch(/jitterMinutes: -5 is not allowed/);
    expect(run.results[0]!.msg!.split("\n")).toHaveLength(1);
  }, 60_000);
});

describe("rdpcert_deploy against real xrdp with a test CA", () => {
  const start = xrdpPool({ requireRoot: true });
  let ca: TestCa;
  beforeAll(() => {
    ca = makeTestCa(join(work, "ca"));
  });

  it("deploys files from the target (check mode first: nothing changes), then is unchanged (not-needed)", async () => {
    const server = await start(certValid(-1, 179));
    const before = readFileSync(server.iniPath, "utf8");
    const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
    const task = {
      "rdpcert.rdpcert.rdpcert_deploy": {
        cert: leaf.fullchainPath,
        key: leaf.keyPath,
        xrdp_ini: server.iniPath,
        state_dir: join(server.dir, "state"),
        restart: false,
        verify_timeout: 8000,
      },
    };

    const check = await playbook([task], { check: true });
    expect(check.results[0]).toMatchObject({ changed: true, outcome: "planned" });
    expect(readFileSync(server.iniPath, "utf8")).toBe(before);

    const first = await playbook([task], { diff: true });
    expect(first.code).toBe(0);
    expect(first.results[0]).toMatchObject({ changed: true, outcome: "deployed", new_thumbprint: sha1(leaf.certPem) });
    expect(await presentedThumbprint(server.port)).toBe(sha1(leaf.certPem));

    const second = await playbook([task]);
    expect(second.results[0]).toMatchObject({ changed: false, outcome: "not-needed" });
    const secondCheck = await playbook([task], { check: true });
    expect(secondCheck.results[0]).toMatchObject({ changed: false });
  }, 120_000);

  it("deploys a PFX whose password travels on stdin: never in the command or the output; a wrong password fails with one line", async () => {
    const server = await start(certValid(-1, 179));
    const leaf = ca.issue("pfx.example.test", { names: ["DNS:pfx.example.test"] });
    const pfx = join(work, "leaf.pfx");
    const password = "s3cret-Pfx-Pass";
    writeFileSync(join(work, "pfx-pass"), `${password}\n`, { mode: 0o600 });
    execFileSync("openssl", [
      "pkcs12",
      "-export",
      "-in",
      leaf.fullchainPath,
      "-inkey",
      leaf.keyPath,
      "-out",
      pfx,
      "-passout",
      `file:${join(work, "pfx-pass")}`,
    ]);
    const args = { pfx, xrdp_ini: server.iniPath, state_dir: join(server.dir, "state"), restart: false, verify_timeout: 8000 };

    const wrong = await playbook([{ "rdpcert.rdpcert.rdpcert_deploy": { ...args, pfx_password: "not-it" } }]);
    expect(wrong.results[0]).toMatchObject({ failed: true, exit_code: 3 });
    expect(wrong.results[0]!.msg!.split("\n")).toHaveLength(1);

    const run = await playbook([{ "rdpcert.rdpcert.rdpcert_deploy": { ...args, pfx_password: password }, register: "deployed" }], { diff: true });
    expect(run.results[0]).toMatchObject({ changed: true, outcome: "deployed", new_thumbprint: sha1(leaf.certPem) });
    expect(run.results[0]!.cmd).not.toContain(password);
    expect(run.stdout).not.toContain(password);
    expect(await presentedThumbprint(server.port)).toBe(sha1(leaf.certPem));
  }, 120_000);
});

describe("the role rdpcert.rdpcert.rdpcert", () => {
  let tarball: string;
  beforeAll(() => {
    const packed = JSON.parse(
      execFileSync("npm", ["pack", "--json", "--pack-destination", work], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }),
    ) as { filename: string }[];
    tarball = join(work, packed[0]!.filename);
  }, 120_000);

  it("installs the tarball with npm into a prefix, writes the config (validated), the exporter unit, and a second run changes nothing", async () => {
    const root = join(work, "root");
    const vars = {
      rdpcert_tarball: tarball,
      rdpcert_cache_dir: join(root, "var/cache/rdpcert"),
      rdpcert_npm_prefix: join(root, "usr/local"),
      rdpcert_config_path: join(root, "etc/rdpcert/config.json"),
      rdpcert_config: { warnDays: 21, schedule: "15 4 * * *", restartCommand: ["systemctl", "restart", "xrdp"] },
      rdpcert_unit_dir: join(root, "etc/systemd/system"),
      rdpcert_timer: false,
      rdpcert_exporter: true,
      rdpcert_exporter_allow_targets: ["10.20.0.0/16"],
      rdpcert_systemctl: false,
    };
    mkdirSync(vars.rdpcert_unit_dir, { recursive: true });
    const role = [{ "ansible.builtin.include_role": { name: "rdpcert.rdpcert.rdpcert" } }];
    const first = await playbook(role, { vars });
    expect([first.code, first.stats.failures]).toEqual([0, 0]);
    expect(first.stats.changed).toBeGreaterThan(0);
    const bin = join(vars.rdpcert_npm_prefix, "bin", "rdpcert");
    expect(execFileSync(bin, ["--version"], { encoding: "utf8" }).trim()).toBe(
      (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version,
    );
    expect(JSON.parse(readFileSync(vars.rdpcert_config_path, "utf8"))).toEqual(vars.rdpcert_config);
    const shown = JSON.parse(execFileSync(bin, ["config", "show", "--config", vars.rdpcert_config_path], { encoding: "utf8" })) as {
      warnDays: number;
      schedule: string;
    };
    expect([shown.warnDays, shown.schedule]).toEqual([21, "15 4 * * *"]);
    const unit = readFileSync(join(vars.rdpcert_unit_dir, "rdpcert-exporter.service"), "utf8");
    expect(unit).toContain(`\nExecStart=${bin} exporter --config ${vars.rdpcert_config_path} --listen 127.0.0.1:9733 --allow-target=10.20.0.0/16\n`);
    execFileSync("systemd-analyze", ["verify", "--man=no", join(vars.rdpcert_unit_dir, "rdpcert-exporter.service")], { stdio: ["ignore", "pipe", "pipe"] });

    const second = await playbook(role, { vars });
    expect([second.code, second.stats.failures, second.stats.changed]).toEqual([0, 0, 0]);

    // A config rdpcert refuses never replaces the good one.
    const bad = await playbook(role, { vars: { ...vars, rdpcert_config: { warnDays: 400 } } });
    expect(bad.code).not.toBe(0);
    expect(JSON.parse(readFileSync(vars.rdpcert_config_path, "utf8"))).toEqual(vars.rdpcert_config);

    // The timer: rdpcert task install --unit-dir; this host has no running systemd, so it must fail with rdpcert's line and write nothing.
    if (existsSync("/run/systemd/system")) throw new Error("this test needs a host where systemd is not PID 1 (a container)");
    const timer = await playbook(role, { vars: { ...vars, rdpcert_timer: true } });
    expect(timer.code).not.toBe(0);
    const failed = timer.results.find((r) => r.failed)!;
    expect(String(failed.stderr)).toContain("systemd is not running on this host (no /run/systemd/system), so nothing was written");
    expect(existsSync(join(vars.rdpcert_unit_dir, "rdpcert.timer"))).toBe(false);
  }, 300_000);
});
