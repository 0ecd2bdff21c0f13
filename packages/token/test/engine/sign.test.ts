/**
 * Signing and verifying (PKCS#11 v3.0 §5.13–5.16, message-based §5.17): every signature made here
 * verifies in Node's WebCrypto with the public key read through CKA_EC_POINT or CKA_MODULUS, and
 * the other way round; multi-part equals one-shot; the operation rules.
 */
import { webcrypto } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  CKA_CLASS, CKA_EC_PARAMS, CKA_EC_POINT, CKA_KEY_TYPE, CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_SIGN,
  CKA_VALUE, CKA_VERIFY, CKG_MGF1_SHA1, CKG_MGF1_SHA256, CKK_EC, CKK_GENERIC_SECRET, CKK_SHA256_HMAC,
  CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA, CKM_SHA256,
  CKM_SHA256_HMAC, CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384_HMAC, CKM_SHA512_RSA_PKCS,
  CKM_AES_GCM, CKO_PUBLIC_KEY, CKO_SECRET_KEY, CKR_ARGUMENTS_BAD, CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_TYPE_INCONSISTENT,
  CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID, CKR_OPERATION_ACTIVE, CKR_OPERATION_NOT_INITIALIZED,
  CKR_FUNCTION_NOT_SUPPORTED,
} from '@vhsm/token';
import type { Cryptoki, Mechanism, Template } from '@vhsm/token';
import {
  ED25519_PARAMS, P384_PARAMS, attr, bytes, concatBytes, ecPointBytes, expectRv, generateAes, generateEc,
  generateRsa, hex, rsaPublicJwk, userSession,
} from './helpers.js';

const subtle = webcrypto.subtle;
const DATA = bytes('what is signed here is verified in Node, and what Node signs verifies here');

async function sign(p11: Cryptoki, session: number, mechanism: Mechanism, key: number, data = DATA) {
  await p11.C_SignInit(session, mechanism, key);
  return p11.C_Sign(session, data);
}
async function verify(p11: Cryptoki, session: number, mechanism: Mechanism, key: number, signature: Uint8Array, data = DATA) {
  await p11.C_VerifyInit(session, mechanism, key);
  return p11.C_Verify(session, data, signature);
}
async function signParts(p11: Cryptoki, session: number, mechanism: Mechanism, key: number, data = DATA) {
  await p11.C_SignInit(session, mechanism, key);
  for (let i = 0; i < data.length; i += 7) await p11.C_SignUpdate(session, data.slice(i, i + 7));
  return p11.C_SignFinal(session);
}
async function verifyParts(p11: Cryptoki, session: number, mechanism: Mechanism, key: number, signature: Uint8Array, data = DATA) {
  await p11.C_VerifyInit(session, mechanism, key);
  for (let i = 0; i < data.length; i += 5) await p11.C_VerifyUpdate(session, data.slice(i, i + 5));
  return p11.C_VerifyFinal(session, signature);
}

async function nodeEcKey(p11: Cryptoki, session: number, publicKey: number, curve: string, name = 'ECDSA') {
  const point = ecPointBytes(await attr(p11, session, publicKey, CKA_EC_POINT) as Uint8Array);
  return subtle.importKey('raw', point, name === 'Ed25519' ? { name } : { name, namedCurve: curve }, false, ['verify']);
}
async function nodeRsaKey(p11: Cryptoki, session: number, publicKey: number, algorithm: RsaHashedImportParams) {
  const modulus = await attr(p11, session, publicKey, CKA_MODULUS) as Uint8Array;
  const exponent = await attr(p11, session, publicKey, CKA_PUBLIC_EXPONENT) as Uint8Array;
  return subtle.importKey('jwk', rsaPublicJwk(modulus, exponent), algorithm, false, ['verify']);
}

describe('ECDSA', () => {
  test('P-256 / SHA-256: r||s signatures verify in Node; Node signatures verify here; parts equal one-shot', async () => {
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await generateEc(p11, session);
    const m = { mechanism: CKM_ECDSA_SHA256 };
    const signature = await sign(p11, session, m, privateKey);
    expect(signature.length).toBe(64);
    const node = await nodeEcKey(p11, session, publicKey, 'P-256');
    expect(await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, node, signature, DATA)).toBe(true);
    expect(await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, node, await signParts(p11, session, m, privateKey), DATA)).toBe(true);
    const theirs = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']) as CryptoKeyPair;
    const point = new Uint8Array(await subtle.exportKey('raw', theirs.publicKey));
    const imported = await p11.C_CreateObject(session, [
      { type: CKA_CLASS, value: CKO_PUBLIC_KEY }, { type: CKA_KEY_TYPE, value: CKK_EC },
      { type: CKA_EC_PARAMS, value: await attr(p11, session, publicKey, CKA_EC_PARAMS) as Uint8Array },
      { type: CKA_EC_POINT, value: concatBytes(new Uint8Array([0x04, point.length]), point) },
    ]);
    const nodeSignature = new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, theirs.privateKey, DATA));
    expect(await verify(p11, session, m, imported, nodeSignature)).toBe(true);
    expect(await verifyParts(p11, session, m, imported, nodeSignature)).toBe(true);
  });

  test('P-384 / SHA-384', async () => {
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await generateEc(p11, session, [], [], P384_PARAMS);
    const signature = await sign(p11, session, { mechanism: CKM_ECDSA_SHA384 }, privateKey);
    expect(signature.length).toBe(96);
    expect(await subtle.verify({ name: 'ECDSA', hash: 'SHA-384' }, await nodeEcKey(p11, session, publicKey, 'P-384'), signature, DATA)).toBe(true);
  });

  test('wrong signatures and wrong lengths verify false; other failures reject', async () => {
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await generateEc(p11, session);
    const m = { mechanism: CKM_ECDSA_SHA256 };
    const signature = await sign(p11, session, m, privateKey);
    const flipped = signature.slice();
    flipped[10] = (flipped[10] as number) ^ 0x40;
    expect(await verify(p11, session, m, publicKey, flipped)).toBe(false);
    expect(await verify(p11, session, m, publicKey, signature.slice(0, 63))).toBe(false);
    expect(await verify(p11, session, m, publicKey, signature, bytes('other data'))).toBe(false);
    expect(await verifyParts(p11, session, m, publicKey, flipped)).toBe(false);
    // Each of those ended its operation.
    await expectRv(p11.C_VerifyFinal(session, signature), CKR_OPERATION_NOT_INITIALIZED);
    await p11.C_VerifyInit(session, m, publicKey);
    await expectRv(p11.C_Verify(session, DATA, 'sig' as never), CKR_ARGUMENTS_BAD);
    await expectRv(p11.C_Verify(session, DATA, signature), CKR_OPERATION_NOT_INITIALIZED);
  });
});

describe('RSA', () => {
  test('PKCS#1 v1.5 with SHA-256 and SHA-512 verifies in Node; deterministic, so parts equal one-shot', async () => {
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await generateRsa(p11, session);
    for (const [mechanism, hash] of [[CKM_SHA256_RSA_PKCS, 'SHA-256'], [CKM_SHA512_RSA_PKCS, 'SHA-512']] as const) {
      const signature = await sign(p11, session, { mechanism }, privateKey);
      expect(await signParts(p11, session, { mechanism }, privateKey)).toEqual(signature);
      const node = await nodeRsaKey(p11, session, publicKey, { name: 'RSASSA-PKCS1-v1_5', hash });
      expect(await subtle.verify('RSASSA-PKCS1-v1_5', node, signature, DATA)).toBe(true);
      expect(await verify(p11, session, { mechanism }, publicKey, signature)).toBe(true);
    }
  });

  test('PSS with SHA-256 verifies in Node; bad parameters are refused', async () => {
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await generateRsa(p11, session);
    const m = { mechanism: CKM_SHA256_RSA_PKCS_PSS, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, saltLen: 32 } };
    const signature = await sign(p11, session, m, privateKey);
    const node = await nodeRsaKey(p11, session, publicKey, { name: 'RSA-PSS', hash: 'SHA-256' });
    expect(await subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, node, signature, DATA)).toBe(true);
    expect(await verifyParts(p11, session, m, publicKey, signature)).toBe(true);
    await expectRv(p11.C_SignInit(session, { mechanism: CKM_SHA256_RSA_PKCS_PSS, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA1, saltLen: 32 } }, privateKey), CKR_MECHANISM_PARAM_INVALID);
    await expectRv(p11.C_SignInit(session, { mechanism: CKM_SHA256_RSA_PKCS_PSS }, privateKey), CKR_MECHANISM_PARAM_INVALID);
  });
});

describe('EdDSA', () => {
  test('Ed25519 signatures verify in Node', async () => {
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await p11.C_GenerateKeyPair(session, { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN }, [{ type: CKA_EC_PARAMS, value: ED25519_PARAMS }], []);
    const signature = await sign(p11, session, { mechanism: CKM_EDDSA }, privateKey);
    expect(signature.length).toBe(64);
    expect(await subtle.verify('Ed25519', await nodeEcKey(p11, session, publicKey, '', 'Ed25519'), signature, DATA)).toBe(true);
    expect(await verify(p11, session, { mechanism: CKM_EDDSA }, publicKey, signature)).toBe(true);
    // Ed25519 is deterministic.
    expect(await sign(p11, session, { mechanism: CKM_EDDSA }, privateKey)).toEqual(signature);
    // Single-part: Update is refused, and a failed Update ends the operation (§5.13).
    await p11.C_SignInit(session, { mechanism: CKM_EDDSA }, privateKey);
    await expectRv(p11.C_SignUpdate(session, DATA), CKR_FUNCTION_NOT_SUPPORTED);
    await expectRv(p11.C_Sign(session, DATA), CKR_OPERATION_NOT_INITIALIZED);
  });
});

describe('HMAC', () => {
  const hmacKey = (value: Uint8Array, keyType = CKK_GENERIC_SECRET): Template => [
    { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: keyType }, { type: CKA_VALUE, value },
  ];

  test('RFC 4231 test case 2 (SHA-256, SHA-384); parts equal one-shot; message-based too', async () => {
    const { p11, session } = await userSession();
    const key = await p11.C_CreateObject(session, hmacKey(bytes('Jefe')));
    const data = bytes('what do ya want for nothing?');
    const mac256 = hex('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(await sign(p11, session, { mechanism: CKM_SHA256_HMAC }, key, data)).toEqual(mac256);
    expect(await signParts(p11, session, { mechanism: CKM_SHA256_HMAC }, key, data)).toEqual(mac256);
    expect(await sign(p11, session, { mechanism: CKM_SHA384_HMAC }, key, data))
      .toEqual(hex('af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649'));
    expect(await verify(p11, session, { mechanism: CKM_SHA256_HMAC }, key, mac256, data)).toBe(true);
    expect(await verify(p11, session, { mechanism: CKM_SHA256_HMAC }, key, mac256.slice(0, 31), data)).toBe(false);
    await p11.C_MessageSignInit(session, { mechanism: CKM_SHA256_HMAC }, key);
    expect(await p11.C_SignMessage(session, undefined, data)).toEqual(mac256);
    await p11.C_MessageSignFinal(session);
    const typed = await p11.C_CreateObject(session, hmacKey(bytes('Jefe'), CKK_SHA256_HMAC));
    expect(await sign(p11, session, { mechanism: CKM_SHA256_HMAC }, typed, data)).toEqual(mac256);
  });
});

describe('operation state and key checks', () => {
  test('CKR_OPERATION_NOT_INITIALIZED and CKR_OPERATION_ACTIVE; C_Sign after C_SignUpdate', async () => {
    const { p11, session } = await userSession();
    const { privateKey, publicKey } = await generateEc(p11, session);
    await expectRv(p11.C_Sign(session, DATA), CKR_OPERATION_NOT_INITIALIZED);
    await expectRv(p11.C_SignFinal(session), CKR_OPERATION_NOT_INITIALIZED);
    await expectRv(p11.C_Verify(session, DATA, new Uint8Array(64)), CKR_OPERATION_NOT_INITIALIZED);
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey);
    await expectRv(p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey), CKR_OPERATION_ACTIVE);
    await p11.C_VerifyInit(session, { mechanism: CKM_ECDSA_SHA256 }, publicKey);
    await p11.C_SignUpdate(session, DATA);
    await expectRv(p11.C_Sign(session, DATA), CKR_OPERATION_ACTIVE);
    await expectRv(p11.C_SignFinal(session), CKR_OPERATION_NOT_INITIALIZED);
    // A failed Update ends the operation.
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey);
    await expectRv(p11.C_SignUpdate(session, 42 as never), CKR_ARGUMENTS_BAD);
    await expectRv(p11.C_SignFinal(session), CKR_OPERATION_NOT_INITIALIZED);
  });

  test('CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_TYPE_INCONSISTENT, CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID', async () => {
    const { p11, session } = await userSession();
    const ec = await generateEc(p11, session, [{ type: CKA_VERIFY, value: false }], [{ type: CKA_SIGN, value: false }]);
    await expectRv(p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, ec.privateKey), CKR_KEY_FUNCTION_NOT_PERMITTED);
    await expectRv(p11.C_VerifyInit(session, { mechanism: CKM_ECDSA_SHA256 }, ec.publicKey), CKR_KEY_FUNCTION_NOT_PERMITTED);
    const rsa = await generateRsa(p11, session, [], [], 1024);
    await expectRv(p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, rsa.privateKey), CKR_KEY_TYPE_INCONSISTENT);
    const aes = await generateAes(p11, session);
    await expectRv(p11.C_SignInit(session, { mechanism: CKM_SHA256_HMAC }, aes), CKR_KEY_TYPE_INCONSISTENT);
    await expectRv(p11.C_SignInit(session, { mechanism: CKM_SHA256_RSA_PKCS }, aes), CKR_KEY_TYPE_INCONSISTENT);
    await expectRv(p11.C_SignInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } }, aes), CKR_MECHANISM_INVALID);
    await expectRv(p11.C_SignInit(session, { mechanism: CKM_SHA256 }, aes), CKR_MECHANISM_INVALID);
    await expectRv(p11.C_SignInit(session, { mechanism: CKM_SHA256_RSA_PKCS, parameter: new Uint8Array(1) }, rsa.privateKey), CKR_MECHANISM_PARAM_INVALID);
  });
});
