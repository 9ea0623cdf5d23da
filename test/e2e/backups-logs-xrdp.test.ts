import { X509Certificate, createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { XrdpServer } from "../../scripts/xrdp-server";
import { certValid } from "../helpers/certs";
import { rdpcert, rdpcertJson } from "../helpers/cli";
import { makeTestCa } from "../helpers/test-ca";
import { xrdpPool } from "../helpers/xrdp-pool";

/**
 * Backups and logs, against real xrdp: the admin's original pair
 * (backup 0001) outlives keepBackups; a restore is in the history and the log;
 * a hand-typed rotate, deploy or restore writes the log file (`--log-dir`
 * honoured), each change with both fingerprints, SHA-1 and SHA-256.
 */
interface RotateJson {
  outcome: string;
  newThumbprint: string | null;
  newSha256: string | null;
}

const prints = (pem: string): { sha1: string; sha256: string } => {
  const der = new X509Certificate(pem).raw;
  return { sha1: createHash("sha1").update(der).digest("hex").toUpperCase(), sha256: createHash("sha256").update(der).digest("hex").toUpperCase() };
};
const logLines = (dir: string): { level: string; message: string }[] =>
  readFileSync(join(dir, "rdpcert.log"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { level: string; message: string });

describe("backups and logs (issue 23)", () => {
  const start = xrdpPool({ requireRoot: true });
  const common = (server: XrdpServer): string[] => [
    "--xrdp-ini",
    server.iniPath,
    "--state-dir",
    join(server.dir, "state"),
    "--log-dir",
    join(server.dir, "logs"),
    "--no-restart",
    "--verify-timeout",
    "8000",
    "--json",
  ];

  it("keepBackups 5: seven rotations keep 0001 (the original pair) and the newest five; restoring 0001 is in the history and the log", async () => {
    const original = certValid(-1, 179, "original");
    const server = await start(original);
    for (let i = 0; i < 7; i++) {
      const { json } = await rdpcertJson<RotateJson>(["rotate", "--yes", "--force", "--keep-backups", "5", ...common(server)]);
      expect(json.outcome).toBe("rotated");
    }
    const backups = join(server.dir, "state", "backups");
    expect(
      readdirSync(backups)
        .filter((n) => /^\d+$/.test(n))
        .sort(),
    ).toEqual(["0001", "0003", "0004", "0005", "0006", "0007"]);
    const listed = await rdpcertJson<{ backups: { id: string; thumbprint: string | null }[] }>([
      "backups",
      "list",
      "--state-dir",
      join(server.dir, "state"),
      "--json",
    ]);
    expect(listed.json.backups.find((b) => b.id === "0001")?.thumbprint).toBe(prints(original.certPem).sha1);

    const current = prints(readFileSync(server.certPath, "utf8"));
    const restore = await rdpcertJson<{ outcome: string; safetyBackupId: string }>(["backups", "restore", "0001", "--yes", ...common(server)]);
    expect(restore.json.outcome).toBe("restored");
    expect(readFileSync(server.certPath, "utf8")).toBe(original.certPem);
    const history = readFileSync(join(server.dir, "state", "history.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(history.at(-1)).toMatchObject({
      kind: "restore",
      backupId: "0001",
      outcome: "restored",
      oldThumbprint: current.sha1,
      newThumbprint: prints(original.certPem).sha1,
      safetyBackupId: restore.json.safetyBackupId,
    });
    const line = logLines(join(server.dir, "logs")).at(-1)!;
    expect(line.level).toBe("info");
    expect(line.message).toContain(`backups restore 0001: restored`);
    expect(line.message).toContain(
      `presented before: SHA-1 ${current.sha1}, SHA-256 ${current.sha256} -> now: SHA-1 ${prints(original.certPem).sha1}, SHA-256 ${prints(original.certPem).sha256}`,
    );
  }, 180_000);

  it("backups list by an unprivileged user who cannot read the backups: one line, exit 3 (not 'no backups'); --json prints the error as JSON", async () => {
    const server = await start(certValid(-1, 179, "listed"));
    const { json } = await rdpcertJson<RotateJson>(["rotate", "--yes", "--force", ...common(server)]);
    expect(json.outcome).toBe("rotated");
    const state = join(server.dir, "state");
    const asNobody = { prefix: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] };
    const text = await rdpcert(["backups", "list", "--state-dir", state], asNobody);
    expect(text.code).toBe(3);
    expect(text.stdout).toBe("");
    expect(text.stderr).toBe(
      `rdpcert: cannot list ${join(state, "backups")}: permission denied (EACCES): run as root (sudo rdpcert ...), or pass a --state-dir / --log-dir this user may write\n`,
    );
    const asJson = await rdpcert(["backups", "list", "--state-dir", state, "--json"], asNobody);
    expect(asJson.code).toBe(3);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ schema: "rdpcert.error/v1", exitCode: 3, error: { code: "EACCES" } });
    const root = await rdpcertJson<{ backups: { id: string }[] }>(["backups", "list", "--state-dir", state, "--json"]);
    expect(root.json.backups.map((b) => b.id)).toEqual(["0001"]);
  });

  it("a hand-typed rotate and deploy write the --log-dir log with the old and new SHA-1 and SHA-256", async () => {
    const old = certValid(-170, 10, "old");
    const server = await start(old);
    const { json } = await rdpcertJson<RotateJson>(["rotate", "--yes", ...common(server)]);
    expect(json.outcome).toBe("rotated");
    const was = prints(old.certPem);
    const rotated = logLines(join(server.dir, "logs")).find((l) => l.message.startsWith("rotated the xrdp listener certificate"));
    expect(rotated?.message).toBe(
      `rotated the xrdp listener certificate: old SHA-1 ${was.sha1}, SHA-256 ${was.sha256} -> new SHA-1 ${json.newThumbprint}, SHA-256 ${json.newSha256}; backup 0001`,
    );

    const ca = makeTestCa(join(execFileSync("mktemp", ["-d", "/tmp/rdpcert-ca-XXXXXX"], { encoding: "utf8" }).trim(), "ca"));
    const leaf = ca.issue("rdp.example.test", { names: ["DNS:rdp.example.test", "IP:127.0.0.1"] });
    const deployed = await rdpcertJson<RotateJson>(["deploy", "--cert", leaf.fullchainPath, "--key", leaf.keyPath, "--yes", ...common(server)]);
    expect(deployed.json.outcome).toBe("deployed");
    const leafPrints = prints(readFileSync(leaf.certPath, "utf8"));
    const line = logLines(join(server.dir, "logs")).find((l) => l.message.startsWith("deployed "));
    expect(line?.message).toContain(`old SHA-1 ${json.newThumbprint}, SHA-256 ${json.newSha256} -> new SHA-1 ${leafPrints.sha1}, SHA-256 ${leafPrints.sha256}`);
  }, 120_000);
});
