import { hkdfSync, pbkdf2Sync } from 'node:crypto';
import {
  CKA_KEY_GEN_MECHANISM,
  CKA_VALUE_LEN,
  CKF_HKDF_SALT_DATA,
  CKF_HKDF_SALT_KEY,
  CKF_HKDF_SALT_NULL,
  CKK_AES,
  CKK_GENERIC_SECRET,
  CKK_HKDF,
  CKM_HKDF_KEY_GEN,
  CKM_PKCS5_PBKD2,
  CKM_SHA224,
  CKM_SHA256,
  CKM_SHA_1,
  CKP_PKCS5_PBKD2_HMAC_SHA1,
  CKP_PKCS5_PBKD2_HMAC_SHA224,
  CKP_PKCS5_PBKD2_HMAC_SHA256,
  CKP_PKCS5_PBKD2_HMAC_SHA512,
  CKR_MECHANISM_PARAM_INVALID,
  CKR_TEMPLATE_INCOMPLETE,
  CKR_TEMPLATE_INCONSISTENT,
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKZ_SALT_SPECIFIED,
} from '@vhsm/pkcs11';
import { describe, expect, test } from 'vitest';
import { hkdfDerive, hkdfKeyGen } from '../../../src/mechanisms/symmetric/hkdf.js';
import { pbkdf2 } from '../../../src/mechanisms/symmetric/pbkdf2.js';
import { attribute, hex, implementations, keyAccess, materialBytes, request, rvOf, toHex, utf8 } from './fixture.js';

const SALT = hex('000102030405060708090a0b0c');
const INFO = hex('f0f1f2f3f4f5f6f7f8f9');
const hkdf = (prf: number, saltType: number, extra: Record<string, unknown> = {}) => ({
  extract: true,
  expand: true,
  prfHashMechanism: prf,
  saltType,
  ...extra,
});

// RFC 5869 appendix A, test cases 1, 3 and 4.
const hkdfVectors = [
  {
    name: 'A.1 SHA-256',
    ikm: new Uint8Array(22).fill(0x0b),
    params: hkdf(CKM_SHA256, CKF_HKDF_SALT_DATA, { salt: SALT, info: INFO }),
    okm: '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
  },
  {
    name: 'A.3 SHA-256, no salt, no info',
    ikm: new Uint8Array(22).fill(0x0b),
    params: hkdf(CKM_SHA256, CKF_HKDF_SALT_NULL),
    okm: '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
  },
  {
    name: 'A.4 SHA-1',
    ikm: new Uint8Array(11).fill(0x0b),
    params: hkdf(CKM_SHA_1, CKF_HKDF_SALT_DATA, { salt: SALT, info: INFO }),
    okm: '085a01ea1b10f36933068b56efa5ad81a4f14b822f5b091568a9cdd4f155fda2c22e422478d305f3f896',
  },
];

const pbkdf2Params = (password: string, salt: string, iterations: number, prf: number) => ({
  saltSource: CKZ_SALT_SPECIFIED,
  saltSourceData: utf8(salt),
  iterations,
  prf,
  password,
});

// RFC 6070 (PBKDF2-HMAC-SHA1) and RFC 7914 §11 (PBKDF2-HMAC-SHA256).
const pbkdf2Vectors = [
  { params: pbkdf2Params('password', 'salt', 1, CKP_PKCS5_PBKD2_HMAC_SHA1), dk: '0c60c80f961f0e71f3a9b524af6012062fe037a6' },
  { params: pbkdf2Params('password', 'salt', 2, CKP_PKCS5_PBKD2_HMAC_SHA1), dk: 'ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957' },
  { params: pbkdf2Params('password', 'salt', 4096, CKP_PKCS5_PBKD2_HMAC_SHA1), dk: '4b007901b765489abead49d926f721d065a429c1' },
  {
    params: pbkdf2Params('passwordPASSWORDpassword', 'saltSALTsaltSALTsaltSALTsaltSALTsalt', 4096, CKP_PKCS5_PBKD2_HMAC_SHA1),
    dk: '3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038',
  },
  {
    params: pbkdf2Params('passwd', 'salt', 1, CKP_PKCS5_PBKD2_HMAC_SHA256),
    dk: '55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783',
  },
];

describe('KDF parameter validation (no crypto)', () => {
  test.each([
    [undefined],
    [{ ...hkdf(CKM_SHA256, CKF_HKDF_SALT_NULL), extract: false }],
    [{ ...hkdf(CKM_SHA256, CKF_HKDF_SALT_NULL), expand: false }],
    [{ ...hkdf(CKM_SHA256, CKF_HKDF_SALT_NULL), expand: 1 }],
    [hkdf(CKM_SHA224, CKF_HKDF_SALT_NULL)],
    [hkdf(CKM_SHA256, CKF_HKDF_SALT_KEY, { saltKey: 5 })],
    [hkdf(CKM_SHA256, CKF_HKDF_SALT_DATA)],
    [hkdf(CKM_SHA256, CKF_HKDF_SALT_DATA, { salt: new Uint8Array(0) })],
    [hkdf(CKM_SHA256, CKF_HKDF_SALT_NULL, { salt: SALT })],
    [hkdf(CKM_SHA256, 3)],
    [hkdf(CKM_SHA256, CKF_HKDF_SALT_NULL, { info: 'x' })],
  ])('HKDF refuses %o', async (parameter) => {
    expect(await rvOf(() => hkdfDerive.check(parameter))).toBe(CKR_MECHANISM_PARAM_INVALID);
  });

  test('HKDF names the unsupported half', () => {
    expect(() => hkdfDerive.check({ ...hkdf(CKM_SHA256, CKF_HKDF_SALT_NULL), expand: false })).toThrow(/extract\/expand/);
  });

  const good = pbkdf2Params('pw', 'salt', 1000, CKP_PKCS5_PBKD2_HMAC_SHA256);
  test.each([
    [undefined],
    [{ ...good, saltSource: 2 }],
    [{ ...good, saltSourceData: undefined }],
    [{ ...good, iterations: 0 }],
    [{ ...good, iterations: 2 ** 31 }],
    [{ ...good, prf: CKP_PKCS5_PBKD2_HMAC_SHA224 }],
    [{ ...good, prfData: new Uint8Array(2) }],
    [{ ...good, password: 42 }],
  ])('PBKDF2 refuses %o', async (parameter) => {
    expect(await rvOf(() => pbkdf2.check(parameter))).toBe(CKR_MECHANISM_PARAM_INVALID);
  });
});

describe.each(implementations)('KDFs on %s WebCrypto', (_name, crypto) => {
  test('probes true', async () => {
    for (const p of [hkdfDerive, hkdfKeyGen, pbkdf2]) expect(await p.probe?.(crypto)).toBe(true);
  });

  test.each(hkdfVectors)('HKDF RFC 5869 $name into a generic secret', async (v) => {
    for (const baseType of [CKK_GENERIC_SECRET, CKK_HKDF]) {
      const base = keyAccess(crypto, v.ikm, baseType);
      const m = await hkdfDerive.derive!(base, request(CKK_GENERIC_SECRET, { [CKA_VALUE_LEN]: 42 }), hkdfDerive.check(v.params), crypto);
      expect(toHex(await materialBytes(crypto, m))).toBe(v.okm);
      expect(attribute(m, CKA_VALUE_LEN)).toBe(42);
      expect(base.requests.every((r) => !r.extractable && (r.algorithm as { name: string }).name === 'HKDF')).toBe(true);
    }
  });

  test('HKDF from an AES base key into an AES key matches node:crypto', async () => {
    const ikm = crypto.getRandomValues(new Uint8Array(32));
    const params = hkdfDerive.check(hkdf(CKM_SHA256, CKF_HKDF_SALT_DATA, { salt: SALT, info: INFO }));
    const m = await hkdfDerive.derive!(keyAccess(crypto, ikm, CKK_AES), request(CKK_AES, { [CKA_VALUE_LEN]: 32 }), params, crypto);
    expect((m.key.algorithm as AesKeyAlgorithm).name).toBe('AES-GCM');
    expect(toHex(await materialBytes(crypto, m))).toBe(toHex(new Uint8Array(hkdfSync('sha256', ikm, SALT, INFO, 32))));
  });

  test('HKDF template errors', async () => {
    const base = keyAccess(crypto, new Uint8Array(16).fill(1), CKK_GENERIC_SECRET);
    const p = hkdfDerive.check(hkdf(CKM_SHA_1, CKF_HKDF_SALT_NULL));
    const derive = (keyType: number, values = {}) => hkdfDerive.derive!(base, request(keyType, values), p, crypto);
    expect(await rvOf(derive(CKK_GENERIC_SECRET))).toBe(CKR_TEMPLATE_INCOMPLETE);
    expect(await rvOf(derive(CKK_AES, { [CKA_VALUE_LEN]: 20 }))).toBe(CKR_ATTRIBUTE_VALUE_INVALID);
    // SHA-1 HKDF stops at 255 × 20 = 5100 bytes; our generic secrets stop at 512 first.
    expect(await rvOf(derive(CKK_GENERIC_SECRET, { [CKA_VALUE_LEN]: 513 }))).toBe(CKR_ATTRIBUTE_VALUE_INVALID);
  });

  test('CKM_HKDF_KEY_GEN makes CKK_HKDF keys only', async () => {
    const m = await hkdfKeyGen.generateKey!(request(CKK_HKDF, { [CKA_VALUE_LEN]: 32 }), undefined, crypto);
    expect((await materialBytes(crypto, m)).length).toBe(32);
    expect(attribute(m, CKA_KEY_GEN_MECHANISM)).toBe(CKM_HKDF_KEY_GEN);
    expect(await rvOf(hkdfKeyGen.generateKey!(request(CKK_AES, { [CKA_VALUE_LEN]: 32 }), undefined, crypto))).toBe(
      CKR_TEMPLATE_INCONSISTENT,
    );
  });

  test.each(pbkdf2Vectors)('PBKDF2 $params.password / $params.iterations / prf $params.prf', async (v) => {
    const len = v.dk.length / 2;
    const m = await pbkdf2.generateKey!(request(CKK_GENERIC_SECRET, { [CKA_VALUE_LEN]: len }), pbkdf2.check(v.params), crypto);
    expect(toHex(await materialBytes(crypto, m))).toBe(v.dk);
    expect(attribute(m, CKA_VALUE_LEN)).toBe(len);
    expect(attribute(m, CKA_KEY_GEN_MECHANISM)).toBe(CKM_PKCS5_PBKD2);
  });

  test('PBKDF2 into an AES key, password as bytes, SHA-512, matches node:crypto', async () => {
    const password = crypto.getRandomValues(new Uint8Array(12));
    const params = { ...pbkdf2Params('', 'NaCl', 77, CKP_PKCS5_PBKD2_HMAC_SHA512), password };
    const m = await pbkdf2.generateKey!(request(CKK_AES, { [CKA_VALUE_LEN]: 16 }), pbkdf2.check(params), crypto);
    expect(toHex(await materialBytes(crypto, m))).toBe(pbkdf2Sync(password, 'NaCl', 77, 16, 'sha512').toString('hex'));
    expect(await rvOf(pbkdf2.generateKey!(request(CKK_AES), pbkdf2.check(params), crypto))).toBe(CKR_TEMPLATE_INCOMPLETE);
  });
});

test('HKDF and PBKDF2 agree across the two implementations', async () => {
  const [[, a], [, b]] = implementations as [[string, Crypto], [string, Crypto]];
  const ikm = a.getRandomValues(new Uint8Array(40));
  const hp = hkdfDerive.check(hkdf(CKM_SHA256, CKF_HKDF_SALT_DATA, { salt: SALT, info: INFO }));
  const req = request(CKK_GENERIC_SECRET, { [CKA_VALUE_LEN]: 77 });
  const ha = await hkdfDerive.derive!(keyAccess(a, ikm, CKK_GENERIC_SECRET), req, hp, a);
  const hb = await hkdfDerive.derive!(keyAccess(b, ikm, CKK_GENERIC_SECRET), req, hp, b);
  expect(toHex(await materialBytes(a, ha))).toBe(toHex(await materialBytes(b, hb)));
  const pp = pbkdf2.check(pbkdf2Params('correct horse', 'battery', 300, CKP_PKCS5_PBKD2_HMAC_SHA256));
  const pa = await pbkdf2.generateKey!(request(CKK_AES, { [CKA_VALUE_LEN]: 32 }), pp, a);
  const pb = await pbkdf2.generateKey!(request(CKK_AES, { [CKA_VALUE_LEN]: 32 }), pp, b);
  expect(toHex(await materialBytes(a, pa))).toBe(toHex(await materialBytes(b, pb)));
});
