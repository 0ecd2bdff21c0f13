/**
 * Conversions between the vhsm C_ interface (numbers, Uint8Array, typed attribute values, typed
 * mechanism parameters) and pkcs11js's (Buffer handles, Buffer values, CK_PARAMS_* objects), and
 * from pkcs11js's errors to Pkcs11Error. Pure functions: no module is needed to test them.
 */
// pkcs11js is CommonJS whose exports Node cannot detect statically: take module.exports whole.
import pkcs11js from 'pkcs11js';
import type * as P from 'pkcs11js';
import {
  CKR_ARGUMENTS_BAD,
  CKR_ATTRIBUTE_TYPE_INVALID,
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_FUNCTION_NOT_SUPPORTED,
  CKR_GENERAL_ERROR,
  CKR_MECHANISM_INVALID,
  CKR_MECHANISM_PARAM_INVALID,
  CKZ_DATA_SPECIFIED,
  CK_UNAVAILABLE_INFORMATION,
  Pkcs11Error,
  attributeKind,
} from '@vhsm/pkcs11';
import type { AttributeValue, Mechanism } from '@vhsm/pkcs11';

/** CK_ULONG and every handle are 8 bytes, little-endian, on the 64-bit Linux/macOS/Windows builds we support. */
const ULONG_SIZE = 8;
const UINT32_MAX = 0xffff_ffff;

/** pkcs11js reads numbers (attribute types, mechanism types, parameter fields) as uint32. */
function isUint32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= UINT32_MAX;
}

function isUlong(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

export function encodeUlong(n: number): Buffer {
  const b = Buffer.alloc(ULONG_SIZE);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

/** A handle (session, object, slot id) as the 8-byte Buffer pkcs11js expects. */
export function encodeHandle(handle: unknown, method: string, what: string): Buffer {
  if (!isUlong(handle)) throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, `${what} must be a non-negative integer`);
  return encodeUlong(handle);
}

export function decodeHandle(b: Buffer): number {
  return Number(b.readBigUInt64LE(0));
}

const ULONG_MAX = (1n << 64n) - 1n;

/** A CK_ULONG as a number; ~0 (CK_UNAVAILABLE_INFORMATION in C) becomes the contract's constant. */
export function ulongToNumber(n: bigint | number): number {
  return BigInt(n) === ULONG_MAX ? CK_UNAVAILABLE_INFORMATION : Number(n);
}

/** A copy, so that callers never hold a view over memory pkcs11js (or we) may reuse. */
export function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/**
 * An input byte string as a Buffer over the same memory. An empty one is a view into a 1-byte
 * allocation: an empty Buffer reaches the module as NULL_PTR, which modules reject with
 * CKR_ARGUMENTS_BAD, while C callers hash or encrypt an empty message through a valid pointer.
 */
export function toBuffer(data: unknown, method: string, what: string): Buffer {
  if (!(data instanceof Uint8Array)) throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, `${what} must be a Uint8Array`);
  if (data.byteLength === 0) return emptyBuffer();
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export function emptyBuffer(): Buffer {
  return Buffer.alloc(1).subarray(0, 0);
}

/** pkcs11js's argument checks throw TypeErrors; tested by name, as they may come from another realm. */
export function isTypeError(e: unknown): boolean {
  return e instanceof Error && e.name === 'TypeError';
}

function isDateType(type: number): boolean {
  return attributeKind(type) === 'date';
}

/**
 * A template for pkcs11js. Each value is encoded from its JavaScript type (boolean → CK_BBOOL,
 * number → CK_ULONG, string → UTF-8, Uint8Array → bytes), as pkcs11js does, so that a value of the
 * wrong type reaches the module and the module answers (e.g. CKR_ATTRIBUTE_VALUE_INVALID).
 * Numbers are encoded here as 8-byte CK_ULONGs because pkcs11js would truncate them to 32 bits.
 */
export function encodeTemplate(template: unknown, method: string, withValues: boolean): P.Template {
  if (!Array.isArray(template)) throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, 'template must be an array');
  return template.map((attr: unknown, i): P.Attribute => {
    if (typeof attr !== 'object' || attr === null) {
      throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, `template[${i}] must be an object`);
    }
    const { type, value } = attr as { type?: unknown; value?: unknown };
    if (typeof type !== 'number') throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, `template[${i}].type must be a number`);
    if (!isUint32(type)) throw new Pkcs11Error(CKR_ATTRIBUTE_TYPE_INVALID, method, `template[${i}].type is out of range`);
    const encoded = withValues && value !== undefined ? encodeValue(type, value, method, i) : undefined;
    return encoded === undefined ? { type } : { type, value: encoded };
  });
}

function encodeValue(type: number, value: unknown, method: string, i: number): Buffer | undefined {
  if (typeof value === 'boolean') return Buffer.from([value ? 1 : 0]);
  if (typeof value === 'number') {
    if (!isUlong(value)) throw new Pkcs11Error(CKR_ATTRIBUTE_VALUE_INVALID, method, `template[${i}].value must be a non-negative integer`);
    return encodeUlong(value);
  }
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Array.isArray(value)) {
    // CK_MECHANISM_TYPE arrays (CKA_ALLOWED_MECHANISMS) are flat; nested templates need pointers.
    if (!value.every(isUlong)) {
      throw new Pkcs11Error(CKR_FUNCTION_NOT_SUPPORTED, method, `template[${i}].value: nested templates cannot be passed through pkcs11js`);
    }
    return Buffer.concat(value.map(encodeUlong));
  }
  if (value instanceof Uint8Array) {
    // pkcs11js rejects date values shorter than a CK_DATE, but an empty date is valid PKCS#11:
    // a missing value is passed as pValue NULL, ulValueLen 0, which is what the module sees for it.
    if (value.byteLength === 0 && isDateType(type)) return undefined;
    return Buffer.from(value);
  }
  throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, `template[${i}].value must be a boolean, number, string, Uint8Array or number[]`);
}

/**
 * A value returned by the module, typed by the attribute's kind (CONTRACT.md). A value whose size
 * does not fit its kind stays bytes, so that a module's mistake shows instead of being guessed at.
 */
export function decodeValue(type: number, raw: Buffer): AttributeValue {
  switch (attributeKind(type)) {
    case 'bool':
      return raw.byteLength === 1 ? raw[0] !== 0 : copyBytes(raw);
    case 'ulong':
      return raw.byteLength === ULONG_SIZE ? ulongToNumber(raw.readBigUInt64LE(0)) : copyBytes(raw);
    case 'mechanisms':
      if (raw.byteLength % ULONG_SIZE !== 0) return copyBytes(raw);
      return Array.from({ length: raw.byteLength / ULONG_SIZE }, (_, i) => ulongToNumber(raw.readBigUInt64LE(i * ULONG_SIZE)));
    case 'string':
      return new TextDecoder().decode(raw);
    default:
      return copyBytes(raw);
  }
}

function paramBytes(p: Record<string, unknown>, field: string, method: string, required: boolean): Buffer | undefined {
  const v = p[field];
  if (v === undefined && !required) return undefined;
  if (!(v instanceof Uint8Array)) throw new Pkcs11Error(CKR_MECHANISM_PARAM_INVALID, method, `parameter.${field} must be a Uint8Array`);
  return Buffer.from(v);
}

function paramNumber(p: Record<string, unknown>, field: string, method: string, fallback?: number): number {
  const v = p[field] ?? fallback;
  if (!isUint32(v)) throw new Pkcs11Error(CKR_MECHANISM_PARAM_INVALID, method, `parameter.${field} must be an integer`);
  return v;
}

/**
 * A mechanism for pkcs11js. The parameter is encoded from its shape, not from the mechanism type,
 * so that a parameter given to the wrong mechanism reaches the module as it would from C and the
 * module answers for it:
 *   Uint8Array → raw bytes (IVs); number → CK_ULONG;
 *   { iv, aad?, tagBits? } → CK_GCM_PARAMS (ulIvBits = 8 × IV length, tag 128 bits by default);
 *   { counterBits, cb } → CK_AES_CTR_PARAMS, laid out here (pkcs11js has no type for it);
 *   { hashAlg, mgf, saltLen } → CK_RSA_PKCS_PSS_PARAMS;
 *   { hashAlg, mgf, source?, sourceData? } → CK_RSA_PKCS_OAEP_PARAMS (source CKZ_DATA_SPECIFIED by default);
 *   { kdf, publicData, sharedData? } → CK_ECDH1_DERIVE_PARAMS.
 */
export function encodeMechanism(mechanism: unknown, method: string): P.Mechanism {
  if (typeof mechanism !== 'object' || mechanism === null) {
    throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, 'mechanism must be an object');
  }
  const { mechanism: type, parameter } = mechanism as Partial<Mechanism> & { parameter?: unknown };
  if (typeof type !== 'number') throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, 'mechanism.mechanism must be a number');
  if (!isUint32(type)) throw new Pkcs11Error(CKR_MECHANISM_INVALID, method, 'mechanism.mechanism is out of range');
  if (parameter === undefined || parameter === null) return { mechanism: type };
  if (parameter instanceof Uint8Array) return { mechanism: type, parameter: Buffer.from(parameter) };
  if (typeof parameter === 'number') {
    if (!isUlong(parameter)) throw new Pkcs11Error(CKR_MECHANISM_PARAM_INVALID, method, 'parameter must be a non-negative integer');
    return { mechanism: type, parameter: encodeUlong(parameter) };
  }
  if (typeof parameter !== 'object') throw new Pkcs11Error(CKR_MECHANISM_PARAM_INVALID, method, 'parameter has an unknown shape');
  const p = parameter as unknown as Record<string, unknown>;
  if ('iv' in p) {
    const iv = paramBytes(p, 'iv', method, true) as Buffer;
    const aad = paramBytes(p, 'aad', method, false);
    const gcm: P.AesGCM = {
      type: pkcs11js.CK_PARAMS_AES_GCM_v240,
      iv,
      ivBits: iv.byteLength * 8,
      tagBits: paramNumber(p, 'tagBits', method, 128),
      ...(aad !== undefined && { aad }),
    };
    return { mechanism: type, parameter: gcm };
  }
  if ('cb' in p) {
    const cb = paramBytes(p, 'cb', method, true) as Buffer;
    if (cb.byteLength !== 16) throw new Pkcs11Error(CKR_MECHANISM_PARAM_INVALID, method, `parameter.cb: expected 16 bytes, got ${cb.byteLength}`);
    return { mechanism: type, parameter: Buffer.concat([encodeUlong(paramNumber(p, 'counterBits', method)), cb]) };
  }
  if ('saltLen' in p) {
    const pss: P.RsaPSS = {
      type: pkcs11js.CK_PARAMS_RSA_PSS,
      hashAlg: paramNumber(p, 'hashAlg', method),
      mgf: paramNumber(p, 'mgf', method),
      saltLen: paramNumber(p, 'saltLen', method),
    };
    return { mechanism: type, parameter: pss };
  }
  if ('hashAlg' in p) {
    const sourceData = paramBytes(p, 'sourceData', method, false);
    const oaep: P.RsaOAEP = {
      type: pkcs11js.CK_PARAMS_RSA_OAEP,
      hashAlg: paramNumber(p, 'hashAlg', method),
      mgf: paramNumber(p, 'mgf', method),
      source: paramNumber(p, 'source', method, CKZ_DATA_SPECIFIED),
      ...(sourceData !== undefined && { sourceData }),
    };
    return { mechanism: type, parameter: oaep };
  }
  if ('publicData' in p) {
    const sharedData = paramBytes(p, 'sharedData', method, false);
    const ecdh: P.ECDH1 = {
      type: pkcs11js.CK_PARAMS_EC_DH,
      kdf: paramNumber(p, 'kdf', method),
      publicData: paramBytes(p, 'publicData', method, true) as Buffer,
      ...(sharedData !== undefined && { sharedData }),
    };
    return { mechanism: type, parameter: ecdh };
  }
  throw new Pkcs11Error(CKR_MECHANISM_PARAM_INVALID, method, 'parameter has an unknown shape');
}

/** pkcs11js reports a CK_RV as "CKR_NAME:decimal" in the message (and in `code` when it wraps it). */
const RV_PATTERN = /CKR_[A-Z0-9_]+:(\d+)/;

/**
 * Any error thrown by pkcs11js as a Pkcs11Error with the module's CK_RV. pkcs11js's argument checks
 * throw TypeErrors: those are the caller's arguments, CKR_ARGUMENTS_BAD.
 */
export function toPkcs11Error(e: unknown, method: string): Pkcs11Error {
  if (e instanceof Pkcs11Error) return e;
  if (isTypeError(e)) return new Pkcs11Error(CKR_ARGUMENTS_BAD, method, (e as Error).message);
  if (e instanceof Error) {
    const match = RV_PATTERN.exec(e.message) ?? RV_PATTERN.exec(e.stack ?? '');
    if (match?.[1] !== undefined) return new Pkcs11Error(Number(match[1]), method);
    const code = (e as { code?: unknown }).code;
    if (e.name === 'Pkcs11Error' && typeof code === 'number' && code > 0) return new Pkcs11Error(code, method);
    return new Pkcs11Error(CKR_GENERAL_ERROR, method, `${e.name}: ${e.message}`);
  }
  return new Pkcs11Error(CKR_GENERAL_ERROR, method, String(e));
}

