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
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKK_AES,
  CKK_EC_EDWARDS,
  CKK_GENERIC_SECRET,
  CKK_RSA,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKO_SECRET_KEY,
  CKM_ECDSA,
  CKM_ECDSA_SHA256,
} from '@vhsm/pkcs11';
import type { Attribute, CryptokiApi, Mechanism, Template } from '@vhsm/pkcs11';
import { ED25519, RSA_JWK } from './keys.js';

/** Deterministic filler bytes. */
export function bytes(n: number, seed: number): Uint8Array<ArrayBuffer> {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + 1) & 0xff);
}

export const AES_KEY = bytes(32, 1);
export const HMAC_KEY = bytes(32, 2);
/** DER OID of P-256, CKA_EC_PARAMS. */
export const P256 = new Uint8Array([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
/** DER OID of Ed25519 (1.3.101.112), CKA_EC_PARAMS of a CKK_EC_EDWARDS key. */
export const ED25519_OID = new Uint8Array([0x06, 0x03, 0x2b, 0x65, 0x70]);

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

/** base64url → bytes without Buffer, so the suite also runs in a browser. */
export const b64 = (s: string): Uint8Array<ArrayBuffer> =>
  Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

export function rsaPrivate(extra: Template = []): Template {
  const k = RSA_JWK;
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

export function rsaPublic(extra: Template = []): Template {
  const k = RSA_JWK;
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

/** CKA_EC_POINT of a raw public key: the DER OCTET STRING around it (short form: up to 127 bytes). */
export function octetString(raw: Uint8Array): Uint8Array<ArrayBuffer> {
  return Uint8Array.from([0x04, raw.length, ...raw]);
}

export function ed25519Private(extra: Template = []): Template {
  return [
    { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
    { type: CKA_KEY_TYPE, value: CKK_EC_EDWARDS },
    { type: CKA_TOKEN, value: false },
    { type: CKA_EC_PARAMS, value: ED25519_OID },
    { type: CKA_VALUE, value: b64(ED25519.d) },
    ...extra,
  ];
}

export function ed25519Public(extra: Template = []): Template {
  return [
    { type: CKA_CLASS, value: CKO_PUBLIC_KEY },
    { type: CKA_KEY_TYPE, value: CKK_EC_EDWARDS },
    { type: CKA_TOKEN, value: false },
    { type: CKA_EC_PARAMS, value: ED25519_OID },
    { type: CKA_EC_POINT, value: octetString(b64(ED25519.x)) },
    ...extra,
  ];
}

/**
 * ECDSA with SHA-256 as the backend offers it: CKM_ECDSA_SHA256 over the message (vhsm: WebCrypto's
 * ECDSA hashes the message itself, so it has no raw CKM_ECDSA), else CKM_ECDSA over the message's
 * SHA-256 digest (SoftHSM2 2.6.1 has no CKM_ECDSA_SHA256). Both sign the same value, so each
 * backend verifies the other's signatures.
 */
export async function ecdsaSha256(p11: CryptokiApi, slot: number, message: Uint8Array<ArrayBuffer>): Promise<{ mechanism: Mechanism; input: Uint8Array }> {
  if ((await p11.C_GetMechanismList(slot)).includes(CKM_ECDSA_SHA256)) return { mechanism: { mechanism: CKM_ECDSA_SHA256 }, input: message };
  return { mechanism: { mechanism: CKM_ECDSA }, input: new Uint8Array(await crypto.subtle.digest('SHA-256', message)) };
}
