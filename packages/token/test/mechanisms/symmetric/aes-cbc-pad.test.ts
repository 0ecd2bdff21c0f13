import {
  CKA_CLASS,
  CKK_AES,
  CKK_EC_EDWARDS,
  CKK_GENERIC_SECRET,
  CKK_RSA,
  CKA_PUBLIC_EXPONENT,
  CKO_PRIVATE_KEY,
  CKR_ENCRYPTED_DATA_INVALID,
  CKR_ENCRYPTED_DATA_LEN_RANGE,
  CKR_MECHANISM_PARAM_INVALID,
  CKR_WRAPPED_KEY_INVALID,
} from '@vhsm/pkcs11';
import { describe, expect, test } from 'vitest';
import { aesCbcPad } from '../../../src/mechanisms/symmetric/aes-cbc-pad.js';
import { attribute, hex, implementations, keyAccess, materialBytes, request, run, rvOf, split, toHex } from './fixture.js';

// SP 800-38A F.2.1 (CBC-AES128): the padded output is those four blocks plus one padding block.
const KEY = hex('2b7e151628aed2a6abf7158809cf4f3c');
const IV = hex('000102030405060708090a0b0c0d0e0f');
const P = hex(
  '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710',
);
const C = '7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b273bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7';

test.each([[undefined], [new Uint8Array(15)], [new Uint8Array(17)], [{ iv: IV }]])(
  'CBC_PAD refuses the IV %o with CKR_MECHANISM_PARAM_INVALID',
  async (parameter) => {
    expect(await rvOf(() => aesCbcPad.check(parameter))).toBe(CKR_MECHANISM_PARAM_INVALID);
  },
);

describe.each(implementations)('CKM_AES_CBC_PAD on %s WebCrypto', (_name, crypto) => {
  const key = keyAccess(crypto, KEY, CKK_AES);
  const iv = aesCbcPad.check(IV);

  test('probes true', async () => {
    expect(await aesCbcPad.probe?.(crypto)).toBe(true);
  });

  test('SP 800-38A vector, one-shot', async () => {
    const ct = await run(await aesCbcPad.encrypt!(key, iv, crypto), P);
    expect(toHex(ct).slice(0, C.length)).toBe(C);
    expect(ct.length).toBe(P.length + 16);
    expect(toHex(await run(await aesCbcPad.decrypt!(key, iv, crypto), ct))).toBe(toHex(P));
  });

  test('multi-part emits whole blocks as they come and matches one-shot', async () => {
    const data = crypto.getRandomValues(new Uint8Array(77));
    const oneShot = await run(await aesCbcPad.encrypt!(key, iv, crypto), data);
    const enc = await aesCbcPad.encrypt!(key, iv, crypto);
    expect((await enc.update(data.subarray(0, 5))).length).toBe(0);
    expect((await enc.update(data.subarray(5, 40))).length).toBe(32);
    expect((await enc.update(data.subarray(40))).length).toBe(32);
    const tail = await enc.final();
    expect(tail.length).toBe(16);
    expect(toHex(tail)).toBe(toHex(oneShot.subarray(64)));

    const dec = await aesCbcPad.decrypt!(key, iv, crypto);
    // The last whole block is held back: it may be padding.
    expect((await dec.update(oneShot.subarray(0, 16))).length).toBe(0);
    // With a partial block pending, every whole block before it is plaintext.
    expect((await dec.update(oneShot.subarray(16, 50))).length).toBe(48);
    expect((await dec.update(oneShot.subarray(50))).length).toBe(16);
    expect(toHex(await dec.final())).toBe(toHex(data.subarray(64)));
    expect(toHex(await run(await aesCbcPad.decrypt!(key, iv, crypto), ...split(oneShot, 1, 31, 32, 33)))).toBe(
      toHex(data),
    );
  });

  test('empty input encrypts to one padding block', async () => {
    const ct = await run(await aesCbcPad.encrypt!(key, iv, crypto));
    expect(ct.length).toBe(16);
    expect((await run(await aesCbcPad.decrypt!(key, iv, crypto), ct)).length).toBe(0);
  });

  test('decrypt failures are CK_RVs', async () => {
    expect(await rvOf(run(await aesCbcPad.decrypt!(key, iv, crypto), hex(C).subarray(0, 20)))).toBe(
      CKR_ENCRYPTED_DATA_LEN_RANGE,
    );
    expect(await rvOf(run(await aesCbcPad.decrypt!(key, iv, crypto)))).toBe(CKR_ENCRYPTED_DATA_LEN_RANGE);
    // The SP 800-38A blocks carry no valid padding.
    expect(await rvOf(run(await aesCbcPad.decrypt!(key, iv, crypto), hex(C)))).toBe(CKR_ENCRYPTED_DATA_INVALID);
  });

  test('wraps a secret key and unwraps it; bad padding is CKR_WRAPPED_KEY_INVALID', async () => {
    const secret = hex('0011223344556677889900112233445566778899');
    const wrapped = await aesCbcPad.wrap!(key, keyAccess(crypto, secret, CKK_GENERIC_SECRET), iv, crypto);
    expect(toHex(wrapped)).toBe(toHex(await run(await aesCbcPad.encrypt!(key, iv, crypto), secret)));
    const m = await aesCbcPad.unwrap!(key, wrapped, request(CKK_GENERIC_SECRET), iv, crypto);
    expect(toHex(await materialBytes(crypto, m))).toBe(toHex(secret));
    expect(await rvOf(aesCbcPad.unwrap!(key, hex(C), request(CKK_GENERIC_SECRET), iv, crypto))).toBe(
      CKR_WRAPPED_KEY_INVALID,
    );
    expect(await rvOf(aesCbcPad.unwrap!(key, wrapped.subarray(0, 17), request(CKK_GENERIC_SECRET), iv, crypto))).toBe(
      CKR_WRAPPED_KEY_INVALID,
    );
  });

  test('wraps an Ed25519 private key as PKCS#8 where the runtime has Ed25519', async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
    const priv = keyAccess(crypto, pkcs8, CKK_EC_EDWARDS, { objectClass: CKO_PRIVATE_KEY, format: 'pkcs8' });
    const wrapped = await aesCbcPad.wrap!(key, priv, iv, crypto);
    const m = await aesCbcPad.unwrap!(key, wrapped, request(CKK_EC_EDWARDS, { [CKA_CLASS]: CKO_PRIVATE_KEY }), iv, crypto);
    expect(toHex(await materialBytes(crypto, m))).toBe(toHex(pkcs8));
  });
});

describe.each(implementations)('RSA private keys under CKM_AES_CBC_PAD on %s WebCrypto', (_name, crypto) => {
  test('wrap as PKCS#8, unwrap with the public exponent stated', async () => {
    const pair = (await crypto.subtle.generateKey(
      { name: 'RSA-PSS', hash: 'SHA-256', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]) },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
    const priv = keyAccess(crypto, pkcs8, CKK_RSA, { objectClass: CKO_PRIVATE_KEY, format: 'pkcs8' });
    const kek = keyAccess(crypto, KEY, CKK_AES);
    const iv = aesCbcPad.check(IV);
    const wrapped = await aesCbcPad.wrap!(kek, priv, iv, crypto);
    const m = await aesCbcPad.unwrap!(kek, wrapped, request(CKK_RSA, { [CKA_CLASS]: CKO_PRIVATE_KEY }), iv, crypto);
    expect(m.format).toBe('pkcs8');
    expect(toHex(await materialBytes(crypto, m))).toBe(toHex(pkcs8));
    expect(toHex(attribute(m, CKA_PUBLIC_EXPONENT) as Uint8Array)).toBe('010001');
  });
});

test('CBC_PAD agrees byte for byte across the two implementations', async () => {
  const [[, a], [, b]] = implementations as [[string, Crypto], [string, Crypto]];
  const data = a.getRandomValues(new Uint8Array(100));
  const iv = aesCbcPad.check(IV);
  const ca = await run(await aesCbcPad.encrypt!(keyAccess(a, KEY, CKK_AES), iv, a), ...split(data, 3, 50));
  const cb = await run(await aesCbcPad.encrypt!(keyAccess(b, KEY, CKK_AES), iv, b), data);
  expect(toHex(ca)).toBe(toHex(cb));
  expect(toHex(await run(await aesCbcPad.decrypt!(keyAccess(b, KEY, CKK_AES), iv, b), ...split(ca, 17)))).toBe(
    toHex(data),
  );
});
