import fc from "fast-check";
import {
  MAX_CONFIRM_LENGTH,
  PROTOCOL_HYBRID,
  PROTOCOL_SSL,
  decodeConnectionConfirm,
  encodeConnectionRequest,
  protocolName,
  protocolNames,
} from "../../../src/probe/negotiation";

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ""), "hex");

describe("encodeConnectionRequest", () => {
  it("writes TPKT + X.224 CR + RDP_NEG_REQ exactly as MS-RDPBCGR 2.2.1.1 shows", () => {
    expect(encodeConnectionRequest({ requestedProtocols: PROTOCOL_SSL | PROTOCOL_HYBRID })).toEqual(
      hex("03 00 00 13  0e e0 00 00 00 00 00  01 00 08 00 03 00 00 00"),
    );
  });

  it("carries a cookie before the negotiation request and counts it in both lengths", () => {
    const buf = encodeConnectionRequest({ requestedProtocols: PROTOCOL_SSL, cookie: "admin" });
    const cookie = "Cookie: mstshash=admin\r\n";
    expect(buf.readUInt16BE(2)).toBe(19 + cookie.length);
    expect(buf[4]).toBe(14 + cookie.length);
    expect(buf.subarray(11, 11 + cookie.length).toString("latin1")).toBe(cookie);
    expect(buf.subarray(11 + cookie.length)).toEqual(hex("01 00 08 00 01 00 00 00"));
  });

  it("refuses a cookie that would smuggle control bytes", () => {
    expect(() => encodeConnectionRequest({ requestedProtocols: 1, cookie: "a\u0000b" })).toThrow(RangeError);
  });
});

describe("decodeConnectionConfirm", () => {
  it("decodes the xrdp 0.9 example: RDP_NEG_RSP selecting SSL", () => {
    expect(decodeConnectionConfirm(hex("03 00 00 13 0e d0 00 00 12 34 00 02 01 08 00 01 00 00 00"))).toEqual({
      kind: "confirm",
      length: 19,
      confirm: { type: "response", selectedProtocol: 1, flags: 1 },
    });
  });

  it.each([1, 2, 3, 4, 5, 6])("decodes RDP_NEG_FAILURE code %i", (code) => {
    const buf = hex(`03 00 00 13 0e d0 00 00 12 34 00 03 00 08 00 0${code} 00 00 00`);
    expect(decodeConnectionConfirm(buf)).toEqual({ kind: "confirm", length: 19, confirm: { type: "failure", failureCode: code, flags: 0 } });
  });

  it("treats a Connection Confirm without negotiation data as a legacy (standard RDP security) server", () => {
    expect(decodeConnectionConfirm(hex("03 00 00 0b 06 d0 00 00 12 34 00"))).toEqual({ kind: "confirm", length: 11, confirm: { type: "legacy" } });
  });

  it("asks for exactly the missing bytes while incomplete", () => {
    const full = hex("03 00 00 13 0e d0 00 00 12 34 00 02 00 08 00 01 00 00 00");
    expect(decodeConnectionConfirm(full.subarray(0, 0))).toEqual({ kind: "incomplete", need: 4 });
    expect(decodeConnectionConfirm(full.subarray(0, 1))).toEqual({ kind: "incomplete", need: 3 });
    expect(decodeConnectionConfirm(full.subarray(0, 10))).toEqual({ kind: "incomplete", need: 9 });
  });

  it.each([
    ["a non-TPKT first byte", "16 03 01 00", /not a TPKT header/],
    ["a TPKT length past the largest Connection Confirm", "03 00 ff ff", /larger than a Connection Confirm can be/],
    ["a TPKT length below the X.224 header", "03 00 00 05 00", /smaller than an X.224 Connection Confirm/],
    ["a length indicator that disagrees with TPKT", "03 00 00 13 0f d0 00 00 12 34 00 02 00 08 00 01 00 00 00", /length indicator 15/],
    ["a Connection Request where a Confirm belongs", "03 00 00 13 0e e0 00 00 12 34 00 02 00 08 00 01 00 00 00", /expected X.224 Connection Confirm/],
    ["a negotiation structure with the wrong length", "03 00 00 13 0e d0 00 00 12 34 00 02 00 09 00 01 00 00 00", /structure length 9/],
    ["an unknown negotiation type", "03 00 00 13 0e d0 00 00 12 34 00 07 00 08 00 01 00 00 00", /unknown negotiation type 0x07/],
    ["truncated negotiation data", "03 00 00 0f 0a d0 00 00 12 34 00 02 00 08 00", /4 bytes of negotiation data/],
  ])("rejects %s", (_name, bytes, reason) => {
    const result = decodeConnectionConfirm(hex(bytes));
    expect(result.kind).toBe("malformed");
    expect(result.kind === "malformed" && result.reason).toMatch(reason);
  });

  describe("fuzzing", () => {
    const valid = hex("03 00 00 13 0e d0 00 00 12 34 00 02 01 08 00 01 00 00 00");
    const check = (bytes: Uint8Array): void => {
      const result = decodeConnectionConfirm(bytes);
      switch (result.kind) {
        case "incomplete":
          expect(result.need).toBeGreaterThan(0);
          expect(bytes.length + result.need).toBeLessThanOrEqual(MAX_CONFIRM_LENGTH);
          break;
        case "confirm":
          expect(result.length).toBeLessThanOrEqual(Math.min(bytes.length, MAX_CONFIRM_LENGTH));
          break;
        case "malformed":
          expect(result.reason).toMatch(/\S/);
          expect(result.reason).not.toMatch(/\n/);
          break;
        default:
          throw new Error(`unexpected result ${JSON.stringify(result)}`);
      }
    };

    it("only ever returns a result or a typed error for random bytes", () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => check(bytes)),
        { numRuns: 5000 },
      );
    });

    it("only ever returns a result or a typed error for mutated valid confirms", () => {
      const mutated = fc
        .array(fc.record({ at: fc.nat({ max: 18 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 6 })
        .chain((edits) => fc.record({ edits: fc.constant(edits), cut: fc.integer({ min: 0, max: 40 }), tail: fc.uint8Array({ maxLength: 21 }) }));
      fc.assert(
        fc.property(mutated, ({ edits, cut, tail }) => {
          const bytes = Buffer.concat([valid, tail]);
          for (const { at, value } of edits) bytes[at] = value;
          check(bytes.subarray(0, Math.min(cut, bytes.length)));
          check(bytes);
        }),
        { numRuns: 5000 },
      );
    });
  });
});

describe("protocol names", () => {
  it("names the selected protocol and the requested set", () => {
    expect(protocolName(0)).toBe("RDP");
    expect(protocolName(2)).toBe("HYBRID");
    expect(protocolName(0x40)).toBe("UNKNOWN(0x40)");
    expect(protocolNames(0x0b)).toEqual(["SSL", "HYBRID", "HYBRID_EX"]);
  });
});
