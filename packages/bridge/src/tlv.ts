/** BER-TLV as smart cards use it (multi-byte tags such as 5FC105 and 7F49, definite lengths). */
import { CKR_DEVICE_ERROR } from '@vhsm/pkcs11';
import { concat } from './bytes.js';
import { fail } from './errors.js';

export interface Tlv {
  tag: number;
  value: Uint8Array;
  /** The whole element, tag and length included. */
  raw: Uint8Array;
}

export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const value = concat(parts);
  const tagBytes: number[] = [];
  for (let t = tag; t > 0; t = Math.floor(t / 256)) tagBytes.unshift(t & 0xff);
  if (tagBytes.length === 0) tagBytes.push(0);
  return concat([Uint8Array.from(tagBytes), encodeLength(value.length), value]);
}

export function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(0x81, n);
  if (n < 0x10000) return Uint8Array.of(0x82, n >> 8, n & 0xff);
  return Uint8Array.of(0x83, n >> 16, (n >> 8) & 0xff, n & 0xff);
}

/** Parse a run of TLVs; throws CKR_DEVICE_ERROR on malformed input (the card sent garbage). */
export function parseTlvs(bytes: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let i = 0;
  const byte = () => {
    if (i >= bytes.length) throw fail(CKR_DEVICE_ERROR, 'truncated TLV');
    return bytes[i++] as number;
  };
  while (i < bytes.length) {
    const start = i;
    let tag = byte();
    if ((tag & 0x1f) === 0x1f) {
      let b: number;
      do {
        b = byte();
        tag = tag * 256 + b;
      } while (b & 0x80);
    }
    let length = byte();
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 3) throw fail(CKR_DEVICE_ERROR, 'unsupported TLV length');
      length = 0;
      for (let k = 0; k < count; k++) length = length * 256 + byte();
    }
    if (i + length > bytes.length) throw fail(CKR_DEVICE_ERROR, 'truncated TLV');
    out.push({ tag, value: bytes.subarray(i, i + length), raw: bytes.subarray(start, i + length) });
    i += length;
  }
  return out;
}

export function findTlv(bytes: Uint8Array, tag: number): Tlv | undefined {
  return parseTlvs(bytes).find((t) => t.tag === tag);
}

/** DER INTEGER pair (ECDSA-Sig-Value) to fixed-width r||s, as software keys produce. */
export function derSignatureToRaw(der: Uint8Array, size: number): Uint8Array {
  const seq = findTlv(der, 0x30);
  const ints = seq ? parseTlvs(seq.value) : [];
  if (ints.length !== 2 || ints.some((t) => t.tag !== 2)) throw fail(CKR_DEVICE_ERROR, 'card signature is not an ECDSA-Sig-Value');
  const out = new Uint8Array(size * 2);
  ints.forEach((t, k) => {
    let v = t.value;
    while (v.length > size && v[0] === 0) v = v.subarray(1);
    if (v.length > size) throw fail(CKR_DEVICE_ERROR, 'card signature value too long');
    out.set(v, k * size + size - v.length);
  });
  return out;
}
