/**
 * The little DER the facade needs: curve OIDs (CKA_EC_PARAMS) and the OCTET STRING around
 * CKA_EC_POINT. Key formats (spki, pkcs8, jwk) are left to the page's own WebCrypto.
 */

export const OID = {
  'P-256': Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07),
  'P-384': Uint8Array.of(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22),
  'P-521': Uint8Array.of(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23),
  Ed25519: Uint8Array.of(0x06, 0x03, 0x2b, 0x65, 0x70),
} as const;

export type CurveName = 'P-256' | 'P-384' | 'P-521';
export const CURVES: readonly CurveName[] = ['P-256', 'P-384', 'P-521'];

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One TLV at `at`: its tag, content and where the next one starts. Throws on malformed input. */
export function readTlv(bytes: Uint8Array, at = 0): { tag: number; content: Uint8Array; end: number } {
  const tag = bytes[at];
  let length = bytes[at + 1];
  if (tag === undefined || length === undefined) throw new RangeError('DER: truncated');
  let start = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count < 1 || count > 3) throw new RangeError('DER: unsupported length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[start + i] ?? Number.NaN);
    start += count;
  }
  const end = start + length;
  if (!Number.isInteger(end) || end > bytes.length) throw new RangeError('DER: truncated');
  return { tag, content: bytes.subarray(start, end), end };
}

/** The raw content of a DER OCTET STRING (CKA_EC_POINT), or the bytes themselves if not one. */
export function unwrapOctetString(value: Uint8Array, expectedLength: number): Uint8Array {
  if (value.length === expectedLength) return value;
  const { tag, content } = readTlv(value);
  if (tag !== 0x04) throw new RangeError('DER: expected an OCTET STRING');
  return content;
}
