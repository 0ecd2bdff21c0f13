/**
 * Minimal DER (X.690) for what PKCS#11 asymmetric keys need: lengths, INTEGER, OBJECT IDENTIFIER,
 * OCTET STRING, BIT STRING, PrintableString, SEQUENCE. Decoding is strict DER (definite, minimal
 * lengths) and throws DerError; callers turn that into the CK_RV their context calls for.
 */
import { concat } from '../../bytes.js';

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_NULL = 0x05;
export const TAG_OID = 0x06;
export const TAG_PRINTABLE_STRING = 0x13;
export const TAG_SEQUENCE = 0x30;

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

export interface Tlv {
  tag: number;
  value: Uint8Array;
  /** Offset just past this element in the input. */
  end: number;
}

export function encodeLength(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) throw new DerError(`length: invalid ${length}`);
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** Reads one length at `offset`; returns the length and the offset of the content. */
export function decodeLength(input: Uint8Array, offset: number): { length: number; next: number } {
  const first = input[offset];
  if (first === undefined) throw new DerError('length: truncated');
  if (first < 0x80) return { length: first, next: offset + 1 };
  const count = first & 0x7f;
  if (count === 0) throw new DerError('length: indefinite form is not DER');
  if (count > 4) throw new DerError(`length: ${count} length bytes is too many`);
  let length = 0;
  for (let i = 1; i <= count; i++) {
    const b = input[offset + i];
    if (b === undefined) throw new DerError('length: truncated');
    if (i === 1 && b === 0) throw new DerError('length: not minimal');
    length = length * 256 + b;
  }
  if (length < 0x80) throw new DerError('length: not minimal');
  return { length, next: offset + 1 + count };
}

export function encodeTlv(tag: number, value: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(tag), encodeLength(value.length), value]);
}

/** One element at `offset` (single-byte tags only: all this module needs). */
export function decodeTlv(input: Uint8Array, offset = 0): Tlv {
  const tag = input[offset];
  if (tag === undefined) throw new DerError('tag: truncated');
  if ((tag & 0x1f) === 0x1f) throw new DerError('tag: multi-byte tags are not supported');
  const { length, next } = decodeLength(input, offset + 1);
  const end = next + length;
  if (end > input.length) throw new DerError(`element: needs ${length} bytes, ${input.length - next} left`);
  return { tag, value: input.subarray(next, end), end };
}

/** The single element that makes up all of `input`, which must carry `tag`. */
export function decodeExact(input: Uint8Array, tag: number): Uint8Array {
  const tlv = decodeTlv(input, 0);
  if (tlv.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}, got 0x${tlv.tag.toString(16)}`);
  if (tlv.end !== input.length) throw new DerError(`${input.length - tlv.end} trailing bytes`);
  return tlv.value;
}

export function sequence(...items: readonly Uint8Array[]): Uint8Array {
  return encodeTlv(TAG_SEQUENCE, concat(items));
}

/** The children of a SEQUENCE's content. */
export function decodeSequence(content: Uint8Array): Tlv[] {
  const items: Tlv[] = [];
  for (let at = 0; at < content.length; ) {
    const tlv = decodeTlv(content, at);
    items.push(tlv);
    at = tlv.end;
  }
  return items;
}

/** INTEGER from an unsigned big-endian magnitude (leading zeros dropped, 0x00 added if needed). */
export function integer(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  let body = magnitude.length === 0 ? Uint8Array.of(0) : magnitude.subarray(start);
  if ((body[0] ?? 0) & 0x80) body = concat([Uint8Array.of(0), body]);
  return encodeTlv(TAG_INTEGER, body);
}

export function smallInteger(value: number): Uint8Array {
  const bytes: number[] = [];
  for (let n = value; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return integer(Uint8Array.from(bytes));
}

/** Unsigned magnitude of a non-negative INTEGER's content (minimal encoding enforced). */
export function decodeUnsignedInteger(content: Uint8Array): Uint8Array {
  const first = content[0];
  if (first === undefined) throw new DerError('INTEGER: empty');
  if (first & 0x80) throw new DerError('INTEGER: negative');
  const second = content[1];
  if (first === 0 && second !== undefined && !(second & 0x80)) throw new DerError('INTEGER: not minimal');
  return first === 0 && content.length > 1 ? content.subarray(1) : content;
}

export function octetString(bytes: Uint8Array): Uint8Array {
  return encodeTlv(TAG_OCTET_STRING, bytes);
}

export function bitString(bytes: Uint8Array): Uint8Array {
  return encodeTlv(TAG_BIT_STRING, concat([Uint8Array.of(0), bytes]));
}

/** Content of a BIT STRING with no unused bits (keys and points are whole bytes). */
export function decodeBitString(content: Uint8Array): Uint8Array {
  if (content[0] !== 0) throw new DerError('BIT STRING: unused bits are not supported');
  return content.subarray(1);
}

export function oid(dotted: string): Uint8Array {
  return encodeTlv(TAG_OID, oidContent(dotted));
}

export function oidContent(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((s) => {
    if (!/^\d+$/.test(s)) throw new DerError(`OID: bad arc "${s}"`);
    return Number(s);
  });
  const [a, b, ...rest] = arcs;
  if (a === undefined || b === undefined || a > 2 || (a < 2 && b > 39)) throw new DerError(`OID: bad ${dotted}`);
  const out: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    if (!Number.isSafeInteger(arc)) throw new DerError(`OID: arc too large in ${dotted}`);
    const chunk = [arc % 128];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | n % 128);
    out.push(...chunk);
  }
  return Uint8Array.from(out);
}

export function decodeOid(content: Uint8Array): string {
  if (content.length === 0) throw new DerError('OID: empty');
  const arcs: number[] = [];
  let arc = 0;
  let fresh = true;
  for (const b of content) {
    if (fresh && b === 0x80) throw new DerError('OID: not minimal');
    arc = arc * 128 + (b & 0x7f);
    if (!Number.isSafeInteger(arc)) throw new DerError('OID: arc too large');
    fresh = !(b & 0x80);
    if (fresh) {
      arcs.push(arc);
      arc = 0;
    }
  }
  if (!fresh) throw new DerError('OID: truncated');
  const [first, ...rest] = arcs as [number, ...number[]];
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...rest].join('.');
}

export function printableString(text: string): Uint8Array {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)) throw new DerError('PrintableString: bad character');
  return encodeTlv(TAG_PRINTABLE_STRING, new TextEncoder().encode(text));
}
