/**
 * A script written against /work/shared/CONTRACT.md alone: only `@vhsm/token`'s public exports and
 * the documented shapes. Init a token, set PINs, log in, generate AES, RSA and EC keys, encrypt,
 * sign, wrap, derive, read attributes — and check every output with Node's WebCrypto.
 */
import { webcrypto } from 'node:crypto';
import { expect, test } from 'vitest';
import {
  CKA_CLASS, CKA_DECRYPT, CKA_DERIVE, CKA_EC_PARAMS, CKA_EC_POINT, CKA_ENCRYPT, CKA_EXTRACTABLE,
  CKA_KEY_TYPE, CKA_LABEL, CKA_MODULUS, CKA_MODULUS_BITS, CKA_PRIVATE_EXPONENT, CKA_PUBLIC_EXPONENT, CKA_SENSITIVE, CKA_SIGN,
  CKA_TOKEN, CKA_UNWRAP, CKA_VALUE, CKA_VALUE_LEN, CKA_VERIFY, CKA_WRAP, CKD_NULL, CKF_RW_SESSION,
  CKF_SERIAL_SESSION, CKF_TOKEN_INITIALIZED, CKF_USER_PIN_INITIALIZED, CKG_MGF1_SHA256, CKK_AES,
  CKK_GENERIC_SECRET, CKM_AES_GCM, CKM_AES_KEY_GEN, CKM_AES_KEY_WRAP, CKM_ECDH1_DERIVE, CKM_ECDSA_SHA256,
  CKM_EC_KEY_PAIR_GEN, CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_PKCS_OAEP, CKM_SHA256, CKM_SHA256_RSA_PKCS_PSS,
  CKO_SECRET_KEY, CKR_ATTRIBUTE_SENSITIVE, CKR_USER_NOT_LOGGED_IN, CKU_SO, CKU_USER, Cryptoki, Pkcs11Error,
} from '@vhsm/token';

const subtle = webcrypto.subtle;
const encoder = new TextEncoder();
const P256 = new Uint8Array([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);

/** The uncompressed point inside CKA_EC_POINT's DER OCTET STRING (short form length). */
function pointOf(der: Uint8Array): Uint8Array {
  expect(der[0]).toBe(0x04);
  expect(der[1]).toBe(der.length - 2);
  return der.slice(2);
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

test('the CONTRACT.md walk-through, checked with Node WebCrypto', async () => {
  const p11 = new Cryptoki({ policy: 'spec', pbkdf2Iterations: 1000 });
  await p11.C_Initialize();
  const [slot] = await p11.C_GetSlotList(true);
  expect(typeof slot).toBe('number');
  const s = slot as number;

  // Token and PINs
  await p11.C_InitToken(s, 'so-pin-1234', 'contract');
  const session = await p11.C_OpenSession(s, CKF_SERIAL_SESSION | CKF_RW_SESSION);
  await p11.C_Login(session, CKU_SO, 'so-pin-1234');
  await p11.C_InitPIN(session, 'user-pin-0000');
  await p11.C_Logout(session);
  await p11.C_SetPIN(session, 'user-pin-0000', 'user-pin-1234');
  const info = await p11.C_GetTokenInfo(s);
  expect(info.label).toBe('contract');
  expect(info.flags & CKF_TOKEN_INITIALIZED).toBeTruthy();
  expect(info.flags & CKF_USER_PIN_INITIALIZED).toBeTruthy();
  expect(info.minPinLen).toBe(4);

  // A failure is a Pkcs11Error carrying the CK_RV, the CKR_ name and the function.
  const refused = await p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [{ type: CKA_VALUE_LEN, value: 32 }]).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(Pkcs11Error);
  expect((refused as Pkcs11Error).code).toBe(CKR_USER_NOT_LOGGED_IN);
  expect((refused as Pkcs11Error).message.startsWith('CKR_USER_NOT_LOGGED_IN')).toBe(true);
  expect((refused as Pkcs11Error).method).toBe('C_GenerateKey');
  await p11.C_Login(session, CKU_USER, 'user-pin-1234');
  expect((await p11.C_GetSessionInfo(session)).slotID).toBe(s);

  // AES: generate, encrypt with GCM, decrypt in Node (the key is readable on purpose).
  const aes = await p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [
    { type: CKA_VALUE_LEN, value: 32 }, { type: CKA_TOKEN, value: true }, { type: CKA_LABEL, value: 'aes' },
    { type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: true }, { type: CKA_SENSITIVE, value: false }, { type: CKA_EXTRACTABLE, value: true },
  ]);
  const iv = webcrypto.getRandomValues(new Uint8Array(12));
  const aad = encoder.encode('header');
  await p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv, aad, tagBits: 128 } }, aes);
  const ciphertext = await p11.C_Encrypt(session, encoder.encode('hello contract'));
  const [aesValue] = await p11.C_GetAttributeValue(session, aes, [{ type: CKA_VALUE }]);
  const nodeAes = await subtle.importKey('raw', aesValue?.value as Uint8Array, 'AES-GCM', false, ['decrypt']);
  expect(new TextDecoder().decode(await subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad }, nodeAes, ciphertext))).toBe('hello contract');

  // Attributes come back typed.
  const attributes = await p11.C_GetAttributeValue(session, aes, [{ type: CKA_CLASS }, { type: CKA_KEY_TYPE }, { type: CKA_LABEL }, { type: CKA_TOKEN }]);
  expect(attributes.map((a) => a.value)).toEqual([CKO_SECRET_KEY, CKK_AES, 'aes', true]);

  // RSA: generate, sign with PSS, verify in Node with CKA_MODULUS / CKA_PUBLIC_EXPONENT; OAEP too.
  const rsa = await p11.C_GenerateKeyPair(session, { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
    [{ type: CKA_MODULUS_BITS, value: 2048 }, { type: CKA_PUBLIC_EXPONENT, value: new Uint8Array([1, 0, 1]) }, { type: CKA_VERIFY, value: true }, { type: CKA_ENCRYPT, value: true }],
    [{ type: CKA_SIGN, value: true }, { type: CKA_DECRYPT, value: true }, { type: CKA_SENSITIVE, value: true }]);
  const [modulus, exponent] = (await p11.C_GetAttributeValue(session, rsa.publicKey, [{ type: CKA_MODULUS }, { type: CKA_PUBLIC_EXPONENT }])).map((a) => a.value as Uint8Array);
  const jwk = { kty: 'RSA', n: base64url(modulus as Uint8Array), e: base64url(exponent as Uint8Array) };
  const message = encoder.encode('signed by the token');
  await p11.C_SignInit(session, { mechanism: CKM_SHA256_RSA_PKCS_PSS, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, saltLen: 32 } }, rsa.privateKey);
  const pss = await p11.C_Sign(session, message);
  const nodePss = await subtle.importKey('jwk', jwk, { name: 'RSA-PSS', hash: 'SHA-256' }, false, ['verify']);
  expect(await subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, nodePss, pss, message)).toBe(true);
  const nodeOaep = await subtle.importKey('jwk', jwk, { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['encrypt']);
  const sealed = new Uint8Array(await subtle.encrypt({ name: 'RSA-OAEP' }, nodeOaep, encoder.encode('for the token')));
  await p11.C_DecryptInit(session, { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 } }, rsa.privateKey);
  expect(new TextDecoder().decode(await p11.C_Decrypt(session, sealed))).toBe('for the token');
  const sensitive = await p11.C_GetAttributeValue(session, rsa.privateKey, [{ type: CKA_PRIVATE_EXPONENT }]).catch((e: unknown) => e);
  expect((sensitive as Pkcs11Error).code).toBe(CKR_ATTRIBUTE_SENSITIVE);

  // EC: generate, sign with ECDSA (r||s), verify in Node with CKA_EC_POINT.
  const ec = await p11.C_GenerateKeyPair(session, { mechanism: CKM_EC_KEY_PAIR_GEN },
    [{ type: CKA_EC_PARAMS, value: P256 }, { type: CKA_VERIFY, value: true }],
    [{ type: CKA_SIGN, value: true }, { type: CKA_DERIVE, value: true }]);
  const [ecPoint] = await p11.C_GetAttributeValue(session, ec.publicKey, [{ type: CKA_EC_POINT }]);
  const point = pointOf(ecPoint?.value as Uint8Array);
  await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, ec.privateKey);
  const ecdsa = await p11.C_Sign(session, message);
  expect(ecdsa.length).toBe(64);
  const nodeEc = await subtle.importKey('raw', point, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  expect(await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, nodeEc, ecdsa, message)).toBe(true);
  await p11.C_VerifyInit(session, { mechanism: CKM_ECDSA_SHA256 }, ec.publicKey);
  expect(await p11.C_Verify(session, message, ecdsa)).toBe(true);
  await p11.C_VerifyInit(session, { mechanism: CKM_ECDSA_SHA256 }, ec.publicKey);
  expect(await p11.C_Verify(session, encoder.encode('something else'), ecdsa)).toBe(false);

  // Wrap: the AES key under a KEK with AES key wrap; Node unwraps it to the same key.
  const kek = await p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [
    { type: CKA_VALUE_LEN, value: 16 }, { type: CKA_WRAP, value: true }, { type: CKA_UNWRAP, value: true }, { type: CKA_EXTRACTABLE, value: true },
  ]);
  const wrapped = await p11.C_WrapKey(session, { mechanism: CKM_AES_KEY_WRAP }, kek, aes);
  const [kekValue] = await p11.C_GetAttributeValue(session, kek, [{ type: CKA_VALUE }]);
  const nodeKek = await subtle.importKey('raw', kekValue?.value as Uint8Array, 'AES-KW', false, ['unwrapKey']);
  const unwrappedInNode = await subtle.unwrapKey('raw', wrapped, nodeKek, 'AES-KW', 'AES-GCM', true, ['decrypt']);
  expect(new Uint8Array(await subtle.exportKey('raw', unwrappedInNode))).toEqual(aesValue?.value);
  const back = await p11.C_UnwrapKey(session, { mechanism: CKM_AES_KEY_WRAP }, kek, wrapped, [
    { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_DECRYPT, value: true },
  ]);
  await p11.C_DecryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv, aad } }, back);
  expect(new TextDecoder().decode(await p11.C_Decrypt(session, ciphertext))).toBe('hello contract');

  // Derive: ECDH with a Node key pair; both sides hold the same secret.
  const peer = await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']) as CryptoKeyPair;
  const peerPoint = new Uint8Array(await subtle.exportKey('raw', peer.publicKey));
  const shared = await p11.C_DeriveKey(session, { mechanism: CKM_ECDH1_DERIVE, parameter: { kdf: CKD_NULL, publicData: peerPoint } }, ec.privateKey, [
    { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET }, { type: CKA_VALUE_LEN, value: 32 },
    { type: CKA_SENSITIVE, value: false }, { type: CKA_EXTRACTABLE, value: true },
  ]);
  const [sharedValue] = await p11.C_GetAttributeValue(session, shared, [{ type: CKA_VALUE }]);
  const ourPublic = await subtle.importKey('raw', point, { name: 'ECDH', namedCurve: 'P-256' }, false, []);
  const nodeShared = new Uint8Array(await subtle.deriveBits({ name: 'ECDH', public: ourPublic }, peer.privateKey, 256));
  expect(sharedValue?.value).toEqual(nodeShared);

  // Digest, random, and the objects left on the token.
  await p11.C_DigestInit(session, { mechanism: CKM_SHA256 });
  expect(await p11.C_Digest(session, message)).toEqual(new Uint8Array(await subtle.digest('SHA-256', message)));
  expect((await p11.C_GenerateRandom(session, 16)).length).toBe(16);
  await p11.C_FindObjectsInit(session, [{ type: CKA_TOKEN, value: true }]);
  expect(await p11.C_FindObjects(session, 10)).toEqual([aes]);
  await p11.C_FindObjectsFinal(session);
  await p11.C_Logout(session);
  await p11.C_CloseSession(session);
  await p11.C_Finalize();
});
