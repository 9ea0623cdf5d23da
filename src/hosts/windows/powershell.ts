import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { CommandRunner } from "../command-runner";
import { SOURCE_ROOT } from "../install-root";
import { WINDOWS_POWERSHELL } from "./system-paths";

/**
 * Runs one of the backend's .ps1 files with Windows PowerShell 5.1, the one
 * every supported Windows has. Parameters go in as JSON on stdin, never into
 * the command line or the script text; the script answers with one JSON
 * document after a marker line on stdout. Everything is parsed here, in Node.
 *
 * How (scripts/bootstrap.ps1): powershell.exe by absolute path (Windows
 * searches the current directory before PATH; `Sysnative` from a 32-bit Node
 * on 64-bit Windows), with the bootstrap as `-EncodedCommand` (a Group Policy
 * execution policy beats `-ExecutionPolicy Bypass` for `-File`, not for an
 * encoded command). stdin carries `{ script, input }`; the bootstrap sets
 * UTF-8 both ways, silences the warning, verbose, information and progress
 * streams, runs the script, and prints the marker and the script's JSON.
 */
export const POWERSHELL = "powershell.exe";

/** The line before the script's JSON document (bootstrap.ps1). Anything before it is host noise. */
export const JSON_MARKER = "--- rdpcert-json ---";

/** Absolute: ts-jest runs it from src/, the package (bundled or not) from dist/src/ (scripts copied there). */
export function scriptPath(name: string): string {
  return join(SOURCE_ROOT, "hosts", "windows", "scripts", name);
}

/** bootstrap.ps1 as -EncodedCommand wants it: base64 of UTF-16LE. */
export function encodedBootstrap(): string {
  return Buffer.from(readFileSync(scriptPath("bootstrap.ps1"), "utf8").replace(/^\uFEFF/, ""), "utf16le").toString("base64");
}

/** Which PowerShell runs the scripts, and how: injectable, so tests run the real scripts under pwsh against a model of Windows. */
export interface PowerShellLauncher {
  readonly file: string;
  readonly args: readonly string[];
}

/**
 * Windows PowerShell 5.1 by absolute path. A 32-bit process on 64-bit Windows
 * (PROCESSOR_ARCHITEW6432 set) is redirected from System32 to SysWOW64:
 * Sysnative reaches the 64-bit one, whose providers (WMI, Cert:) are complete.
 */
export function windowsPowerShell(env: NodeJS.ProcessEnv = process.env): PowerShellLauncher {
  return {
    file: WINDOWS_POWERSHELL(env),
    args: ["-NoProfile", "-NonInteractive", "-NoLogo", "-ExecutionPolicy", "Bypass", "-EncodedCommand", encodedBootstrap()],
  };
}

/** What runScript needs: the process boundary and, optionally, another PowerShell than Windows'. */
export interface PowerShell {
  readonly runner: CommandRunner;
  readonly launcher?: PowerShellLauncher;
}

/** Why a script gave no answer: callers pick the fix from the kind, people read the reason. */
export type ScriptFailure =
  /** powershell.exe could not be started (not Windows, not on PATH). */
  | "spawn"
  | "timeout"
  /** Non-zero exit: a terminating error, its record on stderr. */
  | "exit"
  | "empty"
  | "not-json";

export type ScriptResult =
  | { readonly ok: true; readonly json: unknown }
  | {
      readonly ok: false;
      readonly failure: ScriptFailure;
      /** One line, for people and the log. */
      readonly reason: string;
      /** The error record's category ("PermissionDenied", ...) when stderr carried one: locale-independent, unlike the message. */
      readonly category: string | null;
    };

const MAX_LINE = 200;

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE - 3)}...` : line;
}

/**
 * PowerShell started without a console may write its error stream as CLIXML
 * ("#< CLIXML" then <S S="Error">line_x000D__x000A_</S> ...): back to text.
 */
function fromClixml(stderr: string): string {
  if (!stderr.trimStart().startsWith("#< CLIXML")) return stderr;
  const parts = [...stderr.matchAll(/<S S="Error">([\s\S]*?)<\/S>/g)].map((m) => m[1] ?? "");
  return parts
    .join("")
    .replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}

/** Lines of a 5.1 error record that locate it rather than say what went wrong. */
const RECORD_NOISE = /^(At [A-Za-z]:\\|At \\\\|At line:\d|\+ |\+$|~+$|CategoryInfo\s*:|FullyQualifiedErrorId\s*:)/;

/**
 * The first meaningful line of a PowerShell error record as 5.1 writes it to
 * stderr ("Get-CimInstance : Access denied", then "At C:\...", "+ ...",
 * "    + CategoryInfo ..."), or of plain text; "" when there is none.
 */
export function errorRecordLine(stderr: string): string {
  const lines = fromClixml(stderr.replace(/^\uFEFF/, ""))
    .split(/\r?\n/)
    .map((l) => l.trim());
  return oneLine(lines.find((l) => l !== "" && !RECORD_NOISE.test(l)) ?? "");
}

/** "+ CategoryInfo          : PermissionDenied: (...)" -> "PermissionDenied". */
export function errorRecordCategory(stderr: string): string | null {
  return /CategoryInfo\s*:\s*([A-Za-z]+)/.exec(fromClixml(stderr))?.[1] ?? null;
}

/**
 * The script's one JSON document: what follows the last marker line. Host
 * lines before it (a "WARNING: ..." that a cmdlet printed despite the
 * silenced streams, a profile's banner) are never parsed.
 */
function parseAnswer(stdout: string): { ok: true; json: unknown } | { ok: false; text: string; marker: boolean } {
  const text = stdout.replace(/^\uFEFF/, "");
  const at = text.lastIndexOf(JSON_MARKER);
  if (at < 0) return { ok: false, text: text.trim(), marker: false };
  const after = text
    .slice(at + JSON_MARKER.length)
    .replace(/^\s*\uFEFF/, "")
    .trim();
  try {
    return { ok: true, json: JSON.parse(after) };
  } catch {
    return { ok: false, text: after, marker: true };
  }
}

export async function runScript(shell: PowerShell | CommandRunner, script: string, params: Record<string, unknown>, timeoutMs: number): Promise<ScriptResult> {
  const { runner, launcher = windowsPowerShell() } = typeof shell === "function" ? { runner: shell } : shell;
  const input = JSON.stringify({ script: scriptPath(script), input: params });
  const result = await runner(launcher.file, launcher.args, { input, timeoutMs });
  const fail = (failure: ScriptFailure, reason: string): ScriptResult => ({
    ok: false,
    failure,
    reason: oneLine(reason),
    category: errorRecordCategory(result.stderr),
  });
  if (result.spawnError) {
    const why = result.spawnError.startsWith(`${launcher.file}: `) ? result.spawnError.slice(launcher.file.length + 2) : result.spawnError;
    return fail("spawn", `cannot start ${launcher.file} (${why})`);
  }
  if (result.timedOut) return fail("timeout", `${script} did not finish within ${timeoutMs} ms`);
  const stderrLine = errorRecordLine(result.stderr);
  if (result.exitCode !== 0) {
    const line = stderrLine || errorRecordLine(result.stdout);
    const exit = result.exitCode === null ? "no exit code" : `exit ${result.exitCode}`;
    return fail("exit", `${script} failed (${exit})${line ? `: ${line}` : ""}`);
  }
  const answer = parseAnswer(result.stdout);
  if (answer.ok) return { ok: true, json: answer.json };
  if (answer.text === "") return fail("empty", `${script} printed nothing${stderrLine ? ` (stderr: ${stderrLine})` : ""}`);
  if (!answer.marker) return fail("not-json", `${script} printed no "${JSON_MARKER}" line: ${oneLine(answer.text).slice(0, 80)}`);
  return fail("not-json", `${script} printed something that is not JSON: ${oneLine(answer.text).slice(0, 80)}`);
}

/** ConvertTo-Json in 5.1 may write a one-element array as the element itself, and a $null one as null or not at all. */
export function asArray<T = unknown>(value: unknown): T[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? (value as T[]) : [value as T];
}

/** The milliseconds are UTC; a zone suffix ("+0100") only says where the value came from. */
const MS_DATE = /^\\?\/Date\((-?\d+)(?:[+-]\d{4})?\)\\?\/$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A date as PowerShell serialises it: 5.1's "\/Date(1700000000000)\/" (after
 * JSON.parse: "/Date(...)/"), with an optional zone suffix; 5.1's object form
 * for a date that carries ETS properties ({"value": "\/Date(...)\/",
 * "DisplayHint": 2, "DateTime": "..."}); or ISO 8601 (PowerShell 7).
 * null for anything else.
 */
export function parsePsDate(value: unknown): Date | null {
  if (value && typeof value === "object" && !Array.isArray(value)) return parsePsDate((value as Record<string, unknown>).value);
  if (typeof value !== "string") return null;
  const text = value.trim();
  const legacy = MS_DATE.exec(text);
  const date = legacy ? new Date(Number(legacy[1])) : ISO_DATE.test(text) ? new Date(text) : null;
  return date && !Number.isNaN(date.getTime()) ? date : null;
}

/** Reads a property that may be missing or of the wrong type, without trusting the shape. */
export function field<T extends "string" | "number" | "boolean">(
  object: unknown,
  name: string,
  type: T,
): (T extends "string" ? string : T extends "number" ? number : boolean) | null {
  if (!object || typeof object !== "object") return null;
  const value = (object as Record<string, unknown>)[name];
  return typeof value === type ? (value as never) : null;
}
