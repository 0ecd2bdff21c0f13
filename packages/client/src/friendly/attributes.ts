/**
 * The one table of friendly attribute names: name ↔ CKA_ code, the value's kind coming from
 * @vhsm/pkcs11's attributeKind. Enumerated attributes (class, keyType) also name their values;
 * `half` says which half of a key pair an attribute given for both halves belongs to.
 */
import {
  attributeKind, ckaName, CKA_ALLOWED_MECHANISMS, CKA_ALWAYS_AUTHENTICATE, CKA_ALWAYS_SENSITIVE, CKA_APPLICATION,
  CKA_CERTIFICATE_CATEGORY, CKA_CERTIFICATE_TYPE, CKA_CHECK_VALUE, CKA_CLASS, CKA_COPYABLE, CKA_DECRYPT, CKA_DERIVE,
  CKA_DERIVE_TEMPLATE, CKA_DESTROYABLE, CKA_EC_PARAMS, CKA_EC_POINT, CKA_ENCRYPT, CKA_END_DATE, CKA_EXTRACTABLE,
  CKA_ID, CKA_ISSUER, CKA_KEY_GEN_MECHANISM, CKA_KEY_TYPE, CKA_LABEL, CKA_LOCAL, CKA_MODIFIABLE, CKA_MODULUS,
  CKA_MODULUS_BITS, CKA_NEVER_EXTRACTABLE, CKA_OBJECT_ID, CKA_PRIVATE, CKA_PUBLIC_EXPONENT, CKA_PUBLIC_KEY_INFO,
  CKA_SENSITIVE, CKA_SERIAL_NUMBER, CKA_SIGN, CKA_SIGN_RECOVER, CKA_START_DATE, CKA_SUBJECT, CKA_TOKEN,
  CKA_TRUSTED, CKA_UNIQUE_ID, CKA_UNWRAP, CKA_UNWRAP_TEMPLATE, CKA_URL, CKA_VALUE, CKA_VALUE_LEN, CKA_VERIFY,
  CKA_VERIFY_RECOVER, CKA_WRAP, CKA_WRAP_TEMPLATE, CKA_WRAP_WITH_TRUSTED, CKR_ATTRIBUTE_TYPE_INVALID,
  CKR_ATTRIBUTE_VALUE_INVALID, Pkcs11Error,
} from '@vhsm/pkcs11';
import type { ATTRIBUTE_KIND_TABLE, Attribute, AttributeKind, AttributeValue, Template } from '@vhsm/pkcs11';
import { KEY_TYPES, OBJECT_CLASSES, nameOf } from './names.js';

interface AttributeEntry {
  readonly type: number;
  /** Names for the values of an enumerated CK_ULONG attribute. */
  readonly names?: Readonly<Record<string, number>>;
  /** In options shared by both halves of a key pair, the half this attribute goes to (else both). */
  readonly half?: 'public' | 'private';
}

export const ATTRIBUTES = {
  class: { type: CKA_CLASS, names: OBJECT_CLASSES },
  keyType: { type: CKA_KEY_TYPE, names: KEY_TYPES },
  token: { type: CKA_TOKEN },
  private: { type: CKA_PRIVATE },
  label: { type: CKA_LABEL },
  id: { type: CKA_ID },
  application: { type: CKA_APPLICATION },
  objectId: { type: CKA_OBJECT_ID },
  uniqueId: { type: CKA_UNIQUE_ID },
  value: { type: CKA_VALUE },
  valueLen: { type: CKA_VALUE_LEN },
  checkValue: { type: CKA_CHECK_VALUE },
  modifiable: { type: CKA_MODIFIABLE },
  copyable: { type: CKA_COPYABLE },
  destroyable: { type: CKA_DESTROYABLE },
  startDate: { type: CKA_START_DATE },
  endDate: { type: CKA_END_DATE },
  subject: { type: CKA_SUBJECT },
  issuer: { type: CKA_ISSUER },
  serialNumber: { type: CKA_SERIAL_NUMBER },
  certificateType: { type: CKA_CERTIFICATE_TYPE },
  certificateCategory: { type: CKA_CERTIFICATE_CATEGORY },
  url: { type: CKA_URL },
  local: { type: CKA_LOCAL },
  keyGenMechanism: { type: CKA_KEY_GEN_MECHANISM },
  allowedMechanisms: { type: CKA_ALLOWED_MECHANISMS },
  encrypt: { type: CKA_ENCRYPT, half: 'public' },
  decrypt: { type: CKA_DECRYPT, half: 'private' },
  sign: { type: CKA_SIGN, half: 'private' },
  signRecover: { type: CKA_SIGN_RECOVER, half: 'private' },
  verify: { type: CKA_VERIFY, half: 'public' },
  verifyRecover: { type: CKA_VERIFY_RECOVER, half: 'public' },
  wrap: { type: CKA_WRAP, half: 'public' },
  unwrap: { type: CKA_UNWRAP, half: 'private' },
  derive: { type: CKA_DERIVE, half: 'private' },
  sensitive: { type: CKA_SENSITIVE, half: 'private' },
  extractable: { type: CKA_EXTRACTABLE, half: 'private' },
  alwaysSensitive: { type: CKA_ALWAYS_SENSITIVE, half: 'private' },
  neverExtractable: { type: CKA_NEVER_EXTRACTABLE, half: 'private' },
  alwaysAuthenticate: { type: CKA_ALWAYS_AUTHENTICATE, half: 'private' },
  wrapWithTrusted: { type: CKA_WRAP_WITH_TRUSTED, half: 'private' },
  trusted: { type: CKA_TRUSTED, half: 'public' },
  wrapTemplate: { type: CKA_WRAP_TEMPLATE, half: 'public' },
  unwrapTemplate: { type: CKA_UNWRAP_TEMPLATE, half: 'private' },
  deriveTemplate: { type: CKA_DERIVE_TEMPLATE, half: 'private' },
  modulus: { type: CKA_MODULUS },
  modulusBits: { type: CKA_MODULUS_BITS, half: 'public' },
  publicExponent: { type: CKA_PUBLIC_EXPONENT, half: 'public' },
  ecParams: { type: CKA_EC_PARAMS, half: 'public' },
  ecPoint: { type: CKA_EC_POINT },
  publicKeyInfo: { type: CKA_PUBLIC_KEY_INFO },
} as const satisfies Readonly<Record<string, AttributeEntry>>;

type Table = typeof ATTRIBUTES;
export type AttributeName = keyof Table;

type KindOf<T> = { [K in AttributeKind]: T extends (typeof ATTRIBUTE_KIND_TABLE)[K][number] ? K : never }[AttributeKind];

/** The friendly value of each kind: dates as 'YYYYMMDD' (or ''), nested templates friendly too. */
export interface FriendlyKindValues {
  bool: boolean;
  ulong: number;
  string: string;
  bytes: Uint8Array;
  date: string;
  attributes: FriendlyAttributes;
  mechanisms: number[];
}

/** The value type of attribute `N`: `FriendlyValue<'label'>` is string, `'class'` a class name. */
export type FriendlyValue<N extends AttributeName> = Table[N] extends { names: infer M }
  ? (keyof M & string) | number
  : FriendlyKindValues[KindOf<Table[N]['type']>];

/** A template by friendly names: `{ label: 'k', sensitive: true, class: 'secret-key' }`. */
export type FriendlyAttributes = { [N in AttributeName]?: FriendlyValue<N> };

/** What `SessionObject.get(names)` resolves: every asked attribute, typed. */
export type AttributeRecord<N extends AttributeName> = { [K in N]: FriendlyValue<K> };

const NAME_BY_TYPE: ReadonlyMap<number, AttributeName> = new Map(
  (Object.keys(ATTRIBUTES) as AttributeName[]).map((name) => [ATTRIBUTES[name].type, name]),
);

function invalid(method: string, detail: string): never {
  throw new Pkcs11Error(CKR_ATTRIBUTE_VALUE_INVALID, method, detail);
}

interface Codec {
  encode(value: unknown, field: string, method: string): AttributeValue;
  decode(value: AttributeValue): unknown;
}

const isUlong = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
const identity = (value: AttributeValue): unknown => value;

/** Encoding and decoding per kind; values are checked here so a JS caller gets a precise CK_RV. */
const CODECS: { readonly [K in AttributeKind]: Codec } = {
  bool: {
    encode: (v, field, method) => (typeof v === 'boolean' ? v : invalid(method, `${field}: expected a boolean`)),
    decode: identity,
  },
  ulong: {
    encode: (v, field, method) => (isUlong(v) ? v : invalid(method, `${field}: expected an integer from 0 to 0xFFFFFFFF`)),
    decode: identity,
  },
  string: {
    encode: (v, field, method) => (typeof v === 'string' ? v : invalid(method, `${field}: expected a string`)),
    decode: identity,
  },
  bytes: {
    encode: (v, field, method) => (v instanceof Uint8Array ? v : invalid(method, `${field}: expected a Uint8Array`)),
    decode: identity,
  },
  date: {
    encode: (v, field, method) =>
      typeof v === 'string' && /^(\d{8})?$/.test(v) ? new TextEncoder().encode(v) : invalid(method, `${field}: expected 'YYYYMMDD' or ''`),
    decode: (value) => new TextDecoder().decode(value as Uint8Array),
  },
  attributes: {
    encode: (v, field, method) =>
      typeof v === 'object' && v !== null && !Array.isArray(v) ? encodeTemplate(v as FriendlyAttributes, method) : invalid(method, `${field}: expected an object of attributes`),
    decode: (value) => decodeTemplate(value as Attribute[]),
  },
  mechanisms: {
    encode: (v, field, method) =>
      Array.isArray(v) && v.every(isUlong) ? [...v] : invalid(method, `${field}: expected an array of mechanism numbers`),
    decode: identity,
  },
};

function entryOf(name: string, method: string): AttributeEntry {
  if (!Object.hasOwn(ATTRIBUTES, name)) throw new Pkcs11Error(CKR_ATTRIBUTE_TYPE_INVALID, method, `unknown attribute ${name}`);
  return ATTRIBUTES[name as AttributeName];
}

function encodeValue(name: string, entry: AttributeEntry, value: unknown, method: string): AttributeValue {
  if (entry.names !== undefined && typeof value === 'string') {
    return Object.hasOwn(entry.names, value) ? (entry.names[value] as number) : invalid(method, `${name}: unknown name ${value}`);
  }
  return CODECS[attributeKind(entry.type)].encode(value, name, method);
}

/** `{ label: 'k', sensitive: true }` → `[{ type: CKA_LABEL, value: 'k' }, …]`; undefined values are left out. */
export function encodeTemplate(attributes: FriendlyAttributes, method: string): Template {
  const template: Template = [];
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    const entry = entryOf(name, method);
    template.push({ type: entry.type, value: encodeValue(name, entry, value, method) });
  }
  return template;
}

/** The CKA_ codes of `names`, for C_GetAttributeValue. */
export function attributeTypes(names: readonly string[], method: string): Template {
  return names.map((name) => ({ type: entryOf(name, method).type }));
}

/** Attributes from the token → a friendly record. Types without a friendly name keep their CKA_ name. */
export function decodeTemplate(attributes: readonly Attribute[]): FriendlyAttributes {
  const out: Record<string, unknown> = {};
  for (const { type, value } of attributes) {
    if (value === undefined) continue;
    const name = NAME_BY_TYPE.get(type);
    if (name === undefined) {
      out[ckaName(type)] = value;
      continue;
    }
    const entry: AttributeEntry = ATTRIBUTES[name];
    out[name] = entry.names !== undefined ? nameOf(entry.names, value as number) : CODECS[attributeKind(type)].decode(value);
  }
  return out as FriendlyAttributes;
}

/** Splits options given for a whole key pair into the public and private halves' attributes. */
export function splitPair(shared: FriendlyAttributes, method: string): { public: FriendlyAttributes; private: FriendlyAttributes } {
  const halves: { public: Record<string, unknown>; private: Record<string, unknown> } = { public: {}, private: {} };
  for (const [name, value] of Object.entries(shared)) {
    const { half } = entryOf(name, method);
    if (half !== 'private') halves.public[name] = value;
    if (half !== 'public') halves.private[name] = value;
  }
  return halves as { public: FriendlyAttributes; private: FriendlyAttributes };
}
