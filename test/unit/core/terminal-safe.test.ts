import fc from "fast-check";
import { jsonText, terminalField, terminalText } from "../../../src/core/terminal-safe";

/** Nothing that steers a terminal or reorders text is written raw. */
describe("terminal-safe text", () => {
  it("escapes C0 (but the line feed), DEL, C1 and bidi/invisible formatting characters", () => {
    expect(terminalText("a\u001b[2Jb\u009b31m\u202egpj.exe\u2066\u200b\tc\n")).toBe("a\\x1b[2Jb\\x9b31m\\u202egpj.exe\\u2066\\u200b\\x09c\n");
    expect(terminalField("reason\nFAKE")).toBe("reason\\x0aFAKE");
    expect(terminalText("CN=rdp01.example.com, O=Ünïcødé")).toBe("CN=rdp01.example.com, O=Ünïcødé");
  });

  it("JSON keeps every character (parses back equal) and never writes C1 or bidi characters raw", () => {
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    const unsafe = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = jsonText(value, 2);
        return !unsafe.test(text.replace(/\n/g, "")) && JSON.stringify(JSON.parse(text)) === JSON.stringify(value);
      }),
    );
    expect(jsonText({ subject: "CN=\u009b\u202e" })).toBe('{"subject":"CN=\\u009b\\u202e"}');
  });
});
