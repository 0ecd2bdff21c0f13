/** Shared set-up for the engine's chapter tests. */
import { expect } from 'vitest';
import {
  CKA_EC_PARAMS, CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT, CKA_VALUE_LEN, CKF_RW_SESSION,
  CKF_SERIAL_SESSION, CKM_AES_KEY_GEN, CKM_EC_KEY_PAIR_GEN, CKM_RSA_PKCS_KEY_PAIR_GEN, CKU_SO,
  CKU_USER, Cryptoki, isPkcs11Error, ckrName,
} from '@vhsm/token';
import type { CryptokiOptions, Template } from '@vhsm/token';

export const SO_PIN = 'so-secret-1';
export const USER_PIN = 'user-pin-1';
export const RW = CKF_SERIAL_SESSION | CKF_RW_SESSION;
export const RO = CKF_SERIAL_SESSION;

/** A Cryptoki with fast PBKDF2 (tests only) and the given policy. */
export function newCryptoki(options: CryptokiOptions = {}): Cryptoki {
  return new Cryptoki({ pbkdf2Iterations: 1000, policy: 'spec', ...options });
}

/** Initialized token with a user PIN; returns an open R/W session, not logged in. */
export async function readyToken(options: CryptokiOptions = {}): Promise<{ p11: Cryptoki; slot: number; session: number }> {
  const p11 = newCryptoki(options);
  await p11.C_Initialize();
  const [slot] = await p11.C_GetSlotList(true);
  await p11.C_InitToken(slot as number, SO_PIN, 'test token');
  const so = await p11.C_OpenSession(slot as number, RW);
  await p11.C_Login(so, CKU_SO, SO_PIN);
  await p11.C_InitPIN(so, USER_PIN);
  await p11.C_Logout(so);
  await p11.C_CloseSession(so);
  const session = await p11.C_OpenSession(slot as number, RW);
  return { p11, slot: slot as number, session };
}

export async function userSession(options: CryptokiOptions = {}) {
  const t = await readyToken(options);
  await t.p11.C_Login(t.session, CKU_USER, USER_PIN);
  return t;
}

/** Expect a promise to reject with this CK_RV (by name, for readable failures). */
export async function expectRv(promise: Promise<unknown>, code: number): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${ckrName(code)}`).toBeDefined();
  expect(isPkcs11Error(error), `not a Pkcs11Error: ${String(error)}`).toBe(true);
  const e = error as { code: number; message: string };
  expect(ckrName(e.code), e.message).toBe(ckrName(code));
  expect(e.message.startsWith(ckrName(code))).toBe(true);
}

/** DER OIDs of the named curves, as CKA_EC_PARAMS carries them. */
export const P256_PARAMS = new Uint8Array([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
export const P384_PARAMS = new Uint8Array([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]);
export const ED25519_PARAMS = new Uint8Array([0x06, 0x03, 0x2b, 0x65, 0x70]);

/** A session AES key (public session object unless the template says otherwise). */
export function generateAes(p11: Cryptoki, session: number, template: Template = [], bytes = 32): Promise<number> {
  return p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [{ type: CKA_VALUE_LEN, value: bytes }, ...template]);
}

/** A P-256 key pair; the templates are appended to the defaults. */
export function generateEc(p11: Cryptoki, session: number, publicTemplate: Template = [], privateTemplate: Template = [], params = P256_PARAMS) {
  return p11.C_GenerateKeyPair(session, { mechanism: CKM_EC_KEY_PAIR_GEN }, [{ type: CKA_EC_PARAMS, value: params }, ...publicTemplate], privateTemplate);
}

/** A 2048-bit RSA key pair with e = 65537. */
export function generateRsa(p11: Cryptoki, session: number, publicTemplate: Template = [], privateTemplate: Template = [], bits = 2048) {
  return p11.C_GenerateKeyPair(session, { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
    [{ type: CKA_MODULUS_BITS, value: bits }, { type: CKA_PUBLIC_EXPONENT, value: new Uint8Array([1, 0, 1]) }, ...publicTemplate], privateTemplate);
}

/** One attribute's value. */
export async function attr(p11: Cryptoki, session: number, object: number, type: number): Promise<unknown> {
  const [a] = await p11.C_GetAttributeValue(session, object, [{ type }]);
  return a?.value;
}

/** Every handle a search finds. */
export async function findAll(p11: Cryptoki, session: number, template: Template = []): Promise<number[]> {
  await p11.C_FindObjectsInit(session, template);
  const found = await p11.C_FindObjects(session);
  await p11.C_FindObjectsFinal(session);
  return found;
}

/** The bytes of an EC point from CKA_EC_POINT (DER OCTET STRING of the uncompressed point). */
export function ecPointBytes(der: Uint8Array): Uint8Array {
  expect(der[0]).toBe(0x04);
  const lengthByte = der[1] as number;
  const offset = lengthByte & 0x80 ? 2 + (lengthByte & 0x7f) : 2;
  return der.slice(offset);
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** An RSA public key as Node's WebCrypto sees it, from CKA_MODULUS and CKA_PUBLIC_EXPONENT. */
export function rsaPublicJwk(modulus: Uint8Array, exponent: Uint8Array): JsonWebKey {
  const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  return { kty: 'RSA', n: b64u(modulus), e: b64u(exponent), ext: true };
}

/** Concatenate byte strings. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

/** Bytes from hex. */
export function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}
