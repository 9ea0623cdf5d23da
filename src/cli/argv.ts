import { UsageError } from "./exit-codes";

/**
 * Splits a command given as one flag value (`--restart-command "systemctl restart xrdp"`)
 * into argv: whitespace separates words, single and double quotes group them.
 * Nothing is expanded and no shell ever sees it.
 */
export function splitCommand(text: string, flag: string): string[] {
  const words: string[] = [];
  let current = "";
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = "";
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote) throw new UsageError(`${flag} has an unclosed ${quote} quote: ${text}`);
  if (inWord) words.push(current);
  if (words.length === 0) throw new UsageError(`${flag} is empty: give a command${flag === "--restart-command" ? ", or use --no-restart" : ""}`);
  return words;
}
