import {
  CKA_CLASS,
  CKA_EC_PARAMS,
  CKA_KEY_GEN_MECHANISM,
  CKA_VALUE_LEN,
  CKK_AES,
  CKK_EC,
  CKK_GENERIC_SECRET,
  CKM_AES_KEY_GEN,
  CKO_PRIVATE_KEY,
  CKR_ENCRYPTED_DATA_INVALID,
  CKR_ENCRYPTED_DATA_LEN_RANGE,
  CKR_MECHANISM_PARAM_INVALID,
  CKR_TEMPLATE_INCOMPLETE,
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_TEMPLATE_INCONSISTENT,
  CKR_WRAPPED_KEY_INVALID,
} from '@vhsm/pkcs11';
import { describe, expect, test } from 'vitest';
import { aesGcm, checkGcmParams } from '../../../src/mechanisms/symmetric/aes-gcm.js';
import { aesKeyGen } from '../../../src/mechanisms/symmetric/aes-keygen.js';
import { attribute, hex, implementations, keyAccess, materialBytes, request, run, rvOf, split, toHex } from './fixture.js';

// The GCM specification's test cases (McGrew & Viega), 3, 4 and 16 (5 uses an 8-byte IV, refused below).
const K = hex('feffe9928665731c6d6a8f9467308308');
const P = hex(
  'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255',
);
const A = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
const IV = hex('cafebabefacedbaddecaf888');
const vectors = [
  {
    name: 'test case 3',
    key: K,
    iv: IV,
    p: P,
    a: undefined,
    ct: '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985',
    tag: '4d5c2af327cd64a62cf35abd2ba6fab4',
  },
  {
    name: 'test case 4 (AAD)',
    key: K,
    iv: IV,
    p: P.subarray(0, 60),
    a: A,
    ct: '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091',
    tag: '5bc94fbc3221a5db94fae95ae7121a47',
  },
  {
    name: 'test case 16 (AES-256)',
    key: hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308'),
    iv: IV,
    p: P.subarray(0, 60),
    a: A,
    ct: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
    tag: '76fc6ece0f4e1768cddf8853bb2d551b',
  },
];

describe('CK_GCM_PARAMS validation (no crypto)', () => {
  test('defaults the tag to 128 bits and keeps iv/aad', () => {
    const p = checkGcmParams({ iv: IV, aad: A });
    expect(p.tagBytes).toBe(16);
    expect(p.webcrypto.tagLength).toBe(128);
    expect(toHex(new Uint8Array(p.webcrypto.iv as ArrayBuffer))).toBe(toHex(IV));
  });
  test.each([
    [undefined],
    [null],
    [IV],
    [{ iv: new Uint8Array(0) }],
    [{ iv: hex('cafebabefacedbad') }],
    [{ iv: new Uint8Array(11) }],
    [{ iv: 'cafebabe' }],
    [{ iv: IV, aad: 'x' }],
    [{ iv: IV, tagBits: 100 }],
    [{ iv: IV, tagBits: 0 }],
    [{ iv: IV, tagBits: 136 }],
    [{ iv: IV, tagBits: -128 }],
  ])('refuses %o with CKR_MECHANISM_PARAM_INVALID', async (parameter) => {
    expect(await rvOf(() => checkGcmParams(parameter))).toBe(CKR_MECHANISM_PARAM_INVALID);
  });
  test('names the field', () => {
    expect(() => checkGcmParams({ iv: IV, tagBits: 100 })).toThrow(/tagBits/);
  });
});

describe.each(implementations)('AES on %s WebCrypto', (_name, crypto) => {
  test('probes true', async () => {
    expect(await aesKeyGen.probe?.(crypto)).toBe(true);
    expect(await aesGcm.probe?.(crypto)).toBe(true);
  });

  test.each([16, 32])('CKM_AES_KEY_GEN makes an extractable %i-byte raw key with its attributes', async (len) => {
    const m = await aesKeyGen.generateKey!(request(CKK_AES, { [CKA_VALUE_LEN]: len }), undefined, crypto);
    expect(m.format).toBe('raw');
    expect((await materialBytes(crypto, m)).length).toBe(len);
    expect(attribute(m, CKA_VALUE_LEN)).toBe(len);
    expect(attribute(m, CKA_KEY_GEN_MECHANISM)).toBe(CKM_AES_KEY_GEN);
  });

  test('CKM_AES_KEY_GEN makes AES-192 where the runtime has it', async () => {
    const m = await aesKeyGen.generateKey!(request(CKK_AES, { [CKA_VALUE_LEN]: 24 }), undefined, crypto);
    expect((await materialBytes(crypto, m)).length).toBe(24);
  });

  test('CKM_AES_KEY_GEN refuses bad templates', async () => {
    expect(await rvOf(aesKeyGen.generateKey!(request(CKK_AES), undefined, crypto))).toBe(CKR_TEMPLATE_INCOMPLETE);
    expect(await rvOf(aesKeyGen.generateKey!(request(CKK_AES, { [CKA_VALUE_LEN]: 20 }), undefined, crypto))).toBe(
      CKR_ATTRIBUTE_VALUE_INVALID,
    );
    expect(
      await rvOf(aesKeyGen.generateKey!(request(CKK_GENERIC_SECRET, { [CKA_VALUE_LEN]: 16 }), undefined, crypto)),
    ).toBe(CKR_TEMPLATE_INCONSISTENT);
    expect(await rvOf(() => aesKeyGen.check(new Uint8Array(1)))).toBe(CKR_MECHANISM_PARAM_INVALID);
  });

  test.each(vectors)('GCM $name: encrypt and decrypt, one-shot and multi-part', async (v) => {
    const key = keyAccess(crypto, v.key, CKK_AES);
    const params = aesGcm.check(v.a ? { iv: v.iv, aad: v.a } : { iv: v.iv });
    const ct = await run(await aesGcm.encrypt!(key, params, crypto), v.p);
    expect(toHex(ct)).toBe(v.ct + v.tag);
    const ct2 = await run(await aesGcm.encrypt!(key, params, crypto), ...split(v.p, 1, 17, 40));
    expect(toHex(ct2)).toBe(v.ct + v.tag);
    const pt = await run(await aesGcm.decrypt!(key, params, crypto), ...split(ct, 5, 33, ct.length - 3));
    expect(toHex(pt)).toBe(toHex(v.p));
    // Keys are asked for non-extractable, bound to AES-GCM.
    expect(key.requests.every((r) => !r.extractable)).toBe(true);
  });

  test('GCM shorter tags match WebCrypto directly', async () => {
    const raw = crypto.getRandomValues(new Uint8Array(16));
    const key = keyAccess(crypto, raw, CKK_AES);
    const direct = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt']);
    for (const tagBits of [32, 64, 96, 104, 112, 120]) {
      const ct = await run(await aesGcm.encrypt!(key, aesGcm.check({ iv: IV, tagBits }), crypto), P);
      const expected = new Uint8Array(
        await crypto.subtle.encrypt({ name: 'AES-GCM', iv: IV, tagLength: tagBits }, direct, P),
      );
      expect(toHex(ct)).toBe(toHex(expected));
      expect(ct.length).toBe(P.length + tagBits / 8);
    }
  });

  test('GCM decrypt failures are CK_RVs', async () => {
    const key = keyAccess(crypto, K, CKK_AES);
    const params = aesGcm.check({ iv: IV, aad: A });
    const ct = hex(vectors[1]!.ct + vectors[1]!.tag);
    ct[3]! ^= 1;
    expect(await rvOf(run(await aesGcm.decrypt!(key, params, crypto), ct))).toBe(CKR_ENCRYPTED_DATA_INVALID);
    expect(await rvOf(run(await aesGcm.decrypt!(key, params, crypto), new Uint8Array(15)))).toBe(
      CKR_ENCRYPTED_DATA_LEN_RANGE,
    );
    // Wrong AAD fails authentication too.
    const ok = hex(vectors[1]!.ct + vectors[1]!.tag);
    const noAad = aesGcm.check({ iv: IV });
    expect(await rvOf(run(await aesGcm.decrypt!(key, noAad, crypto), ok))).toBe(CKR_ENCRYPTED_DATA_INVALID);
  });

  test('GCM wraps a secret key as its raw value and unwraps it', async () => {
    const kek = keyAccess(crypto, K, CKK_AES);
    const secret = hex('00112233445566778899aabbccddeeff0123456789abcdef');
    const params = aesGcm.check({ iv: IV, aad: A });
    const wrapped = await aesGcm.wrap!(kek, keyAccess(crypto, secret, CKK_GENERIC_SECRET), params, crypto);
    // Same bytes as encrypting the value.
    expect(toHex(wrapped)).toBe(toHex(await run(await aesGcm.encrypt!(kek, params, crypto), secret)));
    const m = await aesGcm.unwrap!(kek, wrapped, request(CKK_GENERIC_SECRET), params, crypto);
    expect(toHex(await materialBytes(crypto, m))).toBe(toHex(secret));
    expect(attribute(m, CKA_VALUE_LEN)).toBe(24);
    const wrappedAes = await aesGcm.wrap!(kek, keyAccess(crypto, K, CKK_AES), params, crypto);
    const aes = await aesGcm.unwrap!(kek, wrappedAes, request(CKK_AES), params, crypto);
    expect(toHex(await materialBytes(crypto, aes))).toBe(toHex(K));
  });

  test('GCM unwrap failures are one code, CKR_WRAPPED_KEY_INVALID', async () => {
    const kek = keyAccess(crypto, K, CKK_AES);
    const params = aesGcm.check({ iv: IV });
    const wrapped = await aesGcm.wrap!(kek, keyAccess(crypto, hex('00112233445566778899aabbccddeeff0011'), CKK_GENERIC_SECRET), params, crypto);
    const tampered = new Uint8Array(wrapped);
    tampered[0]! ^= 0x80;
    expect(await rvOf(aesGcm.unwrap!(kek, tampered, request(CKK_GENERIC_SECRET), params, crypto))).toBe(CKR_WRAPPED_KEY_INVALID);
    expect(await rvOf(aesGcm.unwrap!(kek, wrapped.subarray(0, 10), request(CKK_GENERIC_SECRET), params, crypto))).toBe(CKR_WRAPPED_KEY_INVALID);
    // An 18-byte value is no AES key.
    expect(await rvOf(aesGcm.unwrap!(kek, wrapped, request(CKK_AES), params, crypto))).toBe(CKR_WRAPPED_KEY_INVALID);
    // A template length that disagrees with the wrapped key.
    expect(
      await rvOf(aesGcm.unwrap!(kek, wrapped, request(CKK_GENERIC_SECRET, { [CKA_VALUE_LEN]: 16 }), params, crypto)),
    ).toBe(CKR_TEMPLATE_INCONSISTENT);
  });

  test('GCM wraps an EC private key as PKCS#8 and unwraps it, finding its curve', async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign'])) as CryptoKeyPair;
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
    const ecParams = hex('06052b81040022');
    const priv = keyAccess(crypto, pkcs8, CKK_EC, {
      objectClass: CKO_PRIVATE_KEY,
      format: 'pkcs8',
      attributes: { [CKA_EC_PARAMS]: ecParams },
    });
    const kek = keyAccess(crypto, K, CKK_AES);
    const params = aesGcm.check({ iv: IV });
    const wrapped = await aesGcm.wrap!(kek, priv, params, crypto);
    const m = await aesGcm.unwrap!(kek, wrapped, request(CKK_EC, { [CKA_CLASS]: CKO_PRIVATE_KEY }), params, crypto);
    expect(m.format).toBe('pkcs8');
    expect(toHex(await materialBytes(crypto, m))).toBe(toHex(pkcs8));
    expect(toHex(attribute(m, CKA_EC_PARAMS) as Uint8Array)).toBe(toHex(ecParams));
    // A template naming another curve cannot take it.
    const p256 = hex('06082a8648ce3d030107');
    expect(
      await rvOf(
        aesGcm.unwrap!(kek, wrapped, request(CKK_EC, { [CKA_CLASS]: CKO_PRIVATE_KEY, [CKA_EC_PARAMS]: p256 }), params, crypto),
      ),
    ).toBe(CKR_WRAPPED_KEY_INVALID);
  });
});

test('GCM ciphertexts agree byte for byte across the two implementations', async () => {
  const [[, a], [, b]] = implementations as [[string, Crypto], [string, Crypto]];
  const raw = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
  const params = aesGcm.check({ iv: hex('0102030405060708090a0b0c0d'), aad: A, tagBits: 96 });
  const ca = await run(await aesGcm.encrypt!(keyAccess(a, raw, CKK_AES), params, a), P);
  const cb = await run(await aesGcm.encrypt!(keyAccess(b, raw, CKK_AES), params, b), P);
  expect(toHex(ca)).toBe(toHex(cb));
  expect(toHex(await run(await aesGcm.decrypt!(keyAccess(a, raw, CKK_AES), params, a), cb))).toBe(toHex(P));
});
