import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { XrdpServer } from "../../scripts/xrdp-server";
import { probe } from "../../src/probe/prober";
import { adminDir } from "../helpers/admin-dir";
import { certValid } from "../helpers/certs";
import { rdpcertJson } from "../helpers/cli";
import { makeTestCa, opensslThumbprint } from "../helpers/test-ca";
import { ensureUser } from "../helpers/users";
import { writeXrdpConfig, xrdpArgs, xrdpPool } from "../helpers/xrdp-pool";

/**
 * The post-change hook (issue 25) against real xrdp: postChangeCommand / --post-hook runs after a
 * verified change only, with the old and new fingerprints seen on the wire and the pin bundle in
 * its environment; a failing hook is reported and the new certificate stays; no hook without a
 * change or after a rollback; a hook others could swap is refused before anything changes. The
 * example hook (examples/hooks/publish-pins.sh) is run for real into a web directory and a git repo.
 */
interface ChangeJson {
  outcome: string;
  exitCode: number;
  reason: string;
  newThumbprint: string | null;
  newSha256: string | null;
  warnings?: string[];
  pins?: { written: boolean; path?: string } | null;
  postChange?: { command: string; ok: boolean; exitCode: number | null; reason?: string } | null;
}

const EXAMPLE_HOOK = join(__dirname, "..", "..", "examples", "hooks", "publish-pins.sh");
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function admin(): string {
  const dir = adminDir("rdpcert-hooks-");
  dirs.push(dir);
  return dir;
}

const wire = async (server: XrdpServer) =>
  (await probe({ input: `127.0.0.1:${server.port}`, host: "127.0.0.1", port: server.port }, { timeoutMs: 5000 })).certificate!;

/** A hook that records its RDPCERT_* environment (one NAME=value a line) into `out`. */
function recordingHook(dir: string): { script: string; out: string } {
  const script = join(dir, "record.sh");
  writeFileSync(script, '#!/bin/sh\nenv | grep "^RDPCERT_" | sort > "$1"\n', { mode: 0o755 });
  return { script, out: join(dir, "hook.env") };
}

function envOf(path: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(path, "utf8")
      .trim()
      .split("\n")
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}

const rotate = (server: XrdpServer, ...extra: string[]) => rdpcertJson<ChangeJson>(["rotate", ...xrdpArgs(server), "--yes", ...extra]);

describe("post-change hook against real xrdp", () => {
  const start = xrdpPool({ requireRoot: true });

  it("rotate --post-hook: the hook sees the old and new fingerprints the wire showed, and the bundle of the new one", async () => {
    const server = await start(certValid(-1, 179));
    const before = await wire(server);
    const dir = admin();
    const hook = recordingHook(dir);
    const { code, json } = await rotate(server, "--force", "--post-hook", `${hook.script} ${hook.out}`);
    expect([json.outcome, code, json.postChange?.ok]).toEqual(["rotated", 0, true]);
    const after = await wire(server);
    expect(after.thumbprint).not.toBe(before.thumbprint);
    const env = envOf(hook.out);
    expect(env).toEqual({
      RDPCERT_BUNDLE: json.pins?.path,
      RDPCERT_LISTENER: `127.0.0.1:${server.port}`,
      RDPCERT_NEW_SHA1: after.thumbprint,
      RDPCERT_NEW_SHA256: after.sha256,
      RDPCERT_OLD_SHA1: before.thumbprint,
      RDPCERT_OLD_SHA256: before.sha256,
    });
    const bundle = JSON.parse(readFileSync(env.RDPCERT_BUNDLE!, "utf8")) as { sha256: { hex: string }; listener: { host: string; port: number } };
    expect(bundle.sha256.hex).toBe(after.sha256.toLowerCase());
    // The name clients connect with: the certificate's first DNS name (app/pin-bundle.ts clientName).
    expect(bundle.listener).toEqual({ host: "rdpcert-test", port: server.port });
  });

  it("a failing hook: one warning line, exit 1, logged; the new certificate stays on the wire", async () => {
    const server = await start(certValid(-1, 179));
    const dir = admin();
    const script = join(dir, "fail.sh");
    writeFileSync(script, '#!/bin/sh\necho "web server unreachable" >&2\nexit 3\n', { mode: 0o755 });
    const { code, json } = await rotate(server, "--force", "--post-hook", script);
    expect([json.outcome, code, json.exitCode]).toEqual(["rotated", 1, 1]);
    expect(json.postChange).toMatchObject({ ok: false, exitCode: 3 });
    expect(json.warnings).toEqual([
      `post-change hook ${script} exited with 3: web server unreachable; the change stays (the listener serves the new certificate)`,
    ]);
    expect((await wire(server)).thumbprint).toBe(json.newThumbprint);
    const log = readFileSync(join(server.dir, "log", "rdpcert.log"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { level: string; message: string });
    expect(log.some((l) => l.level === "warn" && l.message.startsWith(`post-change hook ${script} exited with 3`))).toBe(true);
  });

  it("no hook when nothing changed (not needed, dry run, run on a healthy listener) or the change was rolled back", async () => {
    const server = await start(certValid(-1, 179));
    const dir = admin();
    const hook = recordingHook(dir);
    const flag = ["--post-hook", `${hook.script} ${hook.out}`];
    const notNeeded = await rotate(server, ...flag);
    expect([notNeeded.json.outcome, notNeeded.code]).toEqual(["not-needed", 0]);
    const dry = await rdpcertJson<ChangeJson>(["rotate", ...xrdpArgs(server), "--dry-run", "--force", ...flag]);
    expect([dry.json.outcome, dry.code]).toEqual(["planned", 0]);
    const run = await rdpcertJson<ChangeJson>(["run", ...xrdpArgs(server), ...flag]);
    expect([run.json.outcome, run.code]).toEqual(["nothing", 0]);
    const before = await wire(server);
    // The restart fails after the new pair was written: rolled back, the old certificate again.
    const rolledBack = await rdpcertJson<ChangeJson>([
      "rotate",
      ...xrdpArgs(server).filter((a) => a !== "--no-restart"),
      "--restart-command",
      "false",
      "--yes",
      "--force",
      ...flag,
    ]);
    expect([rolledBack.json.outcome, rolledBack.code]).toEqual(["rolled-back", 2]);
    expect((await wire(server)).thumbprint).toBe(before.thumbprint);
    expect(existsSync(hook.out)).toBe(false);
  });

  it("run: a due certificate is rotated and the configured postChangeCommand runs once", async () => {
    const server = await start(certValid(-130, 50));
    const dir = admin();
    const hook = recordingHook(dir);
    const config = writeXrdpConfig(server, { postChangeCommand: [hook.script, hook.out] }, dir);
    const { code, json } = await rdpcertJson<ChangeJson & { rotation: { newThumbprint: string } }>(["run", "--config", config, "--json"]);
    expect([json.outcome, code, json.postChange?.ok]).toEqual(["rotated", 0, true]);
    expect(envOf(hook.out).RDPCERT_NEW_SHA1).toBe((await wire(server)).thumbprint);
  });

  it("a hook in a directory another user can write is refused before anything changes (rotate exit 3, run cannot-run exit 3)", async () => {
    const t2 = ensureUser("rdpcert-t2");
    const server = await start(certValid(-130, 50));
    const before = await wire(server);
    const theirs = mkdtempSync(join(tmpdir(), "rdpcert-t2-hooks-"));
    dirs.push(theirs);
    chownSync(theirs, t2.uid, t2.gid);
    chmodSync(theirs, 0o755);
    const script = join(theirs, "hook.sh");
    writeFileSync(script, "#!/bin/sh\ntouch /tmp/rdpcert-hook-must-not-run\n", { mode: 0o755 });
    const refused = await rotate(server, "--force", "--post-hook", script);
    expect([refused.json.outcome, refused.code]).toEqual(["refused", 3]);
    expect(refused.json.reason).toMatch(
      new RegExp(`^postChangeCommand's executable ${script}: ${theirs} is owned by uid ${t2.uid}.*refusing to run it as root$`),
    );
    expect(refused.json.reason).not.toContain("\n");
    const dir = admin();
    const config = join(dir, "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        xrdpIni: server.iniPath,
        stateDir: join(server.dir, "state"),
        logDir: join(server.dir, "log"),
        restartCommand: null,
        postChangeCommand: [script],
      }),
    );
    const run = await rdpcertJson<{ outcome: string; reason: string }>(["run", "--config", config, "--json"]);
    expect([run.json.outcome, run.code]).toEqual(["cannot-run", 3]);
    expect(run.json.reason).toContain(`${theirs} is owned by uid ${t2.uid}`);
    expect((await wire(server)).thumbprint).toBe(before.thumbprint);
    expect(existsSync("/tmp/rdpcert-hook-must-not-run")).toBe(false);
  });

  it("deploy --post-hook: runs once for the deployed CA-issued certificate, not again when it is already presented", async () => {
    const server = await start(certValid(-10, 170));
    const before = await wire(server);
    const dir = admin();
    const ca = makeTestCa(join(dir, "ca"));
    const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
    const script = join(dir, "append.sh");
    writeFileSync(script, '#!/bin/sh\necho "$RDPCERT_OLD_SHA256 $RDPCERT_NEW_SHA1 $RDPCERT_NEW_SHA256" >> "$1"\n', { mode: 0o755 });
    const out = join(dir, "calls");
    const args = ["deploy", ...xrdpArgs(server), "--cert", leaf.fullchainPath, "--key", leaf.keyPath, "--yes", "--post-hook", `${script} ${out}`];
    const first = await rdpcertJson<ChangeJson>(args);
    expect([first.json.outcome, first.code, first.json.postChange?.ok]).toEqual(["deployed", 0, true]);
    const after = await wire(server);
    expect(after.thumbprint).toBe(opensslThumbprint(leaf.certPath));
    const again = await rdpcertJson<ChangeJson>(args);
    expect([again.json.outcome, again.code, again.json.postChange]).toEqual(["not-needed", 0, null]);
    expect(readFileSync(out, "utf8")).toBe(`${before.sha256} ${after.thumbprint} ${after.sha256}\n`);
  });

  it("the example hook publishes the bundle to a web directory and commits it to a git repo, run for real", async () => {
    const server = await start(certValid(-1, 179));
    const dir = admin();
    const hook = join(dir, "publish-pins.sh");
    copyFileSync(EXAMPLE_HOOK, hook);
    chmodSync(hook, 0o755);
    const web = join(dir, "www", "rdp-pins");
    const toWeb = await rotate(server, "--force", "--post-hook", `${hook} --web ${web}`);
    expect([toWeb.json.outcome, toWeb.code, toWeb.json.postChange?.ok]).toEqual(["rotated", 0, true]);
    const stem = `rdpcert-test_${server.port}`;
    const published = JSON.parse(readFileSync(join(web, `${stem}.json`), "utf8")) as { sha256: { hex: string } };
    expect(published.sha256.hex).toBe(toWeb.json.newSha256!.toLowerCase());
    expect(readFileSync(join(web, `${stem}.known_hosts2`), "utf8")).toMatch(
      new RegExp(`^rdpcert-test ${server.port} ${toWeb.json.newSha256!.toLowerCase().replace(/(..)(?!$)/g, "$1:")} `),
    );

    const repo = join(dir, "config-repo");
    mkdirSync(repo);
    execFileSync("git", ["init", "--quiet", repo]);
    const toGit = await rotate(server, "--force", "--post-hook", `${hook} --git ${repo}`);
    expect([toGit.json.outcome, toGit.code, toGit.json.postChange?.ok]).toEqual(["rotated", 0, true]);
    const message = execFileSync("git", ["-C", repo, "log", "-1", "--format=%s"], { encoding: "utf8" }).trim();
    expect(message).toBe(`rdp pins: 127.0.0.1:${server.port} now SHA-256 ${toGit.json.newSha256}`);
    const committed = JSON.parse(execFileSync("git", ["-C", repo, "show", `HEAD:rdp-pins/${stem}.json`], { encoding: "utf8" })) as { sha256: { hex: string } };
    expect(committed.sha256.hex).toBe(toGit.json.newSha256!.toLowerCase());
  });
});
