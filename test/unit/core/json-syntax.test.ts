import fc from "fast-check";
import { findJsonSyntaxError } from "../../../src/core/json-syntax";

/** Where JSON breaks and what was expected, never the text. */
describe("findJsonSyntaxError", () => {
  it("names line, column and what was expected", () => {
    expect(findJsonSyntaxError("root:$y$j9T$abc:19000:0:99999:7:::\n")).toEqual({
      line: 1,
      column: 1,
      expected: "a value (an object, array, string, number, true, false or null)",
    });
    expect(findJsonSyntaxError('{\n  "warnDays": 21,\n  "logDir" "/var/log"\n}')).toEqual({ line: 3, column: 12, expected: '":" after the property name' });
    expect(findJsonSyntaxError('{"a": 1,}')).toEqual({ line: 1, column: 9, expected: "a property name in double quotes" });
    expect(findJsonSyntaxError('{"a": [1, 2}')).toEqual({ line: 1, column: 12, expected: '"," or "]"' });
    expect(findJsonSyntaxError("")).toEqual({ line: 1, column: 1, expected: "a value (the text ends early)" });
    expect(findJsonSyntaxError("{} x")).toEqual({ line: 1, column: 4, expected: "the end of the text after the JSON value" });
  });

  it("agrees with JSON.parse on what is JSON (any text, and any JSON value)", () => {
    const parses = (text: string): boolean => {
      try {
        JSON.parse(text);
        return true;
      } catch {
        return false;
      }
    };
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => (findJsonSyntaxError(text) === null) === parses(text)),
      { numRuns: 2000 },
    );
    fc.assert(fc.property(fc.json(), (text) => findJsonSyntaxError(text) === null));
    fc.assert(
      fc.property(
        fc.json(),
        fc.nat(),
        (text, cut) => (findJsonSyntaxError(text.slice(0, cut % (text.length + 1))) === null) === parses(text.slice(0, cut % (text.length + 1))),
      ),
    );
  });
});
