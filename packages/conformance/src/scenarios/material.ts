/** Key material shared by both backends of a run, so deterministic outputs can be compared byte for byte. */
import {
  CKA_CLASS,
  CKA_COEFFICIENT,
  CKA_DECRYPT,
  CKA_ENCRYPT,
  CKA_EXPONENT_1,
  CKA_EXPONENT_2,
  CKA_KEY_TYPE,
  CKA_MODULUS,
  CKA_PRIME_1,
  CKA_PRIME_2,
  CKA_PRIVATE_EXPONENT,
  CKA_PUBLIC_EXPONENT,
  CKA_SIGN,
  CKA_TOKEN,
  CKA_VALUE,
  CKA_VERIFY,
  CKK_AES,
  CKK_GENERIC_SECRET,
  CKK_RSA,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKO_SECRET_KEY,
} from '@vhsm/pkcs11';
import type { Attribute, Template } from '@vhsm/pkcs11';

/** Deterministic filler bytes. */
export function bytes(n: number, seed: number): Uint8Array<ArrayBuffer> {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + 1) & 0xff);
}

export const AES_KEY = bytes(32, 1);
export const HMAC_KEY = bytes(32, 2);
/** DER OID of P-256, CKA_EC_PARAMS. */
export const P256 = new Uint8Array([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);

/** `extra` overrides: a template naming one attribute twice is CKR_TEMPLATE_INCONSISTENT in the spec. */
export function secretKey(keyType: number, value: Uint8Array, extra: Template = []): Template {
  return withOverrides([
    { type: CKA_CLASS, value: CKO_SECRET_KEY },
    { type: CKA_KEY_TYPE, value: keyType },
    { type: CKA_TOKEN, value: false },
    { type: CKA_VALUE, value },
  ], extra);
}

function withOverrides(base: Template, extra: Template): Template {
  const overridden = new Set(extra.map((a) => a.type));
  return [...base.filter((a) => !overridden.has(a.type)), ...extra];
}

export const aesKey = (extra: Template = []): Template =>
  secretKey(CKK_AES, AES_KEY, withOverrides([{ type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: true }], extra));

export const hmacKey = (): Template =>
  secretKey(CKK_GENERIC_SECRET, HMAC_KEY, [{ type: CKA_SIGN, value: true }, { type: CKA_VERIFY, value: true }]);

let rsa: Promise<JsonWebKey> | undefined;

/** One RSA-2048 key per process (WebCrypto), imported into every backend of the run. */
export function rsaJwk(): Promise<JsonWebKey> {
  rsa ??= (async () => {
    const pair = (await crypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    return crypto.subtle.exportKey('jwk', pair.privateKey);
  })();
  return rsa;
}

/** base64url → bytes without Buffer, so the suite also runs in a browser. */
const b64 = (s: string | undefined): Uint8Array =>
  Uint8Array.from(atob((s ?? '').replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

export async function rsaPrivate(extra: Template = []): Promise<Template> {
  const k = await rsaJwk();
  return [
    { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
    { type: CKA_KEY_TYPE, value: CKK_RSA },
    { type: CKA_TOKEN, value: false },
    { type: CKA_MODULUS, value: b64(k.n) },
    { type: CKA_PUBLIC_EXPONENT, value: b64(k.e) },
    { type: CKA_PRIVATE_EXPONENT, value: b64(k.d) },
    { type: CKA_PRIME_1, value: b64(k.p) },
    { type: CKA_PRIME_2, value: b64(k.q) },
    { type: CKA_EXPONENT_1, value: b64(k.dp) },
    { type: CKA_EXPONENT_2, value: b64(k.dq) },
    { type: CKA_COEFFICIENT, value: b64(k.qi) },
    ...extra,
  ];
}

export async function rsaPublic(extra: Template = []): Promise<Template> {
  const k = await rsaJwk();
  return [
    { type: CKA_CLASS, value: CKO_PUBLIC_KEY },
    { type: CKA_KEY_TYPE, value: CKK_RSA },
    { type: CKA_TOKEN, value: false },
    { type: CKA_MODULUS, value: b64(k.n) },
    { type: CKA_PUBLIC_EXPONENT, value: b64(k.e) },
    ...extra,
  ];
}

/** The raw uncompressed point inside a CKA_EC_POINT (a DER OCTET STRING), for WebCrypto's importKey('raw'). */
export function ecPoint([attr]: Attribute[]): Uint8Array<ArrayBuffer> {
  const der = attr?.value;
  if (!(der instanceof Uint8Array) || der.length < 3) throw new Error('no CKA_EC_POINT');
  return new Uint8Array(der.subarray(2));
}
