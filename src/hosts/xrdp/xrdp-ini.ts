/**
 * xrdp.ini as xrdp reads it (common/file.c): `[Section]` headers and
 * `name=value` lines; lines starting with `#` or `;` are comments; section and
 * option names are case-insensitive; the last occurrence of a name wins.
 * Every line is kept with its byte offsets so that a later edit can change one
 * value and preserve the rest of the file byte for byte.
 */
export interface IniEntry {
  readonly section: string;
  /** As written. */
  readonly name: string;
  readonly value: string;
  /** 1-based line number, for messages. */
  readonly line: number;
  /** Offsets of the value within the file text (for in-place edits). */
  readonly valueStart: number;
  readonly valueEnd: number;
}

export interface Ini {
  readonly text: string;
  readonly entries: readonly IniEntry[];
  readonly sections: readonly string[];
}

export function parseIni(text: string): Ini {
  const entries: IniEntry[] = [];
  const sections: string[] = [];
  let section = "";
  let offset = 0;
  const lines = text.split("\n");
  lines.forEach((raw, index) => {
    const lineStart = offset;
    offset += raw.length + 1;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) return;
    const header = /^\[([^\]]*)\]/.exec(trimmed);
    if (header) {
      section = header[1]!.trim();
      sections.push(section);
      return;
    }
    const eq = line.indexOf("=");
    if (eq < 0) return;
    const name = line.slice(0, eq).trim();
    const rawValue = line.slice(eq + 1);
    const leading = rawValue.length - rawValue.trimStart().length;
    const value = rawValue.trim();
    const valueStart = lineStart + eq + 1 + leading;
    entries.push({ section, name, value, line: index + 1, valueStart, valueEnd: valueStart + value.length });
  });
  return { text, entries, sections };
}

/** The effective value of `name` in `section` (both case-insensitive); undefined when absent. */
export function iniValue(ini: Ini, section: string, name: string): IniEntry | undefined {
  const s = section.toLowerCase();
  const n = name.toLowerCase();
  let found: IniEntry | undefined;
  for (const entry of ini.entries) if (entry.section.toLowerCase() === s && entry.name.toLowerCase() === n) found = entry;
  return found;
}
