/**
 * NativeCryptoki over SoftHSM2: ciphers, digests, signatures, wrapping and derivation, checked
 * against Node's WebCrypto byte for byte where the output is deterministic, and by
 * cross-verification where it is not.
 */
import { createHash, createHmac, webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CKA_CLASS,
  CKA_DECRYPT,
  CKA_DERIVE,
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_ENCRYPT,
  CKA_EXTRACTABLE,
  CKA_KEY_TYPE,
  CKA_MODULUS,
  CKA_MODULUS_BITS,
  CKA_PUBLIC_EXPONENT,
  CKA_SENSITIVE,
  CKA_SIGN,
  CKA_TOKEN,
  CKA_UNWRAP,
  CKA_VALUE,
  CKA_VALUE_LEN,
  CKA_VERIFY,
  CKA_WRAP,
  CKA_PRIME_1,
  CKA_PRIME_2,
  CKA_EXPONENT_1,
  CKA_EXPONENT_2,
  CKA_COEFFICIENT,
  CKA_PRIVATE_EXPONENT,
  CKD_NULL,
  CKG_MGF1_SHA1,
  CKG_MGF1_SHA256,
  CKK_AES,
  CKK_EC,
  CKK_GENERIC_SECRET,
  CKK_RSA,
  CKM_AES_CBC_PAD,
  CKM_AES_CTR,
  CKM_AES_GCM,
  CKM_AES_KEY_WRAP,
  CKM_AES_KEY_WRAP_PAD,
  CKM_ECDH1_DERIVE,
  CKM_ECDSA,
  CKM_EC_KEY_PAIR_GEN,
  CKM_GENERIC_SECRET_KEY_GEN,
  CKM_RSA_PKCS_KEY_PAIR_GEN,
  CKM_RSA_PKCS_OAEP,
  CKM_SHA_1,
  CKM_SHA256,
  CKM_SHA256_HMAC,
  CKM_SHA256_RSA_PKCS,
  CKM_SHA256_RSA_PKCS_PSS,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKO_SECRET_KEY,
  CKR_ARGUMENTS_BAD,
  CKR_GENERAL_ERROR,
  CKR_KEY_FUNCTION_NOT_PERMITTED,
  CKR_MECHANISM_INVALID,
  CKR_OPERATION_NOT_INITIALIZED,
  Pkcs11Error,
} from '@vhsm/pkcs11';
import type { Template } from '@vhsm/pkcs11';
import { openSoftHsm } from './fixture.js';
import type { Fixture } from './fixture.js';

const subtle = webcrypto.subtle;
/** DER OID of P-256 (prime256v1), the CKA_EC_PARAMS of its keys. */
const P256 = new Uint8Array([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);

let f: Fixture;
beforeAll(async () => {
  f = await openSoftHsm();
});
afterAll(async () => {
  await f?.close();
});

function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

async function expectRv(promise: Promise<unknown>, code: number): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Pkcs11Error);
  expect((error as Pkcs11Error).code).toBe(code);
}

/** A session AES key with known bytes, so WebCrypto can hold the same key. */
async function aesKey(value: Uint8Array, extra: Template = []): Promise<number> {
  return f.p11.C_CreateObject(f.session, [
    { type: CKA_CLASS, value: CKO_SECRET_KEY },
    { type: CKA_KEY_TYPE, value: CKK_AES },
    { type: CKA_VALUE, value },
    { type: CKA_ENCRYPT, value: true },
    { type: CKA_DECRYPT, value: true },
    ...extra,
  ]);
}

async function ecKeyPair(): Promise<{ publicKey: number; privateKey: number; point: Uint8Array }> {
  const pair = await f.p11.C_GenerateKeyPair(
    f.session,
    { mechanism: CKM_EC_KEY_PAIR_GEN },
    [
      { type: CKA_EC_PARAMS, value: P256 },
      { type: CKA_VERIFY, value: true },
    ],
    [
      { type: CKA_SIGN, value: true },
      { type: CKA_DERIVE, value: true },
    ],
  );
  const [ecPoint] = await f.p11.C_GetAttributeValue(f.session, pair.publicKey, [{ type: CKA_EC_POINT }]);
  const der = ecPoint?.value as Uint8Array;
  // A DER OCTET STRING around the 65-byte uncompressed point.
  expect([...der.subarray(0, 3)]).toEqual([0x04, 0x41, 0x04]);
  return { ...pair, point: der.subarray(2) };
}

describe('AES', () => {
  const keyBytes = bytes(32, 1);
  const plain = bytes(100, 2);

  test('GCM output is ciphertext||tag, identical to WebCrypto, and decrypts back', async () => {
    const key = await aesKey(keyBytes);
    const webKey = await subtle.importKey('raw', keyBytes, 'AES-GCM', false, ['encrypt']);
    const iv = bytes(12, 3);
    const aad = bytes(20, 4);
    for (const tagBits of [128, 96]) {
      await f.p11.C_EncryptInit(f.session, { mechanism: CKM_AES_GCM, parameter: { iv, aad, tagBits } }, key);
      const sealed = await f.p11.C_Encrypt(f.session, plain);
      const expected = await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: tagBits }, webKey, plain);
      expect(sealed).toEqual(new Uint8Array(expected));
      await f.p11.C_DecryptInit(f.session, { mechanism: CKM_AES_GCM, parameter: { iv, aad, tagBits } }, key);
      expect(await f.p11.C_Decrypt(f.session, sealed)).toEqual(plain);
    }
  });

  test('GCM refuses a modified ciphertext (SoftHSM2 2.6.1 answers CKR_GENERAL_ERROR, not CKR_ENCRYPTED_DATA_INVALID)', async () => {
    const key = await aesKey(keyBytes);
    const iv = bytes(12, 5);
    await f.p11.C_EncryptInit(f.session, { mechanism: CKM_AES_GCM, parameter: { iv } }, key);
    const sealed = await f.p11.C_Encrypt(f.session, plain);
    sealed[0] = (sealed[0] ?? 0) ^ 1;
    await f.p11.C_DecryptInit(f.session, { mechanism: CKM_AES_GCM, parameter: { iv } }, key);
    await expectRv(f.p11.C_Decrypt(f.session, sealed), CKR_GENERAL_ERROR);
  });

  test('multi-part GCM decryption larger than the first output guess grows its buffer', async () => {
    const key = await aesKey(keyBytes);
    const iv = bytes(12, 6);
    const big = bytes(5000, 7);
    await f.p11.C_EncryptInit(f.session, { mechanism: CKM_AES_GCM, parameter: { iv } }, key);
    const sealed = await f.p11.C_Encrypt(f.session, big);
    await f.p11.C_DecryptInit(f.session, { mechanism: CKM_AES_GCM, parameter: { iv } }, key);
    const parts = [
      await f.p11.C_DecryptUpdate(f.session, sealed.subarray(0, 2500)),
      await f.p11.C_DecryptUpdate(f.session, sealed.subarray(2500)),
      await f.p11.C_DecryptFinal(f.session),
    ];
    expect(concat(...parts)).toEqual(big);
  });

  test('CBC_PAD matches WebCrypto AES-CBC, single-part and multi-part', async () => {
    const key = await aesKey(keyBytes);
    const webKey = await subtle.importKey('raw', keyBytes, 'AES-CBC', false, ['encrypt']);
    const iv = bytes(16, 8);
    const expected = new Uint8Array(await subtle.encrypt({ name: 'AES-CBC', iv }, webKey, plain));
    await f.p11.C_EncryptInit(f.session, { mechanism: CKM_AES_CBC_PAD, parameter: iv }, key);
    expect(await f.p11.C_Encrypt(f.session, plain)).toEqual(expected);

    await f.p11.C_EncryptInit(f.session, { mechanism: CKM_AES_CBC_PAD, parameter: iv }, key);
    const parts = [
      await f.p11.C_EncryptUpdate(f.session, plain.subarray(0, 37)),
      await f.p11.C_EncryptUpdate(f.session, plain.subarray(37)),
      await f.p11.C_EncryptFinal(f.session),
    ];
    expect(concat(...parts)).toEqual(expected);
    await expectRv(f.p11.C_EncryptUpdate(f.session, plain), CKR_OPERATION_NOT_INITIALIZED);

    await f.p11.C_DecryptInit(f.session, { mechanism: CKM_AES_CBC_PAD, parameter: iv }, key);
    expect(await f.p11.C_Decrypt(f.session, expected)).toEqual(plain);
  });

  test('an empty message encrypts (CBC_PAD: one block of padding)', async () => {
    const key = await aesKey(keyBytes);
    const webKey = await subtle.importKey('raw', keyBytes, 'AES-CBC', false, ['encrypt']);
    const iv = bytes(16, 9);
    await f.p11.C_EncryptInit(f.session, { mechanism: CKM_AES_CBC_PAD, parameter: iv }, key);
    const expected = new Uint8Array(await subtle.encrypt({ name: 'AES-CBC', iv }, webKey, new Uint8Array(0)));
    expect(await f.p11.C_Encrypt(f.session, new Uint8Array(0))).toEqual(expected);
  });

  test('CTR matches WebCrypto AES-CTR', async () => {
    const key = await aesKey(keyBytes);
    const webKey = await subtle.importKey('raw', keyBytes, 'AES-CTR', false, ['encrypt']);
    const cb = bytes(16, 10);
    await f.p11.C_EncryptInit(f.session, { mechanism: CKM_AES_CTR, parameter: { counterBits: 64, cb } }, key);
    const expected = await subtle.encrypt({ name: 'AES-CTR', counter: cb, length: 64 }, webKey, plain);
    expect(await f.p11.C_Encrypt(f.session, plain)).toEqual(new Uint8Array(expected));
  });

  test('a CBC IV of the wrong size reaches the module (SoftHSM2 2.6.1: CKR_MECHANISM_INVALID)', async () => {
    const key = await aesKey(keyBytes);
    await expectRv(f.p11.C_EncryptInit(f.session, { mechanism: CKM_AES_CBC_PAD, parameter: bytes(8, 1) }, key), CKR_MECHANISM_INVALID);
  });

  test('a key without CKA_ENCRYPT: CKR_KEY_FUNCTION_NOT_PERMITTED', async () => {
    const key = await aesKey(keyBytes, [{ type: CKA_ENCRYPT, value: false }]);
    await expectRv(f.p11.C_EncryptInit(f.session, { mechanism: CKM_AES_CBC_PAD, parameter: bytes(16, 1) }, key), CKR_KEY_FUNCTION_NOT_PERMITTED);
  });
});

describe('digests and HMAC', () => {
  test('SHA-256 matches node:crypto, single-part, multi-part and empty', async () => {
    const data = bytes(1000, 11);
    await f.p11.C_DigestInit(f.session, { mechanism: CKM_SHA256 });
    expect(await f.p11.C_Digest(f.session, data)).toEqual(new Uint8Array(createHash('sha256').update(data).digest()));
    await f.p11.C_DigestInit(f.session, { mechanism: CKM_SHA256 });
    await f.p11.C_DigestUpdate(f.session, data.subarray(0, 300));
    await f.p11.C_DigestUpdate(f.session, data.subarray(300));
    expect(await f.p11.C_DigestFinal(f.session)).toEqual(new Uint8Array(createHash('sha256').update(data).digest()));
    await f.p11.C_DigestInit(f.session, { mechanism: CKM_SHA256 });
    expect(await f.p11.C_Digest(f.session, new Uint8Array(0))).toEqual(new Uint8Array(createHash('sha256').digest()));
  });

  test('SHA256_HMAC matches node:crypto and verifies', async () => {
    const secret = bytes(32, 12);
    const key = await f.p11.C_CreateObject(f.session, [
      { type: CKA_CLASS, value: CKO_SECRET_KEY },
      { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET },
      { type: CKA_VALUE, value: secret },
      { type: CKA_SIGN, value: true },
      { type: CKA_VERIFY, value: true },
    ]);
    const data = bytes(77, 13);
    await f.p11.C_SignInit(f.session, { mechanism: CKM_SHA256_HMAC }, key);
    const mac = await f.p11.C_Sign(f.session, data);
    expect(mac).toEqual(new Uint8Array(createHmac('sha256', secret).update(data).digest()));
    await f.p11.C_VerifyInit(f.session, { mechanism: CKM_SHA256_HMAC }, key);
    expect(await f.p11.C_Verify(f.session, data, mac)).toBe(true);
  });
});

describe('ECDSA P-256', () => {
  test('a SoftHSM2 signature (r||s) verifies in WebCrypto, and a WebCrypto one in SoftHSM2', async () => {
    const { publicKey, privateKey, point } = await ecKeyPair();
    const message = bytes(200, 14);
    const digest = new Uint8Array(createHash('sha256').update(message).digest());
    await f.p11.C_SignInit(f.session, { mechanism: CKM_ECDSA }, privateKey);
    const signature = await f.p11.C_Sign(f.session, digest);
    expect(signature.length).toBe(64);
    const webPublic = await subtle.importKey('raw', point, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    expect(await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, webPublic, signature, message)).toBe(true);

    const webPair = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const webSignature = new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, webPair.privateKey, message));
    const webPoint = new Uint8Array(await subtle.exportKey('raw', webPair.publicKey));
    const imported = await f.p11.C_CreateObject(f.session, [
      { type: CKA_CLASS, value: CKO_PUBLIC_KEY },
      { type: CKA_KEY_TYPE, value: CKK_EC },
      { type: CKA_EC_PARAMS, value: P256 },
      { type: CKA_EC_POINT, value: concat(new Uint8Array([0x04, 0x41]), webPoint) },
      { type: CKA_VERIFY, value: true },
    ]);
    await f.p11.C_VerifyInit(f.session, { mechanism: CKM_ECDSA }, imported);
    expect(await f.p11.C_Verify(f.session, digest, webSignature)).toBe(true);
    await f.p11.C_VerifyInit(f.session, { mechanism: CKM_ECDSA }, publicKey);
    expect(await f.p11.C_Verify(f.session, digest, signature)).toBe(true);
  });

  test('a bad signature resolves false: CKR_SIGNATURE_INVALID and CKR_SIGNATURE_LEN_RANGE', async () => {
    const { publicKey, privateKey } = await ecKeyPair();
    const digest = bytes(32, 15);
    await f.p11.C_SignInit(f.session, { mechanism: CKM_ECDSA }, privateKey);
    const signature = await f.p11.C_Sign(f.session, digest);
    const tampered = signature.slice();
    tampered[10] = (tampered[10] ?? 0) ^ 0x40;
    await f.p11.C_VerifyInit(f.session, { mechanism: CKM_ECDSA }, publicKey);
    expect(await f.p11.C_Verify(f.session, digest, tampered)).toBe(false);
    await f.p11.C_VerifyInit(f.session, { mechanism: CKM_ECDSA }, publicKey);
    expect(await f.p11.C_Verify(f.session, digest, signature.subarray(0, 63))).toBe(false);
    // A failed verification ends the operation, as any other C_Verify result does.
    await expectRv(f.p11.C_Verify(f.session, digest, signature), CKR_OPERATION_NOT_INITIALIZED);
  });

  test('ECDH1_DERIVE agrees with WebCrypto ECDH', async () => {
    const { privateKey, point } = await ecKeyPair();
    const webPair = (await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
    const webPoint = new Uint8Array(await subtle.exportKey('raw', webPair.publicKey));
    const secret = await f.p11.C_DeriveKey(f.session, { mechanism: CKM_ECDH1_DERIVE, parameter: { kdf: CKD_NULL, publicData: webPoint } }, privateKey, [
      { type: CKA_CLASS, value: CKO_SECRET_KEY },
      { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET },
      { type: CKA_VALUE_LEN, value: 32 },
      { type: CKA_SENSITIVE, value: false },
      { type: CKA_EXTRACTABLE, value: true },
    ]);
    const [value] = await f.p11.C_GetAttributeValue(f.session, secret, [{ type: CKA_VALUE }]);
    const mine = await subtle.importKey('raw', point, { name: 'ECDH', namedCurve: 'P-256' }, false, []);
    const expected = await subtle.deriveBits({ name: 'ECDH', public: mine }, webPair.privateKey, 256);
    expect(value?.value).toEqual(new Uint8Array(expected));
  });
});

describe('RSA', () => {
  let jwk: JsonWebKey;
  let handle: number;
  const b64 = (s: string | undefined): Uint8Array => new Uint8Array(Buffer.from(s ?? '', 'base64url'));

  beforeAll(async () => {
    const pair = (await subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    jwk = await subtle.exportKey('jwk', pair.privateKey);
    handle = await f.p11.C_CreateObject(f.session, [
      { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
      { type: CKA_KEY_TYPE, value: CKK_RSA },
      { type: CKA_TOKEN, value: false },
      { type: CKA_SIGN, value: true },
      { type: CKA_DECRYPT, value: true },
      { type: CKA_MODULUS, value: b64(jwk.n) },
      { type: CKA_PUBLIC_EXPONENT, value: b64(jwk.e) },
      { type: CKA_PRIVATE_EXPONENT, value: b64(jwk.d) },
      { type: CKA_PRIME_1, value: b64(jwk.p) },
      { type: CKA_PRIME_2, value: b64(jwk.q) },
      { type: CKA_EXPONENT_1, value: b64(jwk.dp) },
      { type: CKA_EXPONENT_2, value: b64(jwk.dq) },
      { type: CKA_COEFFICIENT, value: b64(jwk.qi) },
    ]);
  });

  test('SHA256_RSA_PKCS signatures are byte-identical to WebCrypto RSASSA-PKCS1-v1_5', async () => {
    const message = bytes(300, 16);
    const webKey = await subtle.importKey('jwk', jwk, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
    await f.p11.C_SignInit(f.session, { mechanism: CKM_SHA256_RSA_PKCS }, handle);
    const signature = await f.p11.C_Sign(f.session, message);
    expect(signature).toEqual(new Uint8Array(await subtle.sign('RSASSA-PKCS1-v1_5', webKey, message)));

    await f.p11.C_SignInit(f.session, { mechanism: CKM_SHA256_RSA_PKCS }, handle);
    await f.p11.C_SignUpdate(f.session, message.subarray(0, 100));
    await f.p11.C_SignUpdate(f.session, message.subarray(100));
    expect(await f.p11.C_SignFinal(f.session)).toEqual(signature);
  });

  test('SHA256_RSA_PKCS_PSS signatures verify in WebCrypto RSA-PSS', async () => {
    const message = bytes(64, 17);
    const publicJwk = { kty: 'RSA', n: jwk.n, e: jwk.e } as JsonWebKey;
    const webKey = await subtle.importKey('jwk', publicJwk, { name: 'RSA-PSS', hash: 'SHA-256' }, false, ['verify']);
    const parameter = { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, saltLen: 32 };
    await f.p11.C_SignInit(f.session, { mechanism: CKM_SHA256_RSA_PKCS_PSS, parameter }, handle);
    const signature = await f.p11.C_Sign(f.session, message);
    expect(await subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, webKey, signature, message)).toBe(true);
  });

  test('OAEP (SHA-1) from WebCrypto decrypts in SoftHSM2; SoftHSM2 2.6.1 refuses OAEP SHA-256', async () => {
    const publicJwk = { kty: 'RSA', n: jwk.n, e: jwk.e } as JsonWebKey;
    const webKey = await subtle.importKey('jwk', publicJwk, { name: 'RSA-OAEP', hash: 'SHA-1' }, false, ['encrypt']);
    const secret = bytes(32, 18);
    const sealed = new Uint8Array(await subtle.encrypt({ name: 'RSA-OAEP' }, webKey, secret));
    await f.p11.C_DecryptInit(f.session, { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA_1, mgf: CKG_MGF1_SHA1 } }, handle);
    expect(await f.p11.C_Decrypt(f.session, sealed)).toEqual(secret);
    await expectRv(
      f.p11.C_DecryptInit(f.session, { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 } }, handle),
      CKR_ARGUMENTS_BAD,
    );
  });

  test('a generated key pair exposes its modulus and exponent, and its signatures verify in WebCrypto', async () => {
    const { publicKey, privateKey } = await f.p11.C_GenerateKeyPair(
      f.session,
      { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
      [
        { type: CKA_MODULUS_BITS, value: 2048 },
        { type: CKA_PUBLIC_EXPONENT, value: new Uint8Array([1, 0, 1]) },
        { type: CKA_VERIFY, value: true },
      ],
      [{ type: CKA_SIGN, value: true }],
    );
    const [modulus, exponent, bits] = await f.p11.C_GetAttributeValue(f.session, publicKey, [
      { type: CKA_MODULUS },
      { type: CKA_PUBLIC_EXPONENT },
      { type: CKA_MODULUS_BITS },
    ]);
    expect(bits?.value).toBe(2048);
    expect(exponent?.value).toEqual(new Uint8Array([1, 0, 1]));
    const n = modulus?.value as Uint8Array;
    expect(n.length).toBe(256);
    const webKey = await subtle.importKey(
      'jwk',
      { kty: 'RSA', n: Buffer.from(n).toString('base64url'), e: 'AQAB' },
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      false,
      ['verify'],
    );
    const message = bytes(10, 19);
    await f.p11.C_SignInit(f.session, { mechanism: CKM_SHA256_RSA_PKCS }, privateKey);
    const signature = await f.p11.C_Sign(f.session, message);
    expect(await subtle.verify('RSASSA-PKCS1-v1_5', webKey, signature, message)).toBe(true);
    await f.p11.C_VerifyInit(f.session, { mechanism: CKM_SHA256_RSA_PKCS }, publicKey);
    await f.p11.C_VerifyUpdate(f.session, message);
    expect(await f.p11.C_VerifyFinal(f.session, signature.map((b) => b ^ 1))).toBe(false);
  });

  test("a failed RSA verification leaves no OpenSSL error behind for Node's WebCrypto", async () => {
    // SoftHSM2 shares Debian's libcrypto with Node; a stale error on the queue made Node's next
    // AES job abort the whole process. This test process surviving is the assertion.
    await f.p11.C_SignInit(f.session, { mechanism: CKM_SHA256_RSA_PKCS }, handle);
    const signature = await f.p11.C_Sign(f.session, bytes(8, 22));
    const publicKey = await f.p11.C_CreateObject(f.session, [
      { type: CKA_CLASS, value: CKO_PUBLIC_KEY },
      { type: CKA_KEY_TYPE, value: CKK_RSA },
      { type: CKA_MODULUS, value: b64(jwk.n) },
      { type: CKA_PUBLIC_EXPONENT, value: b64(jwk.e) },
      { type: CKA_VERIFY, value: true },
    ]);
    await f.p11.C_VerifyInit(f.session, { mechanism: CKM_SHA256_RSA_PKCS }, publicKey);
    expect(await f.p11.C_Verify(f.session, bytes(8, 23), signature)).toBe(false);
    const kek = await subtle.importKey('raw', new Uint8Array(16), 'AES-KW', false, ['wrapKey']);
    const key = await subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', true, ['encrypt']);
    expect(new Uint8Array(await subtle.wrapKey('raw', key, kek, 'AES-KW')).length).toBe(24);
  });
});

describe('key wrapping', () => {
  const kekBytes = bytes(32, 20);
  const targetBytes = bytes(16, 21);

  async function kek(): Promise<number> {
    return aesKey(kekBytes, [
      { type: CKA_WRAP, value: true },
      { type: CKA_UNWRAP, value: true },
    ]);
  }

  test('AES_KEY_WRAP output equals WebCrypto AES-KW, and unwraps to a working key', async () => {
    const wrapping = await kek();
    const target = await aesKey(targetBytes, [{ type: CKA_EXTRACTABLE, value: true }]);
    const wrapped = await f.p11.C_WrapKey(f.session, { mechanism: CKM_AES_KEY_WRAP }, wrapping, target);
    const webKek = await subtle.importKey('raw', kekBytes, 'AES-KW', false, ['wrapKey']);
    const webTarget = await subtle.importKey('raw', targetBytes, 'AES-GCM', true, ['encrypt']);
    expect(wrapped).toEqual(new Uint8Array(await subtle.wrapKey('raw', webTarget, webKek, 'AES-KW')));

    const unwrapped = await f.p11.C_UnwrapKey(f.session, { mechanism: CKM_AES_KEY_WRAP }, wrapping, wrapped, [
      { type: CKA_CLASS, value: CKO_SECRET_KEY },
      { type: CKA_KEY_TYPE, value: CKK_AES },
      { type: CKA_ENCRYPT, value: true },
      { type: CKA_SENSITIVE, value: false },
      { type: CKA_EXTRACTABLE, value: true },
    ]);
    const [value] = await f.p11.C_GetAttributeValue(f.session, unwrapped, [{ type: CKA_VALUE }]);
    expect(value?.value).toEqual(targetBytes);
  });

  test('AES_KEY_WRAP_PAD round-trips a 24-byte secret; SoftHSM2 2.6.1 keeps the padding of a 21-byte one', async () => {
    const wrapping = await kek();
    const roundTrip = async (length: number): Promise<{ original: Uint8Array; unwrapped: Uint8Array; wrappedLength: number }> => {
      const secret = await f.p11.C_GenerateKey(f.session, { mechanism: CKM_GENERIC_SECRET_KEY_GEN }, [
        { type: CKA_VALUE_LEN, value: length },
        { type: CKA_EXTRACTABLE, value: true },
        { type: CKA_SENSITIVE, value: false },
      ]);
      const wrapped = await f.p11.C_WrapKey(f.session, { mechanism: CKM_AES_KEY_WRAP_PAD }, wrapping, secret);
      const unwrappedKey = await f.p11.C_UnwrapKey(f.session, { mechanism: CKM_AES_KEY_WRAP_PAD }, wrapping, wrapped, [
        { type: CKA_CLASS, value: CKO_SECRET_KEY },
        { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET },
        { type: CKA_SENSITIVE, value: false },
        { type: CKA_EXTRACTABLE, value: true },
      ]);
      const [original] = await f.p11.C_GetAttributeValue(f.session, secret, [{ type: CKA_VALUE }]);
      const [unwrapped] = await f.p11.C_GetAttributeValue(f.session, unwrappedKey, [{ type: CKA_VALUE }]);
      return { original: original?.value as Uint8Array, unwrapped: unwrapped?.value as Uint8Array, wrappedLength: wrapped.length };
    };
    const aligned = await roundTrip(24);
    expect(aligned.wrappedLength).toBe(32);
    expect(aligned.unwrapped).toEqual(aligned.original);
    const odd = await roundTrip(21);
    expect(odd.wrappedLength).toBe(32);
    expect(odd.unwrapped).toEqual(concat(odd.original, new Uint8Array(3)));
  });
});
