import { join } from "node:path";
import type { CommandRunner } from "../command-runner";

/**
 * Runs one of the backend's .ps1 files with Windows PowerShell 5.1, the one
 * every supported Windows has. Parameters go in as JSON on stdin, never into
 * the command line or the script text; the script answers with one JSON
 * document on stdout. Everything is parsed here, in Node.
 */
export const POWERSHELL = "powershell.exe";

export function scriptPath(name: string): string {
  return join(__dirname, "scripts", name);
}

export function powershellArgs(script: string): string[] {
  return ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", scriptPath(script)];
}

export type ScriptResult = { readonly ok: true; readonly json: unknown } | { readonly ok: false; readonly reason: string };

/**
 * The first meaningful line of a PowerShell error record as PowerShell 5.1
 * writes it to stderr ("Get-CimInstance : Access denied", then "At C:\...",
 * "+ ...", "    + CategoryInfo ..."), or of plain text.
 */
export function errorRecordLine(stderr: string): string {
  const lines = stderr.replace(/^\uFEFF/, "").split(/\r?\n/).map((l) => l.trim());
  const first = lines.find((l) => l !== "" && !/^At [A-Za-z]:\\|^At line:|^\+ |^\+$|^~+$|^CategoryInfo|^FullyQualifiedErrorId/.test(l));
  return (first ?? "").replace(/\s+/g, " ");
}

export async function runScript(runner: CommandRunner, script: string, params: Record<string, unknown>, timeoutMs: number): Promise<ScriptResult> {
  const result = await runner(POWERSHELL, powershellArgs(script), { input: JSON.stringify(params), timeoutMs });
  if (result.spawnError) return { ok: false, reason: `cannot start ${POWERSHELL}: ${result.spawnError}` };
  if (result.timedOut) return { ok: false, reason: `${script} did not finish within ${timeoutMs} ms` };
  if (result.exitCode !== 0) {
    const line = errorRecordLine(result.stderr) || errorRecordLine(result.stdout);
    return { ok: false, reason: `${script} failed (exit ${result.exitCode})${line ? `: ${line}` : ""}` };
  }
  const text = result.stdout.replace(/^\uFEFF/, "").trim();
  if (text === "") return { ok: false, reason: `${script} printed nothing` };
  try {
    return { ok: true, json: JSON.parse(text) };
  } catch {
    return { ok: false, reason: `${script} printed something that is not JSON: ${text.slice(0, 80).replace(/\s+/g, " ")}` };
  }
}

/** ConvertTo-Json in 5.1 writes a one-element array as the element itself, and drops empty ones. */
export function asArray<T = unknown>(value: unknown): T[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? (value as T[]) : [value as T];
}

/** "\/Date(1700000000000)\/" (5.1; in parsed JSON "/Date(...)/"), with an optional zone suffix, or ISO 8601. */
export function parsePsDate(value: unknown): Date | null {
  if (typeof value !== "string") return null;
  const legacy = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/.exec(value);
  if (legacy) return new Date(Number(legacy[1]));
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : new Date(parsed);
}

/** Reads a property that may be missing or of the wrong type, without trusting the shape. */
export function field<T extends "string" | "number" | "boolean">(object: unknown, name: string, type: T): (T extends "string" ? string : T extends "number" ? number : boolean) | null {
  if (!object || typeof object !== "object") return null;
  const value = (object as Record<string, unknown>)[name];
  return typeof value === type ? (value as never) : null;
}
