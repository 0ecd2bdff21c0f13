import {
  CKA_VALUE,
  CKA_VALUE_LEN,
  CKK_AES,
  CKK_GENERIC_SECRET,
  CKK_HKDF,
  CKK_RSA,
  CKK_SHA256_HMAC,
  CKK_SHA384_HMAC,
  CKK_SHA512_HMAC,
  CKK_SHA_1_HMAC,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKO_SECRET_KEY,
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_KEY_NOT_WRAPPABLE,
  CKR_TEMPLATE_INCOMPLETE,
  CKR_TEMPLATE_INCONSISTENT,
} from '@vhsm/pkcs11';
import { describe, expect, test } from 'vitest';
import { secretTypes } from '../../../src/attributes/rules.js';
import { symmetricKeyTypes } from '../../../src/mechanisms/symmetric/index.js';
import { wrappableKey } from '../../../src/mechanisms/symmetric/keys.js';
import type { KeyTypeCodec } from '../../../src/mechanisms/types.js';
import { attribute, implementations, keyAccess, reader, rvOf, toHex } from './fixture.js';

const codec = (keyType: number): KeyTypeCodec => {
  const c = symmetricKeyTypes.find((x) => x.keyType === keyType);
  if (!c) throw new Error(`no codec for ${keyType}`);
  return c;
};

test('codecs cover AES, generic secret, the SHA-x HMAC types and HKDF, once each', () => {
  const types = symmetricKeyTypes.map((c) => c.keyType).sort((a, b) => a - b);
  expect(types).toEqual(
    [CKK_AES, CKK_GENERIC_SECRET, CKK_SHA_1_HMAC, CKK_SHA256_HMAC, CKK_SHA384_HMAC, CKK_SHA512_HMAC, CKK_HKDF].sort(
      (a, b) => a - b,
    ),
  );
  // What is secret is the attribute table's to say (the engine reads it there), for every codec's type.
  for (const c of symmetricKeyTypes) {
    expect(secretTypes(CKO_SECRET_KEY, c.keyType)).toEqual([CKA_VALUE]);
    expect(secretTypes(CKO_PUBLIC_KEY, c.keyType)).toEqual([]);
  }
});

describe.each(implementations)('secret key codecs on %s WebCrypto', (_name, crypto) => {
  test.each([16, 24, 32])('CKK_AES imports a %i-byte CKA_VALUE and reads it back', async (len) => {
    const value = crypto.getRandomValues(new Uint8Array(len));
    const c = codec(CKK_AES);
    const m = await c.importMaterial(CKO_SECRET_KEY, reader({ [CKA_VALUE]: value }), crypto);
    expect(m.format).toBe('raw');
    expect(attribute(m, CKA_VALUE_LEN)).toBe(len);
    const out = await c.exportSecretAttributes(CKO_SECRET_KEY, m.key, crypto);
    expect(out).toHaveLength(1);
    expect(out[0]?.type).toBe(CKA_VALUE);
    expect(toHex(out[0]?.value as Uint8Array)).toBe(toHex(value));
    // The default algorithm and usages unseal the material.
    const unsealed = await crypto.subtle.importKey('raw', value, c.defaultAlgorithm(reader()), false, c.defaultUsages(CKO_SECRET_KEY));
    expect(unsealed.type).toBe('secret');
  });

  test('CKK_AES refuses other lengths with CKR_ATTRIBUTE_VALUE_INVALID', async () => {
    for (const len of [0, 8, 15, 17, 31, 33, 64]) {
      const p = codec(CKK_AES).importMaterial(CKO_SECRET_KEY, reader({ [CKA_VALUE]: new Uint8Array(len) }), crypto);
      expect(await rvOf(p)).toBe(CKR_ATTRIBUTE_VALUE_INVALID);
    }
  });

  test.each([CKK_GENERIC_SECRET, CKK_SHA256_HMAC, CKK_HKDF])('key type %i imports 1..512 bytes', async (keyType) => {
    const c = codec(keyType);
    for (const len of [1, 13, 512]) {
      const value = crypto.getRandomValues(new Uint8Array(len));
      const m = await c.importMaterial(CKO_SECRET_KEY, reader({ [CKA_VALUE]: value }), crypto);
      expect(attribute(m, CKA_VALUE_LEN)).toBe(len);
      const out = await c.exportSecretAttributes(CKO_SECRET_KEY, m.key, crypto);
      expect(toHex(out[0]?.value as Uint8Array)).toBe(toHex(value));
    }
    for (const len of [0, 513]) {
      const p = c.importMaterial(CKO_SECRET_KEY, reader({ [CKA_VALUE]: new Uint8Array(len) }), crypto);
      expect(await rvOf(p)).toBe(CKR_ATTRIBUTE_VALUE_INVALID);
    }
    expect(await rvOf(c.importMaterial(CKO_SECRET_KEY, reader({}), crypto))).toBe(CKR_TEMPLATE_INCOMPLETE);
    expect(await rvOf(c.importMaterial(CKO_PRIVATE_KEY, reader({ [CKA_VALUE]: new Uint8Array(4) }), crypto))).toBe(
      CKR_TEMPLATE_INCONSISTENT,
    );
  });

  test('public keys and unknown private key types are not wrappable', async () => {
    const pub = keyAccess(crypto, new Uint8Array(4), CKK_RSA, { objectClass: CKO_PUBLIC_KEY, format: 'spki' });
    expect(await rvOf(wrappableKey(pub))).toBe(CKR_KEY_NOT_WRAPPABLE);
    const odd = keyAccess(crypto, new Uint8Array(4), 0x7777, { objectClass: CKO_PRIVATE_KEY, format: 'pkcs8' });
    expect(await rvOf(wrappableKey(odd))).toBe(CKR_KEY_NOT_WRAPPABLE);
  });
});
