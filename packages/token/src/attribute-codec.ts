/**
 * The sealed form of a private object's attributes, format 2: a compact binary encoding, because
 * the first find after login decodes every private object and JSON with base64 byte strings was a
 * third of that time (docs/performance.md). Format 1 (JSON with tagged values, `encodeAttributes`)
 * starts with '[' and is still read; public objects' tags keep covering format 1.
 *
 *   format 2 := 0x02 count:uvar (type:uvar value)*
 *   value    := 0x00 false | 0x01 true | 0x02 uvar (a safe non-negative integer) | 0x03 float64le
 *             | 0x04 length:uvar utf8 | 0x05 length:uvar bytes | 0x06 count:uvar value* (number[])
 *             | 0x07 count:uvar (type:uvar value)* (attribute array)
 *
 * uvar is a base-128 varint (low groups first) of up to 53 bits.
 */
import { CKR_GENERAL_ERROR } from '@vhsm/pkcs11';
import type { Attribute, AttributeValue } from '@vhsm/pkcs11';
import type { AttributeMap } from './attributes/values.js';
import { ckr } from './errors.js';
import { decodeAttributes } from './sealing.js';

const FORMAT_2 = 0x02;
const JSON_START = 0x5b; // '[': format 1
const FALSE = 0x00, TRUE = 0x01, UINT = 0x02, FLOAT = 0x03, TEXT = 0x04, BYTES = 0x05, NUMBERS = 0x06, NESTED = 0x07;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

class Writer {
  bytes = new Uint8Array(256);
  length = 0;

  #room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  byte(b: number): void {
    this.#room(1);
    this.bytes[this.length++] = b;
  }

  uvar(n: number): void {
    this.#room(8);
    while (n >= 0x80) {
      this.bytes[this.length++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.bytes[this.length++] = n;
  }

  raw(data: Uint8Array): void {
    this.uvar(data.length);
    this.#room(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  float(n: number): void {
    this.#room(8);
    new DataView(this.bytes.buffer).setFloat64(this.length, n, true);
    this.length += 8;
  }
}

function writeNumber(w: Writer, n: number): void {
  // -0 passes as a non-negative integer but must come back as -0: it goes as a float.
  if (Number.isSafeInteger(n) && n >= 0 && !Object.is(n, -0)) {
    w.byte(UINT);
    w.uvar(n);
  } else {
    w.byte(FLOAT);
    w.float(n);
  }
}

function writeValue(w: Writer, value: AttributeValue): void {
  if (typeof value === 'boolean') return w.byte(value ? TRUE : FALSE);
  if (typeof value === 'number') return writeNumber(w, value);
  if (typeof value === 'string') {
    w.byte(TEXT);
    return w.raw(encoder.encode(value));
  }
  if (value instanceof Uint8Array) {
    w.byte(BYTES);
    return w.raw(value);
  }
  // Same reading as format 1: an array of numbers (an empty one too) is a mechanism list.
  if (value.every((v) => typeof v === 'number')) {
    w.byte(NUMBERS);
    w.uvar(value.length);
    for (const n of value as number[]) writeNumber(w, n);
    return;
  }
  w.byte(NESTED);
  w.uvar(value.length);
  for (const a of value as Attribute[]) {
    w.uvar(a.type);
    writeValue(w, a.value ?? new Uint8Array());
  }
}

/** Attributes in format 2, for sealing. */
export function packAttributes(attributes: Iterable<[number, AttributeValue]>): Uint8Array {
  const w = new Writer();
  const list = [...attributes];
  w.byte(FORMAT_2);
  w.uvar(list.length);
  for (const [type, value] of list) {
    w.uvar(type);
    writeValue(w, value);
  }
  return w.bytes.subarray(0, w.length);
}

class Reader {
  readonly #bytes: Uint8Array;
  at = 0;
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  byte(): number {
    const b = this.#bytes[this.at++];
    if (b === undefined) throw truncated();
    return b;
  }

  uvar(): number {
    let n = 0;
    for (let scale = 1; ; scale *= 0x80) {
      if (scale > 2 ** 49) throw ckr(CKR_GENERAL_ERROR, 'sealed attributes: a number is too long');
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (n > Number.MAX_SAFE_INTEGER) throw ckr(CKR_GENERAL_ERROR, 'sealed attributes: a number is too large');
      if (b < 0x80) return n;
    }
  }

  take(): Uint8Array {
    const length = this.uvar();
    const end = this.at + length;
    if (end > this.#bytes.length) throw truncated();
    const out = this.#bytes.subarray(this.at, end);
    this.at = end;
    return out;
  }

  float(): number {
    if (this.at + 8 > this.#bytes.length) throw truncated();
    const n = new DataView(this.#bytes.buffer, this.#bytes.byteOffset + this.at, 8).getFloat64(0, true);
    this.at += 8;
    return n;
  }

  get done(): boolean {
    return this.at === this.#bytes.length;
  }
}

function truncated(): Error {
  return ckr(CKR_GENERAL_ERROR, 'sealed attributes end early');
}

/** Labels and ids are short ASCII: building the string directly beats a TextDecoder call. */
function text(bytes: Uint8Array): string {
  if (bytes.length > 64) return utf8(bytes);
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (c >= 0x80) return utf8(bytes);
    s += String.fromCharCode(c);
  }
  return s;
}

function utf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw ckr(CKR_GENERAL_ERROR, 'sealed attributes: text is not UTF-8');
  }
}

function readNumber(r: Reader, tag: number): number {
  if (tag === UINT) return r.uvar();
  if (tag === FLOAT) return r.float();
  throw ckr(CKR_GENERAL_ERROR, 'sealed attributes: a number was expected');
}

/** Templates nest one level (CKA_WRAP_TEMPLATE holds plain attributes); deeper is corruption. */
function readValue(r: Reader, nested = false): AttributeValue {
  const tag = r.byte();
  switch (tag) {
    case FALSE: return false;
    case TRUE: return true;
    case UINT:
    case FLOAT: return readNumber(r, tag);
    case TEXT: return text(r.take());
    case BYTES: return r.take().slice();
    case NUMBERS: {
      const out: number[] = [];
      for (let n = r.uvar(); n > 0; n--) out.push(readNumber(r, r.byte()));
      return out;
    }
    case NESTED: {
      if (nested) throw ckr(CKR_GENERAL_ERROR, 'sealed attributes: templates nest one level only');
      const out: Attribute[] = [];
      for (let n = r.uvar(); n > 0; n--) out.push({ type: r.uvar(), value: readValue(r, true) });
      return out;
    }
    default: throw ckr(CKR_GENERAL_ERROR, `sealed attributes: unknown value tag ${tag}`);
  }
}

/** Sealed attributes back as a map, in either format. */
export function unpackAttributes(bytes: Uint8Array): AttributeMap {
  if (bytes[0] === JSON_START) return new Map(decodeAttributes(bytes));
  if (bytes[0] !== FORMAT_2) throw ckr(CKR_GENERAL_ERROR, `sealed attributes in an unknown format ${bytes[0] ?? '(empty)'}`);
  const r = new Reader(bytes);
  r.at = 1;
  const map: AttributeMap = new Map();
  for (let n = r.uvar(); n > 0; n--) {
    const type = r.uvar();
    map.set(type, readValue(r));
  }
  if (!r.done) throw ckr(CKR_GENERAL_ERROR, 'sealed attributes: trailing bytes');
  return map;
}
