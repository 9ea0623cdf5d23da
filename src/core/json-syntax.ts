/**
 * Where a JSON text stops being JSON, and what was expected there, without
 * quoting it: JSON.parse's own message quotes the input (e.g. `run
 * --config /etc/shadow` printed the start of a password hash).
 */
export interface JsonSyntaxError {
  readonly line: number;
  readonly column: number;
  readonly expected: string;
}

export function findJsonSyntaxError(text: string): JsonSyntaxError | null {
  let i = 0;
  const fail = (expected: string): never => {
    throw new Located(i, expected);
  };
  const ws = (): void => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const literal = (word: string): void => {
    for (const ch of word) {
      if (text[i] !== ch) fail(`"${word}"`);
      i++;
    }
  };
  const string = (): void => {
    i++;
    for (;;) {
      if (i >= text.length) fail('a closing "');
      const ch = text.charCodeAt(i);
      if (ch === 0x22) {
        i++;
        return;
      }
      if (ch < 0x20) fail("no control character inside a string (escape it)");
      if (ch === 0x5c) {
        i++;
        const e = text[i];
        if (e === "u") {
          for (let k = 1; k <= 4; k++) {
            if (!/[0-9A-Fa-f]/.test(text[i + k] ?? "")) {
              i += k;
              fail("four hex digits after \\u");
            }
          }
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail('an escape (\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX)');
      } else i++;
    }
  };
  const number = (): void => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!match || match[0] === "" || match[0] === "-") fail("a number");
    i += match![0].length;
  };
  const value = (depth: number): void => {
    if (depth > 512) fail("less nesting");
    ws();
    const ch = text[i];
    if (ch === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail("a property name in double quotes");
        string();
        ws();
        if (text[i] !== ":") fail('":" after the property name');
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") return void i++;
        fail('"," or "}"');
      }
    }
    if (ch === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") return void i++;
        fail('"," or "]"');
      }
    }
    if (ch === '"') return string();
    if (ch === "t") return literal("true");
    if (ch === "f") return literal("false");
    if (ch === "n") return literal("null");
    if (ch === "-" || (ch !== undefined && ch >= "0" && ch <= "9")) return number();
    fail(i >= text.length ? "a value (the text ends early)" : "a value (an object, array, string, number, true, false or null)");
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail("the end of the text after the JSON value");
    return null;
  } catch (error) {
    if (!(error instanceof Located)) throw error;
    const before = text.slice(0, error.index);
    const lines = before.split("\n");
    return { line: lines.length, column: lines[lines.length - 1]!.length + 1, expected: error.expected };
  }
}

class Located extends Error {
  constructor(
    readonly index: number,
    readonly expected: string,
  ) {
    super(expected);
  }
}
