import {
  CKA_CLASS,
  CKA_EC_PARAMS,
  CKK_AES,
  CKK_EC,
  CKK_GENERIC_SECRET,
  CKO_PRIVATE_KEY,
  CKR_DATA_LEN_RANGE,
  CKR_ENCRYPTED_DATA_INVALID,
  CKR_ENCRYPTED_DATA_LEN_RANGE,
  CKR_KEY_SIZE_RANGE,
  CKR_MECHANISM_PARAM_INVALID,
  CKR_WRAPPED_KEY_INVALID,
  CKR_WRAPPED_KEY_LEN_RANGE,
} from '@vhsm/pkcs11';
import { describe, expect, test } from 'vitest';
import { aesKeyWrap } from '../../../src/mechanisms/symmetric/aes-kw.js';
import { hex, implementations, keyAccess, materialBytes, request, run, rvOf, toHex } from './fixture.js';

// RFC 3394 §4.1 and §4.6.
const vectors = [
  {
    name: '4.1: 128-bit data, 128-bit KEK',
    kek: hex('000102030405060708090A0B0C0D0E0F'),
    data: hex('00112233445566778899AABBCCDDEEFF'),
    wrapped: '1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5',
  },
  {
    name: '4.6: 256-bit data, 256-bit KEK',
    kek: hex('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F'),
    data: hex('00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F'),
    wrapped: '28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21',
  },
];

test('the parameter is absent or the RFC 3394 default IV', async () => {
  expect(aesKeyWrap.check(undefined)).toBeUndefined();
  expect(aesKeyWrap.check(hex('a6a6a6a6a6a6a6a6'))).toBeUndefined();
  expect(await rvOf(() => aesKeyWrap.check(hex('a6a6a6a6a6a6a6a7')))).toBe(CKR_MECHANISM_PARAM_INVALID);
  expect(await rvOf(() => aesKeyWrap.check(new Uint8Array(4)))).toBe(CKR_MECHANISM_PARAM_INVALID);
});

describe.each(implementations)('CKM_AES_KEY_WRAP on %s WebCrypto', (_name, crypto) => {
  test('probes true', async () => {
    expect(await aesKeyWrap.probe?.(crypto)).toBe(true);
  });

  test.each(vectors)('RFC 3394 $name: wrap, unwrap, encrypt, decrypt', async (v) => {
    const kek = keyAccess(crypto, v.kek, CKK_AES);
    const wrapped = await aesKeyWrap.wrap!(kek, keyAccess(crypto, v.data, CKK_AES), undefined, crypto);
    expect(toHex(wrapped)).toBe(v.wrapped);
    const m = await aesKeyWrap.unwrap!(kek, wrapped, request(CKK_AES), undefined, crypto);
    expect(toHex(await materialBytes(crypto, m))).toBe(toHex(v.data));
    expect(toHex(await run(await aesKeyWrap.encrypt!(kek, undefined, crypto), v.data))).toBe(v.wrapped);
    expect(toHex(await run(await aesKeyWrap.decrypt!(kek, undefined, crypto), hex(v.wrapped)))).toBe(toHex(v.data));
  });

  test('integrity and length failures are CK_RVs', async () => {
    const v = vectors[0]!;
    const kek = keyAccess(crypto, v.kek, CKK_AES);
    const bad = hex(v.wrapped);
    bad[5]! ^= 1;
    expect(await rvOf(aesKeyWrap.unwrap!(kek, bad, request(CKK_AES), undefined, crypto))).toBe(CKR_WRAPPED_KEY_INVALID);
    expect(await rvOf(aesKeyWrap.unwrap!(kek, bad.subarray(0, 20), request(CKK_AES), undefined, crypto))).toBe(
      CKR_WRAPPED_KEY_LEN_RANGE,
    );
    expect(await rvOf(run(await aesKeyWrap.decrypt!(kek, undefined, crypto), bad))).toBe(CKR_ENCRYPTED_DATA_INVALID);
    expect(await rvOf(run(await aesKeyWrap.decrypt!(kek, undefined, crypto), bad.subarray(0, 16)))).toBe(
      CKR_ENCRYPTED_DATA_LEN_RANGE,
    );
    expect(await rvOf(run(await aesKeyWrap.encrypt!(kek, undefined, crypto), new Uint8Array(20)))).toBe(
      CKR_DATA_LEN_RANGE,
    );
    expect(await rvOf(run(await aesKeyWrap.encrypt!(kek, undefined, crypto), new Uint8Array(8)))).toBe(
      CKR_DATA_LEN_RANGE,
    );
  });

  test('a key whose value is not a multiple of 8 bytes cannot be wrapped', async () => {
    const kek = keyAccess(crypto, vectors[0]!.kek, CKK_AES);
    const odd = keyAccess(crypto, new Uint8Array(20).fill(7), CKK_GENERIC_SECRET);
    expect(await rvOf(aesKeyWrap.wrap!(kek, odd, undefined, crypto))).toBe(CKR_KEY_SIZE_RANGE);
  });

  test('EC private keys wrap as PKCS#8 when its length is a multiple of 8', async () => {
    const kek = keyAccess(crypto, vectors[1]!.kek, CKK_AES);
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])) as CryptoKeyPair;
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
    const priv = keyAccess(crypto, pkcs8, CKK_EC, {
      objectClass: CKO_PRIVATE_KEY,
      format: 'pkcs8',
      attributes: { [CKA_EC_PARAMS]: hex('06082a8648ce3d030107') },
    });
    if (pkcs8.length % 8 !== 0) {
      expect(await rvOf(aesKeyWrap.wrap!(kek, priv, undefined, crypto))).toBe(CKR_KEY_SIZE_RANGE);
      return;
    }
    const wrapped = await aesKeyWrap.wrap!(kek, priv, undefined, crypto);
    const m = await aesKeyWrap.unwrap!(kek, wrapped, request(CKK_EC, { [CKA_CLASS]: CKO_PRIVATE_KEY }), undefined, crypto);
    expect(toHex(await materialBytes(crypto, m))).toBe(toHex(pkcs8));
  });
});
