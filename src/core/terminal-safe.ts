/**
 * Text from certificates and users reaches terminals and logs: C0 controls
 * (ESC), DEL, C1 controls (U+009B is a one-byte CSI) and bidirectional
 * overrides (U+202E turns "txt.exe" into "exe.txt") could rewrite what an
 * admin sees. Text output shows them escaped, as \xHH or
 * \uHHHH; JSON keeps every character, written as a \uHHHH escape.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_IN_TEXT = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

const hex = (char: string, width: number): string => char.charCodeAt(0).toString(16).padStart(width, "0");
const escapeChar = (char: string): string => (char.charCodeAt(0) < 0x100 ? `\\x${hex(char, 2)}` : `\\u${hex(char, 4)}`);

/** Terminal text: every control and bidi character escaped except the line breaks rdpcert writes itself. */
export function terminalText(text: string): string {
  return text.replace(UNSAFE_IN_TEXT, escapeChar);
}

/** One field inside a line (a subject, a --reason): line breaks escaped too, so a field never forges a line. */
export function terminalField(text: string): string {
  return terminalText(text).replace(/\n/g, "\\x0a");
}

/** JSON.stringify, with C1 controls and bidi/invisible formatting characters as \u escapes (JSON.stringify already escapes C0). */
export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(UNSAFE_IN_JSON, (char) => `\\u${hex(char, 4)}`);
}
