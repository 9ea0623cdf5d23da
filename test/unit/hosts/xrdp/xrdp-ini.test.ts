import { iniValue, parseIni } from "../../../../src/hosts/xrdp/xrdp-ini";
import { parseListenSpec, parseListenSpecs } from "../../../../src/hosts/xrdp/listen-address";

describe("parseIni", () => {
  const text = "; comment\r\n[Globals]\r\nPort = 3390\r\n#port=1\r\nsecurity_layer=tls\r\ncertificate=\r\n\r\n[Xorg]\r\nport=-1\r\n[globals]\r\nport=3391\r\n";
  const ini = parseIni(text);

  it("matches section and option names case-insensitively, last occurrence wins, comments ignored", () => {
    expect(iniValue(ini, "Globals", "port")?.value).toBe("3391");
    expect(iniValue(ini, "GLOBALS", "SECURITY_LAYER")?.value).toBe("tls");
    expect(iniValue(ini, "Xorg", "port")?.value).toBe("-1");
    expect(iniValue(ini, "Globals", "key_file")).toBeUndefined();
  });

  it("keeps an empty value as empty", () => {
    expect(iniValue(ini, "Globals", "certificate")?.value).toBe("");
  });

  it("records line numbers and the value's byte offsets, so an edit can keep the rest byte for byte", () => {
    const entry = ini.entries.find((e) => e.name === "Port")!;
    expect(entry.line).toBe(3);
    expect(text.slice(entry.valueStart, entry.valueEnd)).toBe("3390");
    const edited = text.slice(0, entry.valueStart) + "4000" + text.slice(entry.valueEnd);
    expect(edited).toBe(text.replace("Port = 3390", "Port = 4000"));
  });
});

describe("parseListenSpec", () => {
  it.each([
    ["3389", { kind: "tcp", address: null, port: 3389 }],
    ["tcp://.:3390", { kind: "tcp", address: "127.0.0.1", port: 3390 }],
    ["tcp://:3391", { kind: "tcp", address: "0.0.0.0", port: 3391 }],
    ["tcp://192.168.1.1:3389", { kind: "tcp", address: "192.168.1.1", port: 3389 }],
    ["tcp6://.:3389", { kind: "tcp", address: "::1", port: 3389 }],
    ["tcp6://:3389", { kind: "tcp", address: "::", port: 3389 }],
    ["tcp6://{FC00:0:0:0:0:0:0:1}:3389", { kind: "tcp", address: "FC00:0:0:0:0:0:0:1", port: 3389 }],
  ])("reads %s", (text, expected) => {
    expect(parseListenSpec(text)).toMatchObject(expected);
  });

  it("names vsock:// and unix:// as unsupported transports", () => {
    expect(parseListenSpec("vsock://-1:3389")).toMatchObject({ kind: "unsupported", transport: "vsock" });
    expect(parseListenSpec("unix://./tmp/xrdp.socket")).toMatchObject({ kind: "unsupported", transport: "unix" });
  });

  it("rejects ports out of range or not numbers with a reason", () => {
    expect(parseListenSpec("ask3389")).toMatchObject({ kind: "invalid" });
    expect(parseListenSpec("70000")).toMatchObject({ kind: "invalid", reason: expect.stringContaining("1 to 65535") });
    expect(parseListenSpec("tcp://nohostport")).toMatchObject({ kind: "invalid" });
  });

  it("splits several listeners on spaces", () => {
    expect(parseListenSpecs("vsock://-1:3389  tcp://.:3390").map((s) => s.kind)).toEqual(["unsupported", "tcp"]);
  });
});
