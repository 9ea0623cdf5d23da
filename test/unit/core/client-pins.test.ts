import { readFileSync } from "node:fs";
import { join } from "node:path";
import { comparePin, freerdp3Pin, knownHosts2Pin, mstscPin, updateKnownHosts2 } from "../../../src/core/client-pins";

const SHA = "4d:b9:92:fc:c6:68:05:cd:09:3b:19:f8:d0:84:3a:48:46:3c:ec:8f:97:fe:da:e0:bc:80:f2:a7:f7:4f:8f:21";
const HEX = SHA.replace(/:/g, "");
const OTHER = "00:".repeat(31) + "01";

describe("known_hosts2 as FreeRDP 2.11.7 reads it (certificate.c certificate_data_match_raw)", () => {
  const file = [
    "# my pins",
    "",
    `other.example 3389 ${OTHER} QQ== QQ==`,
    `rdp01 3390 ${OTHER} QQ== QQ==`,
    `rdp01 3389 ${SHA} QQ== QQ==`,
    `rdp01 3389 ${OTHER} QQ== QQ==`,
    "",
  ].join("\n");

  it("finds the first line with the lower-cased host and the port, skipping comments and other ports", () => {
    expect(knownHosts2Pin(file, "RDP01", 3389)).toEqual({ kind: "pin", algorithm: "sha256", hex: HEX });
    expect(knownHosts2Pin(file, "rdp01", 3391)).toEqual({ kind: "none" });
    expect(knownHosts2Pin(null, "rdp01", 3389)).toEqual({ kind: "none" });
  });

  it("reads an upper-case or SHA-1 fingerprint as one FreeRDP 2 would call changed (it compares with strcmp)", () => {
    expect(knownHosts2Pin(`rdp01 3389 ${SHA.toUpperCase()} QQ== QQ==\n`, "rdp01", 3389).kind).toBe("unreadable");
    expect(knownHosts2Pin(`rdp01 3389 ${"ab:".repeat(19)}ab QQ== QQ==\n`, "rdp01", 3389).kind).toBe("unreadable");
  });

  it("replaces every line of that listener by one line at the first one's place, and keeps every other byte", () => {
    const next = updateKnownHosts2(file, "rdp01", 3389, "rdp01 3389 NEW");
    expect(next).toBe(["# my pins", "", `other.example 3389 ${OTHER} QQ== QQ==`, `rdp01 3390 ${OTHER} QQ== QQ==`, "rdp01 3389 NEW", ""].join("\n"));
  });

  it("appends to a file without the listener, keeps CRLF line ends, and starts a missing or empty file", () => {
    expect(updateKnownHosts2("a 1 x y z\r\nb 2 x y z\r\n", "c", 3, "c 3 NEW")).toBe("a 1 x y z\r\nb 2 x y z\r\nc 3 NEW\r\n");
    expect(updateKnownHosts2("a 1 x y z", "c", 3, "c 3 NEW")).toBe("a 1 x y z\nc 3 NEW\n");
    expect(updateKnownHosts2(null, "c", 3, "c 3 NEW")).toBe("c 3 NEW\n");
    expect(updateKnownHosts2("", "c", 3, "c 3 NEW")).toBe("c 3 NEW\n");
  });

  it("is unchanged text when the listener already has exactly that line", () => {
    const text = `rdp01 3389 ${SHA} QQ== QQ==\n`;
    expect(updateKnownHosts2(text, "rdp01", 3389, `rdp01 3389 ${SHA} QQ== QQ==`)).toBe(text);
  });
});

describe("the other stores' pins and the verdict", () => {
  it("reads FreeRDP 3's pem as its certificate's SHA-256, a broken one as unreadable", () => {
    const pem = readFileSync(join(__dirname, "pin-bundle-fixtures", "listener.pem"), "utf8");
    const pin = freerdp3Pin(pem);
    expect(pin.kind).toBe("pin");
    expect(freerdp3Pin("garbage").kind).toBe("unreadable");
    expect(freerdp3Pin(null)).toEqual({ kind: "none" });
  });

  it("reads mstsc's CertHash as a SHA-1 pin", () => {
    expect(mstscPin("0102030405060708090A0B0C0D0E0F1011121314")).toEqual({ kind: "pin", algorithm: "sha1", hex: "0102030405060708090a0b0c0d0e0f1011121314" });
    expect(mstscPin(null)).toEqual({ kind: "none" });
    expect(mstscPin("0102").kind).toBe("unreadable");
  });

  it("compares each pin with its own algorithm's hash of the presented certificate", () => {
    const presented = { sha256: HEX.toUpperCase(), sha1: "0102030405060708090A0B0C0D0E0F1011121314" };
    expect(comparePin({ kind: "pin", algorithm: "sha256", hex: HEX }, presented)).toBe("matches");
    expect(comparePin({ kind: "pin", algorithm: "sha1", hex: "0102030405060708090a0b0c0d0e0f1011121314" }, presented)).toBe("matches");
    expect(comparePin({ kind: "pin", algorithm: "sha256", hex: "00".repeat(32) }, presented)).toBe("differs");
    expect(comparePin({ kind: "unreadable", reason: "x" }, presented)).toBe("differs");
    expect(comparePin({ kind: "none" }, presented)).toBe("no-pin");
  });
});
