/** Byte helpers for JWK (base64url) and big-endian integers. */

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_INDEX = new Map([...B64URL].map((c, i) => [c, i]));

export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let c = 0; c < chars; c++) out += B64URL[(n >> (18 - 6 * c)) & 63];
  }
  return out;
}

/** Decodes unpadded base64url; throws TypeError on anything else (callers map it to a CK_RV). */
export function fromBase64Url(text: string): Uint8Array {
  if (text.length % 4 === 1) throw new TypeError('base64url: bad length');
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let bits = 0;
  let acc = 0;
  let at = 0;
  for (const c of text) {
    const v = B64URL_INDEX.get(c);
    if (v === undefined) throw new TypeError('base64url: bad character');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** Drops leading zero bytes (PKCS#11 big integers are unsigned big-endian, minimal by custom). */
export function stripLeadingZeros(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start);
}

/** Left-pads with zeros to `length`; throws RangeError if `bytes` is longer once stripped. */
export function leftPad(bytes: Uint8Array, length: number): Uint8Array {
  const stripped = stripLeadingZeros(bytes);
  if (stripped.length > length) throw new RangeError(`expected at most ${length} bytes, got ${stripped.length}`);
  const out = new Uint8Array(length);
  out.set(stripped, length - stripped.length);
  return out;
}

export function bitLength(bytes: Uint8Array): number {
  const stripped = stripLeadingZeros(bytes);
  const top = stripped[0] ?? 0;
  return top === 0 ? 0 : (stripped.length - 1) * 8 + (32 - Math.clz32(top));
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
