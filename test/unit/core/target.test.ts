import { TargetError, parseTarget, parseTargetList } from "../../../src/core/target";

describe("parseTarget", () => {
  it.each([
    ["rdp01", "rdp01", 3389],
    ["rdp01.example.com:3390", "rdp01.example.com", 3390],
    ["10.0.0.5", "10.0.0.5", 3389],
    ["[2001:db8::7]:3391", "2001:db8::7", 3391],
    ["[::1]", "::1", 3389],
    ["::1", "::1", 3389],
  ])("%s -> %s port %i", (input, host, port) => {
    expect(parseTarget(input)).toEqual({ input, host, port });
  });

  it("uses the given default port", () => {
    expect(parseTarget("host", 4000).port).toBe(4000);
  });

  it.each(["", "host:0", "host:65536", "host:abc", "[::1]:x", "bad host", "host;rm -rf /:3389", "[::1"])("rejects %j with a one-line reason", (input) => {
    expect(() => parseTarget(input)).toThrow(TargetError);
    try {
      parseTarget(input);
    } catch (error) {
      expect((error as Error).message).not.toMatch(/\n/);
    }
  });
});

describe("parseTargetList", () => {
  it("skips comments and blank lines and keeps order", () => {
    const text = "# fleet\nrdp01\n\n  rdp02:3390  # second\r\n[::1]:3391\n";
    expect(parseTargetList(text).map((t) => `${t.host}/${t.port}`)).toEqual(["rdp01/3389", "rdp02/3390", "::1/3391"]);
  });

  it("names the file line of a bad entry and what was expected, never its content (issue 12 item 10)", () => {
    expect(() => parseTargetList("rdp01\nhost:99999\n", 3389, "list.txt")).toThrow(
      new TargetError("list.txt line 2: the port is not a number from 1 to 65535", ""),
    );
    expect(() => parseTargetList("root:$y$j9T$secret:19000:0:99999:7:::\n", 3389, "list.txt")).toThrow(
      new TargetError("list.txt line 1: not a valid target: use host, host:port or [IPv6]:port", ""),
    );
  });
});
