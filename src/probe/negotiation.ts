import type { ConnectionConfirm } from "../core/probe-result";

/**
 * RDP pre-TLS negotiation codec, MS-RDPBCGR 2.2.1.1 (X.224 Connection Request
 * with RDP_NEG_REQ) and 2.2.1.2 (X.224 Connection Confirm with RDP_NEG_RSP or
 * RDP_NEG_FAILURE). Pure: bytes in, a result or a typed error out, never a throw.
 */

export const PROTOCOL_RDP = 0x0;
export const PROTOCOL_SSL = 0x1;
export const PROTOCOL_HYBRID = 0x2;
export const PROTOCOL_RDSTLS = 0x4;
export const PROTOCOL_HYBRID_EX = 0x8;

const protocolFlags: ReadonlyArray<readonly [number, string]> = [
  [PROTOCOL_SSL, "SSL"],
  [PROTOCOL_HYBRID, "HYBRID"],
  [PROTOCOL_RDSTLS, "RDSTLS"],
  [PROTOCOL_HYBRID_EX, "HYBRID_EX"],
];

/** Protocols after which the TLS handshake starts on the same socket. */
export const TLS_PROTOCOLS = PROTOCOL_SSL | PROTOCOL_HYBRID | PROTOCOL_RDSTLS | PROTOCOL_HYBRID_EX;

export function protocolName(selected: number): string {
  if (selected === PROTOCOL_RDP) return "RDP";
  return protocolFlags.find(([flag]) => flag === selected)?.[1] ?? `UNKNOWN(0x${selected.toString(16)})`;
}

export function protocolNames(mask: number): string[] {
  if (mask === PROTOCOL_RDP) return ["RDP"];
  return protocolFlags.filter(([flag]) => (mask & flag) !== 0).map(([, name]) => name);
}

export type SelectedProtocolCheck =
  { readonly kind: "rdp" } | { readonly kind: "tls"; readonly name: string } | { readonly kind: "invalid"; readonly reason: string };

/**
 * MS-RDPBCGR 2.2.1.2.1: selectedProtocol is exactly one of the protocols the
 * client requested, or PROTOCOL_RDP (0). A value with several bits, or a bit
 * the client never offered (0x10, 0xffffffff), is a protocol error, not a
 * downgrade: report it with the value.
 */
export function checkSelectedProtocol(selected: number, requested: number): SelectedProtocolCheck {
  const value = selected >>> 0;
  const hexValue = `0x${value.toString(16)}`;
  if (value === PROTOCOL_RDP) return { kind: "rdp" };
  const single = (value & (value - 1)) === 0;
  if (!single) return { kind: "invalid", reason: `the listener selected protocol ${hexValue}, several protocols at once (it must choose one)` };
  if ((value & requested) === 0) {
    return {
      kind: "invalid",
      reason: `the listener selected protocol ${hexValue} (${protocolName(value)}), which was not offered (offered ${protocolNames(requested).join("|")})`,
    };
  }
  return { kind: "tls", name: protocolName(value) };
}

export const negotiationFailureNames: Readonly<Record<number, string>> = {
  1: "SSL_REQUIRED_BY_SERVER",
  2: "SSL_NOT_ALLOWED_BY_SERVER",
  3: "SSL_CERT_NOT_ON_SERVER",
  4: "INCONSISTENT_FLAGS",
  5: "HYBRID_REQUIRED_BY_SERVER",
  6: "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER",
};

export const negotiationFailureMeanings: Readonly<Record<number, string>> = {
  1: "the listener requires TLS but it was not offered",
  2: "the listener allows standard RDP security only (TLS disabled)",
  3: "the listener has no usable certificate",
  4: "the listener found the requested protocol flags inconsistent",
  5: "the listener requires CredSSP (NLA) but it was not offered",
  6: "the listener requires TLS with user authentication",
};

export interface ConnectionRequestOptions {
  readonly requestedProtocols: number;
  /** Optional routing cookie, sent as `Cookie: mstshash=NAME\r\n`. Must be printable ASCII. */
  readonly cookie?: string;
}

const TPKT_HEADER = 4;
const X224_CR_CC_FIXED = 7; // LI, code, dst-ref(2), src-ref(2), class
const NEG_LENGTH = 8;
/** A Connection Confirm is TPKT + LI (max 254 header bytes): larger is not a Connection Confirm. */
export const MAX_CONFIRM_LENGTH = TPKT_HEADER + 1 + 254;
const MIN_CONFIRM_LENGTH = TPKT_HEADER + X224_CR_CC_FIXED;

export function encodeConnectionRequest(options: ConnectionRequestOptions): Buffer {
  const cookie = options.cookie === undefined ? "" : `Cookie: mstshash=${options.cookie}\r\n`;
  if (!/^[\x20-\x7e\r\n]*$/.test(cookie)) throw new RangeError("cookie must be printable ASCII");
  const total = TPKT_HEADER + X224_CR_CC_FIXED + cookie.length + NEG_LENGTH;
  if (total > MAX_CONFIRM_LENGTH) throw new RangeError("cookie too long");
  const buf = Buffer.alloc(total);
  buf.writeUInt8(0x03, 0);
  buf.writeUInt8(0x00, 1);
  buf.writeUInt16BE(total, 2);
  buf.writeUInt8(total - TPKT_HEADER - 1, 4); // LI excludes itself
  buf.writeUInt8(0xe0, 5); // CR
  // dst-ref, src-ref, class: zero
  buf.write(cookie, TPKT_HEADER + X224_CR_CC_FIXED, "latin1");
  const neg = TPKT_HEADER + X224_CR_CC_FIXED + cookie.length;
  buf.writeUInt8(0x01, neg); // TYPE_RDP_NEG_REQ
  buf.writeUInt8(0x00, neg + 1);
  buf.writeUInt16LE(NEG_LENGTH, neg + 2);
  buf.writeUInt32LE(options.requestedProtocols >>> 0, neg + 4);
  return buf;
}

export type { ConnectionConfirm } from "../core/probe-result";

export type DecodeResult =
  | { readonly kind: "incomplete"; readonly need: number }
  | { readonly kind: "confirm"; readonly confirm: ConnectionConfirm; readonly length: number }
  | { readonly kind: "malformed"; readonly reason: string };

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, "0")}`;
}

/**
 * Decodes a Connection Confirm from the bytes received so far. Never reads past
 * `MAX_CONFIRM_LENGTH`: a TPKT length beyond it is malformed, not an allocation.
 */
export function decodeConnectionConfirm(bytes: Uint8Array): DecodeResult {
  if (bytes.length >= 1 && bytes[0] !== 0x03) {
    return { kind: "malformed", reason: `not a TPKT header: first byte ${hex(bytes[0]!)} (expected 0x03)` };
  }
  if (bytes.length < TPKT_HEADER) return { kind: "incomplete", need: TPKT_HEADER - bytes.length };
  const length = (bytes[2]! << 8) | bytes[3]!;
  if (length > MAX_CONFIRM_LENGTH) {
    return { kind: "malformed", reason: `TPKT length ${length} is larger than a Connection Confirm can be (${MAX_CONFIRM_LENGTH})` };
  }
  if (length < MIN_CONFIRM_LENGTH) {
    return { kind: "malformed", reason: `TPKT length ${length} is smaller than an X.224 Connection Confirm (${MIN_CONFIRM_LENGTH})` };
  }
  if (bytes.length < length) return { kind: "incomplete", need: length - bytes.length };

  const li = bytes[4]!;
  if (li !== length - TPKT_HEADER - 1) {
    return { kind: "malformed", reason: `X.224 length indicator ${li} does not match TPKT length ${length}` };
  }
  const code = bytes[5]!;
  if ((code & 0xf0) !== 0xd0) {
    return { kind: "malformed", reason: `expected X.224 Connection Confirm (0xd0), got ${hex(code)}` };
  }
  const rest = length - MIN_CONFIRM_LENGTH;
  if (rest === 0) return { kind: "confirm", confirm: { type: "legacy" }, length };
  if (rest < NEG_LENGTH) return { kind: "malformed", reason: `${rest} bytes of negotiation data, expected ${NEG_LENGTH}` };

  const at = MIN_CONFIRM_LENGTH;
  const type = bytes[at]!;
  const flags = bytes[at + 1]!;
  const negLength = bytes[at + 2]! | (bytes[at + 3]! << 8);
  if (negLength !== NEG_LENGTH) return { kind: "malformed", reason: `negotiation structure length ${negLength}, expected ${NEG_LENGTH}` };
  const value = (bytes[at + 4]! | (bytes[at + 5]! << 8) | (bytes[at + 6]! << 16) | (bytes[at + 7]! << 24)) >>> 0;
  if (type === 0x02) return { kind: "confirm", confirm: { type: "response", selectedProtocol: value, flags }, length };
  if (type === 0x03) return { kind: "confirm", confirm: { type: "failure", failureCode: value, flags }, length };
  return { kind: "malformed", reason: `unknown negotiation type ${hex(type)} (expected 0x02 response or 0x03 failure)` };
}
