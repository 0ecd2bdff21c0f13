/** The symmetric providers seen through Cryptoki: the seam with the engine, end to end. */
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import {
  CKA_CLASS,
  CKA_DECRYPT,
  CKA_DERIVE,
  CKA_ENCRYPT,
  CKA_EXTRACTABLE,
  CKA_KEY_GEN_MECHANISM,
  CKA_KEY_TYPE,
  CKA_SENSITIVE,
  CKA_SIGN,
  CKA_TOKEN,
  CKA_UNWRAP,
  CKA_VALUE,
  CKA_VALUE_LEN,
  CKA_VERIFY,
  CKA_WRAP,
  CKF_HKDF_SALT_DATA,
  CKK_AES,
  CKK_GENERIC_SECRET,
  CKM_AES_CBC,
  CKM_AES_CBC_PAD,
  CKM_AES_ECB,
  CKM_AES_GCM,
  CKM_AES_KEY_GEN,
  CKM_AES_KEY_WRAP,
  CKM_HKDF_DERIVE,
  CKM_PKCS5_PBKD2,
  CKM_SHA224,
  CKM_SHA224_HMAC,
  CKM_SHA256,
  CKM_SHA256_HMAC,
  CKO_SECRET_KEY,
  CKP_PKCS5_PBKD2_HMAC_SHA256,
  CKR_ENCRYPTED_DATA_INVALID,
  CKR_MECHANISM_INVALID,
  CKR_WRAPPED_KEY_INVALID,
  CKZ_SALT_SPECIFIED,
} from '@vhsm/token';
import type { Cryptoki } from '@vhsm/token';
import { expect, test } from 'vitest';
import { expectRv, userSession } from '../../engine/helpers.js';
import { hex, toHex, utf8 } from './fixture.js';

async function secret(p11: Cryptoki, session: number, value: Uint8Array, keyType: number, extra: { type: number; value: boolean }[] = []) {
  return p11.C_CreateObject(session, [
    { type: CKA_CLASS, value: CKO_SECRET_KEY },
    { type: CKA_KEY_TYPE, value: keyType },
    { type: CKA_VALUE, value },
    { type: CKA_SENSITIVE, value: false },
    { type: CKA_EXTRACTABLE, value: true },
    ...extra,
  ]);
}

test('every symmetric mechanism is listed, CKM_SHA224_HMAC is not', async () => {
  const { p11, slot } = await userSession();
  const list = await p11.C_GetMechanismList(slot);
  for (const m of [CKM_AES_KEY_GEN, CKM_AES_GCM, CKM_AES_CBC_PAD, CKM_AES_KEY_WRAP, CKM_AES_CBC, CKM_AES_ECB, CKM_SHA224, CKM_SHA256_HMAC, CKM_HKDF_DERIVE, CKM_PKCS5_PBKD2]) {
    expect(list).toContain(m);
  }
  expect(list).not.toContain(CKM_SHA224_HMAC);
});

test('generate, encrypt in parts, wrap and unwrap, HMAC, digest, derive', async () => {
  const { p11, session } = await userSession();
  const kek = await p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [
    { type: CKA_VALUE_LEN, value: 32 },
    { type: CKA_WRAP, value: true },
    { type: CKA_UNWRAP, value: true },
  ]);
  const [gen] = await p11.C_GetAttributeValue(session, kek, [{ type: CKA_KEY_GEN_MECHANISM }]);
  expect(gen?.value).toBe(CKM_AES_KEY_GEN);

  const raw = hex('2b7e151628aed2a6abf7158809cf4f3c');
  const key = await secret(p11, session, raw, CKK_AES, [
    { type: CKA_ENCRYPT, value: true },
    { type: CKA_DECRYPT, value: true },
  ]);
  // SP 800-38A F.2.1 through C_EncryptUpdate.
  const iv = hex('000102030405060708090a0b0c0d0e0f');
  await p11.C_EncryptInit(session, { mechanism: CKM_AES_CBC, parameter: iv }, key);
  const p = hex('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51');
  const c1 = await p11.C_EncryptUpdate(session, p.subarray(0, 20));
  const c2 = await p11.C_EncryptUpdate(session, p.subarray(20));
  const c3 = await p11.C_EncryptFinal(session);
  expect(toHex(c1) + toHex(c2) + toHex(c3)).toBe('7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2');

  // Wrap under GCM and KW, unwrap, compare values.
  const gcm = { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12).fill(1) } };
  const wrapped = await p11.C_WrapKey(session, gcm, kek, key);
  const template = [
    { type: CKA_CLASS, value: CKO_SECRET_KEY },
    { type: CKA_KEY_TYPE, value: CKK_AES },
    { type: CKA_SENSITIVE, value: false },
    { type: CKA_EXTRACTABLE, value: true },
  ];
  const back = await p11.C_UnwrapKey(session, gcm, kek, wrapped, template);
  const attrs = await p11.C_GetAttributeValue(session, back, [{ type: CKA_VALUE }, { type: CKA_VALUE_LEN }]);
  expect(toHex(attrs[0]?.value as Uint8Array)).toBe(toHex(raw));
  expect(attrs[1]?.value).toBe(16);
  wrapped[0]! ^= 1;
  await expectRv(p11.C_UnwrapKey(session, gcm, kek, wrapped, template), CKR_WRAPPED_KEY_INVALID);
  const kw = await p11.C_WrapKey(session, { mechanism: CKM_AES_KEY_WRAP }, kek, key);
  expect(kw.length).toBe(24);

  // GCM tamper through C_Decrypt.
  await p11.C_EncryptInit(session, gcm, key);
  const ct = await p11.C_Encrypt(session, utf8('hello'));
  ct[0]! ^= 1;
  await p11.C_DecryptInit(session, gcm, key);
  await expectRv(p11.C_Decrypt(session, ct), CKR_ENCRYPTED_DATA_INVALID);

  // HMAC.
  const mac = await secret(p11, session, utf8('Jefe'), CKK_GENERIC_SECRET, [
    { type: CKA_SIGN, value: true },
    { type: CKA_VERIFY, value: true },
  ]);
  await p11.C_SignInit(session, { mechanism: CKM_SHA256_HMAC }, mac);
  await p11.C_SignUpdate(session, utf8('what do ya want '));
  await p11.C_SignUpdate(session, utf8('for nothing?'));
  const sig = await p11.C_SignFinal(session);
  expect(toHex(sig)).toBe(createHmac('sha256', 'Jefe').update('what do ya want for nothing?').digest('hex'));
  await p11.C_VerifyInit(session, { mechanism: CKM_SHA256_HMAC }, mac);
  expect(await p11.C_Verify(session, utf8('what do ya want for nothing?'), sig)).toBe(true);

  // SHA-224 digest.
  await p11.C_DigestInit(session, { mechanism: CKM_SHA224 });
  expect(toHex(await p11.C_Digest(session, utf8('abc')))).toBe(createHash('sha224').update('abc').digest('hex'));
  await p11.C_DigestInit(session, { mechanism: CKM_SHA256 });
  await p11.C_DigestUpdate(session, utf8('a'));
  await p11.C_DigestUpdate(session, utf8('bc'));
  expect(toHex(await p11.C_DigestFinal(session))).toBe(createHash('sha256').update('abc').digest('hex'));

  // HKDF from a generic secret.
  const ikm = new Uint8Array(22).fill(0x0b);
  const base = await secret(p11, session, ikm, CKK_GENERIC_SECRET, [{ type: CKA_DERIVE, value: true }]);
  const salt = hex('000102030405060708090a0b0c');
  const info = hex('f0f1f2f3f4f5f6f7f8f9');
  const derived = await p11.C_DeriveKey(
    session,
    { mechanism: CKM_HKDF_DERIVE, parameter: { extract: true, expand: true, prfHashMechanism: CKM_SHA256, saltType: CKF_HKDF_SALT_DATA, salt, info } },
    base,
    [
      { type: CKA_CLASS, value: CKO_SECRET_KEY },
      { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET },
      { type: CKA_VALUE_LEN, value: 42 },
      { type: CKA_SENSITIVE, value: false },
      { type: CKA_EXTRACTABLE, value: true },
    ],
  );
  const [okm] = await p11.C_GetAttributeValue(session, derived, [{ type: CKA_VALUE }]);
  expect(toHex(okm?.value as Uint8Array)).toBe(Buffer.from(hkdfSync('sha256', ikm, salt, info, 42)).toString('hex'));

  // PBKDF2 key generation.
  const pbk = await p11.C_GenerateKey(
    session,
    {
      mechanism: CKM_PKCS5_PBKD2,
      parameter: { saltSource: CKZ_SALT_SPECIFIED, saltSourceData: utf8('salt'), iterations: 1, prf: CKP_PKCS5_PBKD2_HMAC_SHA256, password: 'passwd' },
    },
    [
      { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET },
      { type: CKA_VALUE_LEN, value: 64 },
      { type: CKA_SENSITIVE, value: false },
      { type: CKA_EXTRACTABLE, value: true },
      { type: CKA_TOKEN, value: false },
    ],
  );
  const [dk] = await p11.C_GetAttributeValue(session, pbk, [{ type: CKA_VALUE }]);
  expect(toHex(dk?.value as Uint8Array)).toBe(
    '55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783',
  );

  await expectRv(p11.C_DigestInit(session, { mechanism: CKM_SHA224_HMAC }), CKR_MECHANISM_INVALID);
});
