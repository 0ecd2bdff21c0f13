/**
 * CBOR as CTAP2 speaks it (RFC 8949 with CTAP2's canonical form): definite lengths, the shortest
 * encoding of every integer and length, map keys sorted by encoded length then bytes. The decoder
 * refuses anything else, so what we accept is exactly what we would have sent.
 */
import { CKR_DEVICE_ERROR } from '@vhsm/pkcs11';
import { concat } from './bytes.js';
import { fail } from './errors.js';

export type CborValue = number | bigint | string | boolean | null | Uint8Array | CborValue[] | CborMap;
export type CborMap = Map<CborKey, CborValue>;
export type CborKey = number | string;

function head(major: number, n: number | bigint): Uint8Array {
  const v = BigInt(n);
  const m = major << 5;
  if (v < 24n) return Uint8Array.of(m | Number(v));
  if (v < 0x100n) return Uint8Array.of(m | 24, Number(v));
  if (v < 0x10000n) return Uint8Array.of(m | 25, Number(v >> 8n), Number(v & 0xffn));
  if (v < 0x1_0000_0000n) {
    const out = new Uint8Array(5);
    out[0] = m | 26;
    new DataView(out.buffer).setUint32(1, Number(v));
    return out;
  }
  const out = new Uint8Array(9);
  out[0] = m | 27;
  new DataView(out.buffer).setBigUint64(1, v);
  return out;
}

export function encodeCbor(value: CborValue): Uint8Array<ArrayBuffer> {
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError('CBOR: only integers are encoded');
    const v = BigInt(value);
    return concat([v >= 0n ? head(0, v) : head(1, -1n - v)]);
  }
  if (typeof value === 'string') {
    const bytes = new TextEncoder().encode(value);
    return concat([head(3, bytes.length), bytes]);
  }
  if (typeof value === 'boolean') return Uint8Array.of(value ? 0xf5 : 0xf4);
  if (value === null) return Uint8Array.of(0xf6);
  if (value instanceof Uint8Array) return concat([head(2, value.length), value]);
  if (Array.isArray(value)) return concat([head(4, value.length), ...value.map(encodeCbor)]);
  const entries = [...value].map(([k, v]) => [encodeCbor(k), encodeCbor(v)] as const);
  entries.sort(([a], [b]) => compareKeys(a, b));
  for (let i = 1; i < entries.length; i++) {
    if (compareKeys(entries[i - 1]![0], entries[i]![0]) === 0) throw new RangeError('CBOR: duplicate map key');
  }
  return concat([head(5, entries.length), ...entries.flat()]);
}

/** CTAP2 canonical order: shorter encoded keys first, then bytewise. */
function compareKeys(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
}

export function decodeCbor(bytes: Uint8Array): CborValue {
  const { value, end } = decodeCborPrefix(bytes);
  if (end !== bytes.length) throw bad('trailing bytes');
  return value;
}

/** The first item of a buffer and where it ends (authenticator data packs items back to back). */
export function decodeCborPrefix(bytes: Uint8Array): { value: CborValue; end: number } {
  const reader = { at: 0 };
  const value = item(bytes, reader, 0);
  return { value, end: reader.at };
}

function bad(why: string): Error {
  return fail(CKR_DEVICE_ERROR, `CBOR from the authenticator: ${why}`);
}

function argument(bytes: Uint8Array, r: { at: number }, info: number): bigint {
  const take = (n: number) => {
    if (r.at + n > bytes.length) throw bad('truncated');
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(bytes[r.at + i] as number);
    r.at += n;
    return v;
  };
  if (info < 24) return BigInt(info);
  const sizes: Record<number, number> = { 24: 1, 25: 2, 26: 4, 27: 8 };
  const size = sizes[info];
  if (size === undefined) throw bad('indefinite or reserved length');
  const v = take(size);
  const minimum = size === 1 ? 24n : 1n << BigInt((size / 2) * 8);
  if (v < minimum) throw bad('integer not in its shortest form');
  return v;
}

function item(bytes: Uint8Array, r: { at: number }, depth: number): CborValue {
  if (depth > 16) throw bad('nested too deeply');
  if (r.at >= bytes.length) throw bad('truncated');
  const initial = bytes[r.at++] as number;
  const major = initial >> 5;
  const info = initial & 0x1f;
  if (major === 7) {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    throw bad('unsupported simple value or float');
  }
  const n = argument(bytes, r, info);
  const small = () => {
    if (n > BigInt(bytes.length)) throw bad('length beyond the message');
    return Number(n);
  };
  switch (major) {
    case 0: return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    case 1: return -1n - n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(-1n - n) : -1n - n;
    case 2:
    case 3: {
      const length = small();
      if (r.at + length > bytes.length) throw bad('truncated string');
      const raw = bytes.slice(r.at, r.at + length);
      r.at += length;
      if (major === 2) return raw;
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(raw);
      } catch {
        throw bad('text string is not UTF-8');
      }
    }
    case 4: return Array.from({ length: small() }, () => item(bytes, r, depth + 1));
    case 5: {
      const map: CborMap = new Map();
      let previous: Uint8Array | undefined;
      for (let i = small(); i > 0; i--) {
        const start = r.at;
        const key = item(bytes, r, depth + 1);
        if (typeof key !== 'number' && typeof key !== 'string') throw bad('map key is not an integer or text');
        const encoded = bytes.subarray(start, r.at);
        if (previous && compareKeys(previous, encoded) >= 0) throw bad('map keys not in canonical order');
        previous = encoded;
        map.set(key, item(bytes, r, depth + 1));
      }
      return map;
    }
    default: throw bad('tags are not used by CTAP2');
  }
}
