/**
 * A minimal, bounded DER reader: just enough of X.690 to pull the signature
 * algorithm and the key-usage extension out of a certificate, which Node 20's
 * `crypto.X509Certificate` does not expose. Loading pkijs for two fields would
 * cost the quick commands more start-up time than the whole handshake.
 * Every read is checked against the buffer; malformed input throws DerError.
 */
export class DerError extends Error {
  override name = "DerError";
}

export interface Tlv {
  readonly tag: number;
  /** Offset of the first content byte. */
  readonly start: number;
  /** Offset one past the last content byte. */
  readonly end: number;
}

export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw new DerError(`truncated TLV header at ${offset}`);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tag at ${offset} is not supported`);
  let lengthByte = buf[offset + 1]!;
  let pos = offset + 2;
  let length: number;
  if (lengthByte < 0x80) {
    length = lengthByte;
  } else {
    lengthByte &= 0x7f;
    if (lengthByte === 0 || lengthByte > 4) throw new DerError(`unsupported length form at ${offset}`);
    if (pos + lengthByte > limit) throw new DerError(`truncated length at ${offset}`);
    length = 0;
    for (let i = 0; i < lengthByte; i++) length = length * 256 + buf[pos + i]!;
    pos += lengthByte;
  }
  if (pos + length > limit) throw new DerError(`content of tag 0x${tag.toString(16)} at ${offset} runs past its container`);
  return { tag, start: pos, end: pos + length };
}

/** The TLVs directly inside a constructed TLV. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let pos = parent.start;
  while (pos < parent.end) {
    const child = readTlv(buf, pos, parent.end);
    out.push(child);
    pos = child.end;
  }
  return out;
}

export function decodeOid(buf: Uint8Array, tlv: Tlv): string {
  if (tlv.tag !== 0x06) throw new DerError(`expected OBJECT IDENTIFIER, got tag 0x${tlv.tag.toString(16)}`);
  if (tlv.end <= tlv.start) throw new DerError("empty OBJECT IDENTIFIER");
  const parts: number[] = [];
  let value = 0;
  for (let i = tlv.start; i < tlv.end; i++) {
    const byte = buf[i]!;
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else {
        parts.push(value);
      }
      value = 0;
    }
  }
  return parts.join(".");
}
