import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pwshPath } from "../../../helpers/pwsh";

/**
 * Every .ps1 that ships is parsed with PowerShell's own parser (pwsh 7, the
 * same language front end as Windows PowerShell 5.1): a syntax error cannot
 * reach a Windows host.
 */
const CHECKER = join(__dirname, "..", "..", "..", "helpers", "ps-parse.ps1");
const PS51_CHECKER = join(__dirname, "..", "..", "..", "helpers", "ps51-check.ps1");
const SRC = join(__dirname, "..", "..", "..", "..", "src");

function shippedScripts(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return shippedScripts(path);
    return entry.name.endsWith(".ps1") ? [path] : [];
  });
}

function parse(files: string[]): Record<string, { hasError: boolean; problems: { line: number; column: number; id: string; message: string }[] }> {
  return JSON.parse(execFileSync(pwshPath(), ["-NoProfile", "-NonInteractive", "-File", CHECKER, ...files], { encoding: "utf8" }));
}

type Check51 = Record<string, { ok: boolean; problems: { line: number; column: number; rule: string; text: string }[] }>;

function check51(files: string[]): Check51 {
  return JSON.parse(execFileSync(pwshPath(), ["-NoProfile", "-NonInteractive", "-File", PS51_CHECKER, ...files], { encoding: "utf8" }));
}

describe("PowerShell scripts", () => {
  const scripts = shippedScripts(SRC);

  it("are all found (prelude, inspect, backup, remove, restart, restore, handoff, client, deploy, events, candidates, remove-old)", () => {
    expect(scripts.map((s) => s.split(/[\\/]/).pop()).sort()).toEqual([
      "backup.ps1",
      "bootstrap.ps1",
      "candidates.ps1",
      "client-pin.ps1",
      "client.ps1",
      "deploy.ps1",
      "events.ps1",
      "handoff.ps1",
      "inspect.ps1",
      "prelude.ps1",
      "remove-old.ps1",
      "remove.ps1",
      "restart.ps1",
      "restore.ps1",
    ]);
  });

  it("parse without a syntax error", () => {
    const report = parse(scripts);
    const problems = Object.entries(report).flatMap(([file, r]) => r.problems.map((p) => `${file}:${p.line}:${p.column} ${p.id}: ${p.message}`));
    expect(problems).toEqual([]);
    for (const file of scripts) expect(report[file]?.hasError).toBe(false);
  });

  it("the check is real: a broken script is reported with its line", () => {
    const dir = mkdtempSync(join(tmpdir(), "rdpcert-ps1-"));
    try {
      const broken = join(dir, "broken.ps1");
      writeFileSync(broken, "$a = 1\nif ($a -eq 1) {\n  Write-Output 'unclosed'\n");
      const unbalanced = join(dir, "unbalanced.ps1");
      writeFileSync(unbalanced, "$x = @{ a = 1 \n$y = (2 + )\n");
      const report = parse([broken, unbalanced]);
      expect(report[broken]!.hasError).toBe(true);
      expect(report[unbalanced]!.hasError).toBe(true);
      expect(report[unbalanced]!.problems.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("use nothing Windows PowerShell 5.1 lacks (checked on the AST of PowerShell's own parser)", () => {
    const report = check51(scripts);
    const problems = Object.entries(report).flatMap(([file, r]) => r.problems.map((p) => `${file}:${p.line}:${p.column} ${p.rule}: ${p.text}`));
    expect(problems).toEqual([]);
  });

  it("each script as bootstrap.ps1 runs it (prelude.ps1's text, then the script's) parses and passes the 5.1 check", () => {
    const dir = mkdtempSync(join(tmpdir(), "rdpcert-as-sent-"));
    try {
      const prelude = scripts.find((s) => s.endsWith("prelude.ps1"))!;
      const sent = scripts
        .filter((s) => !/[\\/](prelude|bootstrap)\.ps1$/.test(s))
        .map((s) => {
          const file = join(dir, s.split(/[\\/]/).pop()!);
          writeFileSync(file, `${readFileSync(prelude, "utf8")}\n${readFileSync(s, "utf8")}`);
          return file;
        });
      expect(sent.length).toBe(scripts.length - 2);
      const parsed = parse(sent);
      for (const file of sent) expect(parsed[file]?.problems ?? ["missing"]).toEqual([]);
      const report = check51(sent);
      const problems = Object.entries(report).flatMap(([file, r]) => r.problems.map((p) => `${file}:${p.line}:${p.column} ${p.rule}: ${p.text}`));
      expect(problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the 5.1 check is real: PowerShell 7-only syntax, parameters, cmdlets and variables are each reported with their line", () => {
    const dir = mkdtempSync(join(tmpdir(), "rdpcert-ps51-"));
    try {
      const bad = join(dir, "seven-only.ps1");
      writeFileSync(
        bad,
        [
          "$a = Get-Thing && Write-Output ok",
          "$b = $x ? 1 : 2",
          "$c = $null ?? 'd'",
          "$c ??= 'e'",
          "$d = ${obj}?.Name",
          "$e = [System.Text.StringBuilder]::new()",
          "$f = '{}' | ConvertFrom-Json -AsHashtable",
          "$g = '{}' | ConvertFrom-Json -Depth 5",
          "1..3 | ForEach-Object -Parallel { $_ }",
          "if ($IsWindows) { Set-Content -Path x -Value y -Encoding utf8NoBOM }",
          "Test-Json -Json '{}'",
          "$h = '{}' | ConvertFrom-Json -AsHash",
          "$ok = New-Object System.Text.StringBuilder; $ok2 = '{}' | ConvertFrom-Json",
          "function f { $script:result = 1 }",
        ].join("\n"),
      );
      const found = check51([bad])[bad]!;
      expect(found.ok).toBe(false);
      expect(found.problems.map((p) => [p.line, p.rule.split(" (")[0]])).toEqual([
        [1, "pipeline chain && or ||"],
        [2, "ternary ?:"],
        [3, "?? or ??="],
        [4, "??="],
        [5, "?. or ?[]"],
        [6, "::new()"],
        [7, "ConvertFrom-Json -AsHashtable"],
        [8, "ConvertFrom-Json -Depth"],
        [9, "ForEach-Object -Parallel"],
        [10, "$IsWindows/$IsLinux/$IsMacOS/$IsCoreCLR/$PSStyle"],
        [10, "-Encoding utf8NoBOM"],
        [11, "Test-Json"],
        [12, "ConvertFrom-Json -AsHashtable"],
        [14, "$script: scope"],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
