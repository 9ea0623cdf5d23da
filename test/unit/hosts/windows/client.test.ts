import { join } from "node:path";
import type { CommandOptions, CommandRunner } from "../../../../src/hosts/command-runner";
import { clientExitCode, inspectClient, mstscPin } from "../../../../src/hosts/windows/client";
import { JSON_MARKER, encodedBootstrap } from "../../../../src/hosts/windows/powershell";
import { rdpcert } from "../../../helpers/cli";

const SCRIPT = join(__dirname, "..", "..", "..", "..", "src", "hosts", "windows", "scripts", "client.ps1");

function runner(stdout: string): { run: CommandRunner; calls: { file: string; args: readonly string[]; input: unknown }[] } {
  const calls: { file: string; args: readonly string[]; input: unknown }[] = [];
  const run: CommandRunner = async (file: string, args: readonly string[], options: CommandOptions) => {
    calls.push({ file, args, input: JSON.parse(options.input ?? "null") });
    return { exitCode: 0, stdout: `${JSON_MARKER}\n${stdout}`, stderr: "", timedOut: false, spawnError: null };
  };
  return { run, calls };
}

describe("doctor --client (Windows RDP client state)", () => {
  const found =
    '{"defaultRdp":{"path":"C:\\\\Users\\\\ana\\\\Documents\\\\Default.rdp","bytes":2278,"modified":"\\/Date(1700000000000)\\/"},"cache":{"path":"C:\\\\Users\\\\ana\\\\AppData\\\\Local\\\\Microsoft\\\\Terminal Server Client\\\\Cache","files":4,"bytes":52428800},"server":{"key":"HKCU:\\\\Software\\\\Microsoft\\\\Terminal Server Client\\\\Servers\\\\rdp01.example.com","certHash":"0A1B2C3D4E5F60718293A4B5C6D7E8F901234567","usernameHint":"CORP\\\\ana"},"actions":[]}\r\n';

  it("runs client.ps1 with the host and the backup dir as data on stdin, and reports each item", async () => {
    const { run, calls } = runner(found);
    const result = await inspectClient(run, { host: "rdp01.example.com", fix: false, backupDir: "C:\\b" });
    expect(calls).toEqual([
      {
        file: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        args: ["-NoProfile", "-NonInteractive", "-NoLogo", "-ExecutionPolicy", "Bypass", "-EncodedCommand", encodedBootstrap()],
        input: { script: SCRIPT, input: { host: "rdp01.example.com", fix: false, backupDir: "C:\\b" } },
      },
    ]);
    if (!result.ok) throw new Error(result.reason);
    expect(result.state.items.map((i) => i.kind)).toEqual(["default-rdp", "bitmap-cache", "stored-certificate"]);
    expect(result.state.items[0]!.detail).toBe("2278 bytes, changed 2023-11-14T22:13:20.000Z: saved connection settings that mstsc reuses");
    expect(result.state.items[2]!.detail).toContain("0A1B2C3D4E5F60718293A4B5C6D7E8F901234567");
  });

  it("with --fix reports what was removed and where the backup is (one action arrives as a lone object)", async () => {
    const { run } = runner(
      '{"defaultRdp":{"path":"C:\\\\D\\\\Default.rdp","bytes":10,"modified":"\\/Date(1700000000000)\\/"},"cache":null,"server":null,"actions":{"item":"C:\\\\D\\\\Default.rdp","backup":"C:\\\\b\\\\Default.rdp"}}',
    );
    const result = await inspectClient(run, { host: null, fix: true, backupDir: "C:\\b" });
    expect(result).toEqual({
      ok: true,
      state: {
        items: [expect.objectContaining({ kind: "default-rdp" })],
        actions: [{ item: "C:\\D\\Default.rdp", backup: "C:\\b\\Default.rdp" }],
        fixError: null,
      },
    });
  });

  it("found items are how a used client looks (exit 0); a --fix stopped by a locked file keeps what it removed and exits 2", async () => {
    const found = await inspectClient(
      runner('{"defaultRdp":{"path":"C:\\\\D\\\\Default.rdp","bytes":10},"cache":{"path":"C:\\\\C","files":3,"bytes":9},"server":null,"actions":[]}').run,
      { host: null, fix: false, backupDir: "C:\\b" },
    );
    if (!found.ok) throw new Error(found.reason);
    expect(found.state.items).toHaveLength(2);
    expect(clientExitCode(found.state)).toBe(0);
    const stopped = await inspectClient(
      runner(
        '{"defaultRdp":null,"cache":null,"server":null,"actions":[{"item":"C:\\\\D\\\\Default.rdp","backup":"C:\\\\b\\\\Default.rdp"}],"fixError":"The process cannot access the file because it is being used by another process."}',
      ).run,
      { host: null, fix: true, backupDir: "C:\\b" },
    );
    if (!stopped.ok) throw new Error(stopped.reason);
    expect(stopped.state.actions).toEqual([{ item: "C:\\D\\Default.rdp", backup: "C:\\b\\Default.rdp" }]);
    expect(stopped.state.fixError).toMatch(/being used by another process/);
    expect(clientExitCode(stopped.state)).toBe(2);
  });

  it("on Linux --client --fix says it cleans a Windows client (exit 3: --client alone compares FreeRDP's pins, issue 25); --fix without --client is a usage error", async () => {
    const run = await rdpcert(["doctor", "--client", "rdp01", "--fix"]);
    expect([run.code, run.stderr.trim()]).toEqual([3, "rdpcert: doctor --client --fix cleans the Windows Remote Desktop client (mstsc); this host runs linux"]);
    const fix = await rdpcert(["doctor", "--fix"]);
    expect([fix.code, fix.stderr.trim()]).toEqual([3, "rdpcert: --fix goes with --client (it cleans the Windows client's cached state)"]);
  });
});

describe("mstscPin (client trust on Windows, issue 25)", () => {
  const PIN_SCRIPT = join(__dirname, "..", "..", "..", "..", "src", "hosts", "windows", "scripts", "client-pin.ps1");

  it("sends the server and the hash as JSON data on stdin (never in the command line) and reads the answer", async () => {
    const { run, calls } = runner(
      '{"key":"HKCU:\\\\Software\\\\Microsoft\\\\Terminal Server Client\\\\Servers\\\\rdp01;x","before":"0102030405060708090A0B0C0D0E0F1011121314","after":"AC60A3FEFA6BDD565A8EE7984B6CC1FE628539D7"}',
    );
    const result = await mstscPin(run, { server: "rdp01;x", certHash: "ac60a3fefa6bdd565a8ee7984b6cc1fe628539d7" });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args).toEqual(["-NoProfile", "-NonInteractive", "-NoLogo", "-ExecutionPolicy", "Bypass", "-EncodedCommand", encodedBootstrap()]);
    expect(calls[0]!.input).toEqual({ script: PIN_SCRIPT, input: { server: "rdp01;x", certHash: "ac60a3fefa6bdd565a8ee7984b6cc1fe628539d7", write: true } });
    expect(result).toEqual({
      ok: true,
      key: "HKCU:\\Software\\Microsoft\\Terminal Server Client\\Servers\\rdp01;x",
      before: "0102030405060708090A0B0C0D0E0F1011121314",
      after: "AC60A3FEFA6BDD565A8EE7984B6CC1FE628539D7",
    });
  });

  it("reads only when no hash is given; a value that is not a SHA-1 reads as none", async () => {
    const { run, calls } = runner('{"key":"k","before":"zz","after":null}');
    const result = await mstscPin(run, { server: "rdp01", certHash: null });
    expect((calls[0]!.input as { input: { write: boolean } }).input.write).toBe(false);
    expect(result).toEqual({ ok: true, key: "k", before: null, after: null });
  });
});
