/** Validation and copying of attribute values by kind (attributeKind from @vhsm/pkcs11). */
import {
  attributeKind, ckaName, CKR_ARGUMENTS_BAD, CKR_ATTRIBUTE_VALUE_INVALID, CKR_TEMPLATE_INCONSISTENT,
} from '@vhsm/pkcs11';
import type { Attribute, AttributeValue } from '@vhsm/pkcs11';
import { CkrError, ckr } from '../errors.js';

const MAX_ULONG = 0xffffffff;
/** Large enough for any certificate or key; stops a caller from parking megabytes in attributes. */
export const MAX_ATTRIBUTE_BYTES = 1 << 20;
const MAX_TEMPLATE_LENGTH = 256;

export type AttributeMap = Map<number, AttributeValue>;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Check one value against its attribute's kind and return an owned copy. */
export function validateValue(type: number, value: unknown, nested = false): AttributeValue {
  const kind = attributeKind(type);
  const bad = (why: string) => ckr(CKR_ATTRIBUTE_VALUE_INVALID, `${ckaName(type)}: ${why}`);
  switch (kind) {
    case 'bool':
      if (typeof value !== 'boolean') throw bad(`expected a boolean, got ${describe(value)}`);
      return value;
    case 'ulong':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_ULONG) {
        throw bad(`expected an integer 0..2^32-1, got ${describe(value)}`);
      }
      return value === 0 ? 0 : value; // -0 is 0
    case 'string':
      if (typeof value === 'string') {
        if (value.length > MAX_ATTRIBUTE_BYTES) throw bad('too long');
        // A lone surrogate has no UTF-8 form: it would not survive being stored.
        if (LONE_SURROGATE.test(value)) throw bad('not well-formed Unicode (a lone surrogate)');
        return value;
      }
      if (value instanceof Uint8Array) return utf8(value, bad);
      throw bad(`expected a string, got ${describe(value)}`);
    case 'date': {
      const text = value instanceof Uint8Array ? utf8(value, bad) : value;
      if (typeof text !== 'string' || !(text === '' || /^\d{8}$/.test(text))) {
        throw bad('expected YYYYMMDD or empty');
      }
      return new TextEncoder().encode(text);
    }
    case 'attributes': {
      if (nested) throw bad('templates cannot nest');
      // A malformed nested template is a bad value of this attribute, not a bad argument of the call.
      if (!Array.isArray(value)) throw bad(`expected an array of attributes, got ${describe(value)}`);
      let inner: AttributeMap;
      try {
        inner = normalizeTemplate(value, true);
      } catch (e) {
        if (e instanceof CkrError && e.code === CKR_ARGUMENTS_BAD) throw bad(e.detail ?? 'malformed template');
        throw e;
      }
      return [...inner].map(([t, v]) => ({ type: t, value: v }));
    }
    case 'mechanisms':
      if (!Array.isArray(value) || value.length > MAX_TEMPLATE_LENGTH) throw bad('expected an array of CKM_ values');
      return value.map((m) => {
        if (typeof m !== 'number' || !Number.isInteger(m) || m < 0 || m > MAX_ULONG) throw bad('expected CKM_ values');
        return m;
      });
    case 'bytes':
      if (!(value instanceof Uint8Array)) throw bad(`expected a Uint8Array, got ${describe(value)}`);
      if (value.length > MAX_ATTRIBUTE_BYTES) throw bad('too long');
      return value.slice();
  }
}

/**
 * Turn a caller's template into a map of validated values. Every entry must carry a value; the same
 * type twice with different values is inconsistent.
 */
export function normalizeTemplate(template: unknown, nested = false): AttributeMap {
  const entries = templateEntries(template);
  const map: AttributeMap = new Map();
  for (const { type, value } of entries) {
    if (value === undefined) throw ckr(CKR_ATTRIBUTE_VALUE_INVALID, `${ckaName(type)}: no value`);
    const normalized = validateValue(type, value, nested);
    const previous = map.get(type);
    if (previous !== undefined && !valuesEqual(previous, normalized)) {
      throw ckr(CKR_TEMPLATE_INCONSISTENT, `${ckaName(type)} given twice with different values`);
    }
    map.set(type, normalized);
  }
  return map;
}

/** The shape of a template, for calls that read only the types (C_GetAttributeValue). */
export function templateEntries(template: unknown): { type: number; value: unknown }[] {
  if (!Array.isArray(template)) throw ckr(CKR_ARGUMENTS_BAD, 'template: expected an array');
  if (template.length > MAX_TEMPLATE_LENGTH) throw ckr(CKR_ARGUMENTS_BAD, 'template: too many attributes');
  return template.map((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null) throw ckr(CKR_ARGUMENTS_BAD, `template[${i}]: expected an object`);
    const type: unknown = Object.hasOwn(entry, 'type') ? (entry as Attribute).type : undefined;
    if (typeof type !== 'number' || !Number.isInteger(type) || type < 0 || type > MAX_ULONG) {
      throw ckr(CKR_ARGUMENTS_BAD, `template[${i}].type: expected a CKA_ number`);
    }
    const value: unknown = Object.hasOwn(entry, 'value') ? (entry as Attribute).value : undefined;
    return { type, value };
  });
}

export function valuesEqual(a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => {
      const y = b[i];
      if (typeof x === 'number') return x === y;
      return typeof y === 'object' && y !== null && !(y instanceof Uint8Array) &&
        !Array.isArray(y) && x.type === y.type && valuesEqual(x.value, y.value);
    });
  }
  return a === b;
}

/** A copy safe to hand to a caller (they may mutate it). */
export function copyValue(value: AttributeValue): AttributeValue {
  if (value instanceof Uint8Array) return value.slice();
  if (Array.isArray(value)) {
    return value.map((v) => (typeof v === 'number' ? v : { type: v.type, ...(v.value === undefined ? {} : { value: copyValue(v.value) }) })) as AttributeValue;
  }
  return value;
}

function utf8(bytes: Uint8Array, bad: (why: string) => Error): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw bad('not valid UTF-8');
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes';
  return typeof value;
}
