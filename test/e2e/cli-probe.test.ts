import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type XrdpServer, startXrdp } from "../../scripts/xrdp-server";
import { certValid } from "../helpers/certs";
import { CLI, rdpcert } from "../helpers/cli";
import { type HostileListener, hostileListener } from "../helpers/hostile";

describe("rdpcert probe (the built CLI)", () => {
  let healthy: XrdpServer;
  let expiring: XrdpServer;
  let expired: XrdpServer;
  let silent: HostileListener;
  let dir: string;
  beforeAll(async () => {
    [healthy, expiring, expired] = await Promise.all([
      startXrdp(certValid(-1, 179, "healthy")),
      startXrdp(certValid(-170, 10, "expiring")),
      startXrdp(certValid(-200, -1, "expired")),
    ]);
    silent = await hostileListener(() => undefined);
    dir = mkdtempSync(join(tmpdir(), "rdpcert-cli-"));
  });
  afterAll(async () => {
    await Promise.all([healthy.stop(), expiring.stop(), expired.stop(), silent.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("exits 0 and prints the certificate for a healthy listener", async () => {
    const run = await rdpcert(["probe", `127.0.0.1:${healthy.port}`]);
    expect(run.code).toBe(0);
    expect(run.stdout.split("\n")[0]).toMatch(new RegExp(`^RDPCERT OK - 1 target: 1 OK \\| '127\\.0\\.0\\.1:${healthy.port}_days'=17\\d;30:;0:$`));
    expect(run.stdout).toMatch(new RegExp(`^127\\.0\\.0\\.1:${healthy.port}  OK  certificate valid for 17\\d more days`, "m"));
    expect(run.stdout).toMatch(/thumbprint [0-9A-F]{40} \(SHA-1\)/);
    expect(run.stdout).toMatch(/key +rsa 2048, sha256WithRSAEncryption, EKU serverAuth/);
    expect(run.stderr).toBe("");
  });

  it("exits 1 when a certificate expires within --warn-days, 0 when the window is shorter", async () => {
    expect((await rdpcert(["probe", `127.0.0.1:${expiring.port}`])).code).toBe(1);
    expect((await rdpcert(["probe", `127.0.0.1:${expiring.port}`, "--warn-days", "5"])).code).toBe(0);
  });

  it("prints the documented JSON for many targets in input order, with the worst exit code", async () => {
    const run = await rdpcert(["probe", "--json", "--timeout", "1000", `127.0.0.1:${expired.port}`, `127.0.0.1:${healthy.port}`, `127.0.0.1:${silent.port}`]);
    expect(run.code).toBe(2);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ schema: "rdpcert.probe/v1", status: "critical", exitCode: 2, warnDays: 30 });
    expect(report.results.map((r: { port: number }) => r.port)).toEqual([expired.port, healthy.port, silent.port]);
    const [exp, ok, stalled] = report.results;
    expect(exp).toMatchObject({
      status: "critical",
      reason: "certificate expired 1 day ago",
      error: null,
      negotiation: { selectedProtocol: "SSL", response: "response" },
    });
    expect(exp.certificate.daysLeft).toBeLessThan(0);
    expect(ok).toMatchObject({ status: "ok", certificate: { subject: "CN=healthy", selfSigned: true, publicKey: { type: "rsa", bits: 2048 } } });
    expect(ok.certificate.thumbprint).toMatch(/^[0-9A-F]{40}$/);
    expect(Object.keys(ok.timings).sort()).toEqual(["connectMs", "negotiationMs", "tlsMs", "totalMs"]);
    expect(stalled).toMatchObject({ status: "critical", certificate: null, error: { kind: "timeout", phase: "negotiation" } });
  });

  describe("for a terminal and a monitoring system (issue 23)", () => {
    const two = (): string => `127.0.0.1:${healthy.port}\n127.0.0.1:${expiring.port}\n`;

    it("first line: the overall state, the counts and performance data (days left; warn and critical as ranges); --critical-days makes it CRITICAL", async () => {
      const warn = await rdpcert(["probe", "--warn-days", "30", "--critical-days", "7", `127.0.0.1:${healthy.port}`, `127.0.0.1:${expiring.port}`]);
      expect(warn.code).toBe(1);
      expect(warn.stdout.split("\n")[0]).toMatch(
        new RegExp(
          `^RDPCERT WARNING - 2 targets: 1 OK, 1 WARNING \\| '127\\.0\\.0\\.1:${healthy.port}_days'=17\\d;30:;7: '127\\.0\\.0\\.1:${expiring.port}_days'=9;30:;7:$`,
        ),
      );
      const crit = await rdpcert(["probe", "--warn-days", "30", "--critical-days", "14", `127.0.0.1:${expiring.port}`]);
      expect(crit.code).toBe(2);
      expect(crit.stdout.split("\n")[0]).toMatch(/^RDPCERT CRITICAL - 1 target: 1 CRITICAL \| '127\.0\.0\.1:\d+_days'=9;30:;14:$/);
      expect(crit.stdout).toMatch(/CRITICAL {2}certificate expires in 9 days \(within --critical-days 14\)/);
    });

    it("--problems-only lists only the targets that are not OK; the first line still counts them all", async () => {
      const run = await rdpcert(["probe", "--problems-only", `127.0.0.1:${healthy.port}`, `127.0.0.1:${expiring.port}`]);
      expect(run.stdout.split("\n")[0]).toMatch(/^RDPCERT WARNING - 2 targets: 1 OK, 1 WARNING \|/);
      expect(run.stdout).toContain(`127.0.0.1:${expiring.port}  WARNING`);
      expect(run.stdout).not.toContain(`127.0.0.1:${healthy.port}  OK`);
    });

    it("a bad line in a targets file is that line's typed error; the other lines are probed", async () => {
      const file = join(dir, "with-bad-line.txt");
      writeFileSync(file, `127.0.0.1:${healthy.port}\nnot a host!\n127.0.0.1:${expiring.port}\n`);
      const run = await rdpcert(["probe", "--targets", file, "--json"]);
      expect(run.code).toBe(2);
      const json = JSON.parse(run.stdout) as { results: { target: string; status: string; error: { kind: string; message: string } | null }[] };
      expect(json.results.map((r) => [r.status, r.error?.kind ?? null])).toEqual([
        ["ok", null],
        ["critical", "bad-target"],
        ["warn", null],
      ]);
      expect(json.results[1]!.error!.message).toBe(`--targets ${file} line 2: not a valid host name: use host, host:port or [IPv6]:port`);
      expect(run.stdout).not.toContain("not a host!");
    });

    it.each([["-"], ["/dev/stdin"]])("--targets %s reads the targets from a pipe", async (name) => {
      const run = await rdpcert(["probe", "--targets", name, "--json"], { input: two() });
      expect(run.code).toBe(1);
      expect((JSON.parse(run.stdout) as { results: { port: number }[] }).results.map((r) => r.port)).toEqual([healthy.port, expiring.port]);
    });

    it("--targets FIFO (mkfifo) is read to its end; more than 16 MiB on standard input is one line, exit 3", async () => {
      const fifo = join(dir, "targets.fifo");
      spawnSync("mkfifo", [fifo]);
      const run = spawnSync("sh", ["-c", 'printf "%s" "$1" > "$2" & exec "$3" "$4" probe --targets "$2" --json', "sh", two(), fifo, process.execPath, CLI], {
        encoding: "utf8",
      });
      expect(run.status).toBe(1);
      expect((JSON.parse(run.stdout) as { results: unknown[] }).results).toHaveLength(2);
      const big = await rdpcert(["probe", "--targets", "-"], { input: "# padding\n".repeat(1_700_000) });
      expect(big.code).toBe(3);
      expect(big.stderr).toBe("rdpcert: cannot read --targets file standard input: sent more than the 16 MiB a targets file may have\n");
    });

    it("on a terminal: progress on stderr, each result as it completes in input order, the overall state last", () => {
      const list = join(dir, "tty-targets.txt");
      writeFileSync(list, `127.0.0.1:${expiring.port}\n127.0.0.1:${healthy.port}\n127.0.0.1:${silent.port}\n`);
      // script(1) gives the CLI a real terminal for stdout and stderr.
      const run = spawnSync("script", ["-qec", `${process.execPath} ${CLI} probe --timeout 3000 --targets ${list}`, "/dev/null"], { encoding: "utf8" });
      const out = run.stdout.replace(/\r/g, "");
      expect(out).toMatch(/probed 1\/3: /);
      expect(out).toContain("probed 3/3: ");
      const order = [expiring.port, healthy.port, silent.port].map((port) => out.indexOf(`127.0.0.1:${port}  `));
      expect(order.every((at) => at >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      expect(out.trimEnd().split("\n").at(-1)).toMatch(/RDPCERT CRITICAL - 3 targets: 1 OK, 1 WARNING, 1 CRITICAL$/);
      expect(out).not.toContain(" | '");
    });
  });

  it("reads --targets files with comments and blank lines", async () => {
    const file = join(dir, "targets.txt");
    writeFileSync(file, `# fleet\n\n127.0.0.1:${healthy.port}   # rdp01\n127.0.0.1:${expiring.port}\n`);
    const run = await rdpcert(["probe", "--targets", file, "--json"]);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).results.map((r: { status: string }) => r.status)).toEqual(["ok", "warn"]);
  });

  it.each([
    [["probe", "host:99999"], /^rdpcert: target "host:99999": port "99999" is not a number from 1 to 65535\n$/],
    [["probe"], /^rdpcert: no targets: name at least one TARGET or a non-empty --targets file\n$/],
    [["probe", "--targets", "/nonexistent/list.txt"], /^rdpcert: cannot read --targets file \/nonexistent\/list\.txt: ENOENT\n$/],
    [["probe", "h", "--timeout", "soon"], /^rdpcert: option '--timeout <ms>' argument 'soon' is invalid\. --timeout must be a whole number from 1 to 600000\./],
    [["probe", "h", "--concurrency", "0"], /--concurrency must be a whole number from 1 to 1024/],
    [["frobnicate"], /^rdpcert: unknown command 'frobnicate'/],
  ])("bad usage %j exits 3 with a clear line", async (args, message) => {
    const run = await rdpcert(args);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe("");
  });

  it("shows examples and exit codes in --help", async () => {
    const run = await rdpcert(["probe", "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Examples:\n {2}rdpcert probe /);
    expect(run.stdout).toMatch(/Exit codes:\n {2}0 {2}OK/);
  });
});

describe("every command's --help", () => {
  /** The commands a help page lists under "Commands:" (commander's own "help" left out). */
  const listed = (help: string): string[] => {
    const section = (help.split(/\nCommands:\n/)[1] ?? "").split(/\n\n/)[0]!;
    return [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((name) => name !== "help");
  };

  it("every command and subcommand the program registers shows examples and exit codes", async () => {
    const queue: string[][] = [[]];
    const seen: string[] = [];
    while (queue.length > 0 && seen.length < 40) {
      const command = queue.shift()!;
      const run = await rdpcert([...command, "--help"]);
      const name = command.join(" ") || "(top level)";
      expect([name, run.code]).toEqual([name, 0]);
      expect([name, /\nExamples:\n {2}(sudo )?rdpcert /.test(run.stdout)]).toEqual([name, true]);
      expect([name, /\nExit codes/.test(run.stdout)]).toEqual([name, true]);
      seen.push(name);
      for (const sub of listed(run.stdout)) queue.push([...command, sub]);
    }
    expect(seen.length).toBeLessThan(40);
    // The walk found the commands (a help page that stopped listing them would shrink this).
    expect(seen).toEqual(
      expect.arrayContaining([
        "(top level)",
        "probe",
        "status",
        "rotate",
        "deploy",
        "backups",
        "backups list",
        "backups restore",
        "doctor",
        "run",
        "schedule",
        "task",
        "task install",
        "config",
        "config validate",
        "exporter",
      ]),
    );
  }, 240_000);
});

describe("quick commands stay quick", () => {
  it("probe loads none of the heavy modules (winston, zod, node-forge, node-cron, prom-client)", () => {
    const script = `
      const { main } = require(${JSON.stringify(CLI)});
      main(["probe", "127.0.0.1:1", "--json", "--timeout", "300"]).then(() => {
        const heavy = Object.keys(require.cache).filter((k) => /node_modules[\\\\/](zod|winston|node-forge|node-cron|prom-client)[\\\\/]/.test(k));
        process.stderr.write(JSON.stringify(heavy));
      });`;
    const run = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
    expect(JSON.parse(run.stderr)).toEqual([]);
  });
});
