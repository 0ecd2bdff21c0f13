// Key kinds the demo offers, their templates, and public keys as SPKI (DER built here from the
// token's public attributes: a public key is public, it may be handled in the page).
import {
  CKA_DECRYPT, CKA_DERIVE, CKA_EC_PARAMS, CKA_EC_POINT, CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_ID, CKA_KEY_TYPE,
  CKA_LABEL, CKA_MODULUS, CKA_MODULUS_BITS, CKA_PRIVATE, CKA_PUBLIC_EXPONENT, CKA_SENSITIVE, CKA_SIGN, CKA_TOKEN,
  CKA_UNWRAP, CKA_VALUE_LEN, CKA_VERIFY, CKA_WRAP, CKK_EC, CKK_EC_EDWARDS, CKK_RSA, CKM_AES_KEY_GEN,
  CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EC_KEY_PAIR_GEN, CKM_GENERIC_SECRET_KEY_GEN, CKM_RSA_PKCS_KEY_PAIR_GEN,
} from '@vhsm/pkcs11';
import type { CryptokiApiV3, Template } from '@vhsm/pkcs11';
import { fromHex, hex } from './format.js';

export type Usage = 'encrypt' | 'decrypt' | 'sign' | 'verify' | 'wrap' | 'unwrap' | 'derive';
export const USAGE_ATTRIBUTE: Record<Usage, number> = {
  encrypt: CKA_ENCRYPT, decrypt: CKA_DECRYPT, sign: CKA_SIGN, verify: CKA_VERIFY, wrap: CKA_WRAP, unwrap: CKA_UNWRAP, derive: CKA_DERIVE,
};
/** Which half of a pair holds each usage. */
const PUBLIC_USAGES: ReadonlySet<Usage> = new Set(['encrypt', 'verify', 'wrap']);

export interface KeyKind {
  id: string;
  name: string;
  mechanism: number;
  pair: boolean;
  usages: readonly Usage[];
  defaults: readonly Usage[];
  /** Attributes that fix the size or curve. */
  shape: { public?: Template; secret?: Template };
}

const CURVES = {
  'P-256': '06082a8648ce3d030107',
  'P-384': '06052b81040022',
  'P-521': '06052b81040023',
} as const;
const ED25519_PARAMS = '06032b6570';

export const KEY_KINDS: readonly KeyKind[] = [
  ...(['P-256', 'P-384', 'P-521'] as const).map((curve): KeyKind => ({
    id: `ec-${curve}`, name: `EC ${curve}`, mechanism: CKM_EC_KEY_PAIR_GEN, pair: true,
    usages: ['sign', 'verify', 'derive'], defaults: ['sign', 'verify'],
    shape: { public: [{ type: CKA_EC_PARAMS, value: fromHex(CURVES[curve]) }] },
  })),
  {
    id: 'ed25519', name: 'Ed25519', mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN, pair: true,
    usages: ['sign', 'verify'], defaults: ['sign', 'verify'], shape: { public: [{ type: CKA_EC_PARAMS, value: fromHex(ED25519_PARAMS) }] },
  },
  ...([2048, 3072] as const).map((bits): KeyKind => ({
    id: `rsa-${bits}`, name: `RSA ${bits}`, mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN, pair: true,
    usages: ['sign', 'verify', 'encrypt', 'decrypt', 'wrap', 'unwrap'], defaults: ['sign', 'verify'],
    shape: { public: [{ type: CKA_MODULUS_BITS, value: bits }, { type: CKA_PUBLIC_EXPONENT, value: fromHex('010001') }] },
  })),
  ...([256, 128] as const).map((bits): KeyKind => ({
    id: `aes-${bits}`, name: `AES-${bits}`, mechanism: CKM_AES_KEY_GEN, pair: false,
    usages: ['encrypt', 'decrypt', 'wrap', 'unwrap', 'derive'], defaults: ['encrypt', 'decrypt'],
    shape: { secret: [{ type: CKA_VALUE_LEN, value: bits / 8 }] },
  })),
  {
    id: 'hmac-256', name: 'Generic secret (HMAC, 256 bits)', mechanism: CKM_GENERIC_SECRET_KEY_GEN, pair: false,
    usages: ['sign', 'verify', 'derive'], defaults: ['sign', 'verify'], shape: { secret: [{ type: CKA_VALUE_LEN, value: 32 }] },
  },
];

export interface KeyOptions {
  label: string;
  id: Uint8Array;
  token: boolean;
  private: boolean;
  sensitive: boolean;
  extractable: boolean;
  usages: ReadonlySet<Usage>;
}

/** Generates a key or key pair of `kind`; resolves the new handles. */
export async function generate(p: CryptokiApiV3, session: number, kind: KeyKind, o: KeyOptions): Promise<number[]> {
  const common: Template = [{ type: CKA_LABEL, value: o.label }, { type: CKA_ID, value: o.id }, { type: CKA_TOKEN, value: o.token }];
  const protect: Template = [{ type: CKA_PRIVATE, value: o.private }, { type: CKA_SENSITIVE, value: o.sensitive }, { type: CKA_EXTRACTABLE, value: o.extractable }];
  const flags = (half: 'public' | 'private' | 'secret'): Template =>
    kind.usages
      .filter((u) => half === 'secret' || (half === 'public') === PUBLIC_USAGES.has(u))
      .map((u) => ({ type: USAGE_ATTRIBUTE[u], value: o.usages.has(u) }));
  if (!kind.pair) {
    return [await p.C_GenerateKey(session, { mechanism: kind.mechanism }, [...common, ...protect, ...flags('secret'), ...(kind.shape.secret ?? [])])];
  }
  const pair = await p.C_GenerateKeyPair(
    session, { mechanism: kind.mechanism },
    [...common, { type: CKA_PRIVATE, value: false }, ...flags('public'), ...(kind.shape.public ?? [])],
    [...common, ...protect, ...flags('private')],
  );
  return [pair.publicKey, pair.privateKey];
}

// --- DER, just enough for SubjectPublicKeyInfo ---------------------------------------------

function tlv(tag: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Uint8Array.from([tag, ...len, ...body]);
}
const seq = (...parts: Uint8Array[]): Uint8Array => tlv(0x30, concat(parts));
const bitString = (bytes: Uint8Array): Uint8Array => tlv(0x03, concat([Uint8Array.of(0), bytes]));
const integer = (bytes: Uint8Array): Uint8Array => {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1] ?? 0) < 0x80) b = b.subarray(1);
  return tlv(0x02, (b[0] ?? 0) >= 0x80 ? concat([Uint8Array.of(0), b]) : b);
};

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** CKA_EC_POINT is a DER OCTET STRING around the point; some tokens store the bare point. */
export function unwrapOctetString(value: Uint8Array): Uint8Array {
  if (value[0] !== 0x04) return value;
  const first = value[1] ?? 0;
  const header = first < 0x80 ? 2 : 2 + (first & 0x7f);
  const length = first < 0x80 ? first : Array.from(value.subarray(2, header)).reduce((n, b) => n * 256 + b, 0);
  return header + length === value.length ? value.subarray(header) : value;
}

const OID_EC_PUBLIC_KEY = fromHex('06072a8648ce3d0201');
const OID_RSA = fromHex('06092a864886f70d010101');
const DER_NULL = fromHex('0500');

export interface PublicKeyExport {
  spki: Uint8Array;
  /** WebCrypto's import parameters for this key, for JWK export and verification in the page. */
  algorithm: RsaHashedImportParams | EcKeyImportParams | Algorithm;
  /** What x509 signs with. */
  signing: Algorithm | EcdsaParams | RsaHashedImportParams;
}

/** SubjectPublicKeyInfo of a public key object. */
export async function publicKeyInfo(p: CryptokiApiV3, session: number, handle: number): Promise<PublicKeyExport> {
  const [typeAttr] = await p.C_GetAttributeValue(session, handle, [{ type: CKA_KEY_TYPE }]);
  const keyType = typeAttr?.value;
  if (keyType === CKK_RSA) {
    const [n, e] = await p.C_GetAttributeValue(session, handle, [{ type: CKA_MODULUS }, { type: CKA_PUBLIC_EXPONENT }]);
    const key = seq(integer(n?.value as Uint8Array), integer(e?.value as Uint8Array));
    const hash = { name: 'SHA-256' };
    return {
      spki: seq(seq(OID_RSA, DER_NULL), bitString(key)),
      algorithm: { name: 'RSASSA-PKCS1-v1_5', hash }, signing: { name: 'RSASSA-PKCS1-v1_5', hash },
    };
  }
  const [params, point] = await p.C_GetAttributeValue(session, handle, [{ type: CKA_EC_PARAMS }, { type: CKA_EC_POINT }]);
  const raw = unwrapOctetString(point?.value as Uint8Array);
  if (keyType === CKK_EC_EDWARDS) {
    return { spki: seq(seq(fromHex(ED25519_PARAMS)), bitString(raw)), algorithm: { name: 'Ed25519' }, signing: { name: 'Ed25519' } };
  }
  if (keyType === CKK_EC) {
    const curveHex = hex(params?.value as Uint8Array);
    const namedCurve = Object.entries(CURVES).find(([, oid]) => oid === curveHex)?.[0];
    if (namedCurve === undefined) throw new Error(`unsupported curve ${curveHex}`);
    const hash = { 'P-256': 'SHA-256', 'P-384': 'SHA-384', 'P-521': 'SHA-512' }[namedCurve];
    return {
      spki: seq(seq(OID_EC_PUBLIC_KEY, params?.value as Uint8Array), bitString(raw)),
      algorithm: { name: 'ECDSA', namedCurve }, signing: { name: 'ECDSA', hash: { name: hash } } as EcdsaParams,
    };
  }
  throw new Error('not a public key the demo can export');
}
