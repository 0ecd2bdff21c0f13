/** The asymmetric providers and codecs driven through the public Cryptoki surface (engine + seam). */
import {
  CKA_CLASS,
  CKA_COEFFICIENT,
  CKA_DECRYPT,
  CKA_DERIVE,
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_ENCRYPT,
  CKA_EXPONENT_1,
  CKA_EXPONENT_2,
  CKA_EXTRACTABLE,
  CKA_KEY_TYPE,
  CKA_MODULUS,
  CKA_MODULUS_BITS,
  CKA_PRIME_1,
  CKA_PRIME_2,
  CKA_PRIVATE_EXPONENT,
  CKA_PUBLIC_EXPONENT,
  CKA_SENSITIVE,
  CKA_SIGN,
  CKA_TOKEN,
  CKA_UNWRAP,
  CKA_VALUE,
  CKA_VALUE_LEN,
  CKA_VERIFY,
  CKA_WRAP,
  CKD_NULL,
  CKF_RW_SESSION,
  CKF_SERIAL_SESSION,
  CKG_MGF1_SHA256,
  CKK_AES,
  CKK_EC,
  CKK_EC_EDWARDS,
  CKK_GENERIC_SECRET,
  CKK_RSA,
  CKM_AES_KEY_GEN,
  CKM_ECDH1_DERIVE,
  CKM_ECDSA_SHA256,
  CKM_EC_EDWARDS_KEY_PAIR_GEN,
  CKM_EC_KEY_PAIR_GEN,
  CKM_EDDSA,
  CKM_RSA_PKCS_KEY_PAIR_GEN,
  CKM_RSA_PKCS_OAEP,
  CKM_SHA256,
  CKM_SHA256_RSA_PKCS,
  CKM_SHA256_RSA_PKCS_PSS,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKO_SECRET_KEY,
  CKU_SO,
  CKU_USER,
  Cryptoki,
} from '@vhsm/token';
import { beforeAll, describe, expect, test } from 'vitest';
import { hex, unhex, utf8 } from './fixture.js';
import { RSA_1024, textbookPkcs1Sign } from './vectors.js';

const P256 = unhex('06082a8648ce3d030107');
let p11: Cryptoki;
let session: number;

beforeAll(async () => {
  p11 = new Cryptoki({ pbkdf2Iterations: 1000, policy: 'spec' });
  await p11.C_Initialize();
  const [slot] = await p11.C_GetSlotList(true);
  await p11.C_InitToken(slot!, 'so-pin-1234', 'asymmetric');
  session = await p11.C_OpenSession(slot!, CKF_SERIAL_SESSION | CKF_RW_SESSION);
  await p11.C_Login(session, CKU_SO, 'so-pin-1234');
  await p11.C_InitPIN(session, 'user-pin-1234');
  await p11.C_Logout(session);
  await p11.C_Login(session, CKU_USER, 'user-pin-1234');
});

async function get(object: number, type: number): Promise<unknown> {
  const [a] = await p11.C_GetAttributeValue(session, object, [{ type }]);
  return a?.value;
}

describe('through Cryptoki', () => {
  test('the mechanism list has every asymmetric mechanism', async () => {
    const list = await p11.C_GetMechanismList(0);
    for (const m of [CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS, CKM_RSA_PKCS_OAEP, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA_SHA256, CKM_ECDH1_DERIVE, CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA]) {
      expect(list).toContain(m);
    }
  });

  test('EC: generate, read CKA_EC_POINT, sign multi-part, verify', async () => {
    const { publicKey, privateKey } = await p11.C_GenerateKeyPair(
      session,
      { mechanism: CKM_EC_KEY_PAIR_GEN },
      [{ type: CKA_EC_PARAMS, value: P256 }, { type: CKA_VERIFY, value: true }],
      [{ type: CKA_SIGN, value: true }],
    );
    const point = (await get(publicKey, CKA_EC_POINT)) as Uint8Array;
    expect(hex(point.subarray(0, 3))).toBe('044104');
    expect(await get(privateKey, CKA_EC_PARAMS)).toEqual(P256);
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey);
    await p11.C_SignUpdate(session, utf8('hello '));
    await p11.C_SignUpdate(session, utf8('world'));
    const signature = await p11.C_SignFinal(session);
    expect(signature.length).toBe(64);
    await p11.C_VerifyInit(session, { mechanism: CKM_ECDSA_SHA256 }, publicKey);
    expect(await p11.C_Verify(session, utf8('hello world'), signature)).toBe(true);
    await p11.C_VerifyInit(session, { mechanism: CKM_ECDSA_SHA256 }, publicKey);
    expect(await p11.C_Verify(session, utf8('hello world!'), signature)).toBe(false);
  });

  test('RSA: generate, PKCS#1 v1.5, PSS, OAEP', async () => {
    const { publicKey, privateKey } = await p11.C_GenerateKeyPair(
      session,
      { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
      [{ type: CKA_MODULUS_BITS, value: 1024 }, { type: CKA_VERIFY, value: true }, { type: CKA_ENCRYPT, value: true }],
      [{ type: CKA_SIGN, value: true }, { type: CKA_DECRYPT, value: true }],
    );
    expect(((await get(publicKey, CKA_MODULUS)) as Uint8Array).length).toBe(128);
    expect(await get(privateKey, CKA_MODULUS)).toEqual(await get(publicKey, CKA_MODULUS));
    for (const mechanism of [
      { mechanism: CKM_SHA256_RSA_PKCS },
      { mechanism: CKM_SHA256_RSA_PKCS_PSS, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, saltLen: 32 } },
    ]) {
      await p11.C_SignInit(session, mechanism, privateKey);
      const signature = await p11.C_Sign(session, utf8('data'));
      await p11.C_VerifyInit(session, mechanism, publicKey);
      expect(await p11.C_Verify(session, utf8('data'), signature)).toBe(true);
    }
    const oaep = { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 } };
    await p11.C_EncryptInit(session, oaep, publicKey);
    const ciphertext = await p11.C_Encrypt(session, utf8('secret message'));
    await p11.C_DecryptInit(session, oaep, privateKey);
    expect(hex(await p11.C_Decrypt(session, ciphertext))).toBe(hex(utf8('secret message')));
  });

  test('RSA OAEP wraps and unwraps an AES key', async () => {
    const { publicKey, privateKey } = await p11.C_GenerateKeyPair(
      session,
      { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
      [{ type: CKA_MODULUS_BITS, value: 2048 }, { type: CKA_WRAP, value: true }],
      [{ type: CKA_UNWRAP, value: true }],
    );
    const aes = await p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [
      { type: CKA_VALUE_LEN, value: 16 },
      { type: CKA_EXTRACTABLE, value: true },
      { type: CKA_SENSITIVE, value: false },
    ]);
    const oaep = { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 } };
    const wrapped = await p11.C_WrapKey(session, oaep, publicKey, aes);
    const unwrapped = await p11.C_UnwrapKey(session, oaep, privateKey, wrapped, [
      { type: CKA_CLASS, value: CKO_SECRET_KEY },
      { type: CKA_KEY_TYPE, value: CKK_AES },
      { type: CKA_SENSITIVE, value: false },
      { type: CKA_EXTRACTABLE, value: true },
    ]);
    expect(await get(unwrapped, CKA_VALUE)).toEqual(await get(aes, CKA_VALUE));
  });

  test('ECDH: both sides derive the same secret', async () => {
    const pair = () =>
      p11.C_GenerateKeyPair(session, { mechanism: CKM_EC_KEY_PAIR_GEN }, [{ type: CKA_EC_PARAMS, value: P256 }], [{ type: CKA_DERIVE, value: true }]);
    const a = await pair();
    const b = await pair();
    const derive = async (mine: number, theirs: number) =>
      p11.C_DeriveKey(
        session,
        { mechanism: CKM_ECDH1_DERIVE, parameter: { kdf: CKD_NULL, publicData: (await get(theirs, CKA_EC_POINT)) as Uint8Array } },
        mine,
        [
          { type: CKA_CLASS, value: CKO_SECRET_KEY },
          { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET },
          { type: CKA_VALUE_LEN, value: 16 },
          { type: CKA_SENSITIVE, value: false },
          { type: CKA_EXTRACTABLE, value: true },
        ],
      );
    const ka = await derive(a.privateKey, b.publicKey);
    const kb = await derive(b.privateKey, a.publicKey);
    const va = (await get(ka, CKA_VALUE)) as Uint8Array;
    expect(va.length).toBe(16);
    expect(await get(kb, CKA_VALUE)).toEqual(va);
  });

  test('Ed25519: generate, sign, verify', async () => {
    const { publicKey, privateKey } = await p11.C_GenerateKeyPair(
      session,
      { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN },
      [{ type: CKA_EC_PARAMS, value: unhex('06032b6570') }, { type: CKA_VERIFY, value: true }],
      [{ type: CKA_SIGN, value: true }],
    );
    expect(await get(publicKey, CKA_KEY_TYPE)).toBe(CKK_EC_EDWARDS);
    await p11.C_SignInit(session, { mechanism: CKM_EDDSA }, privateKey);
    const signature = await p11.C_Sign(session, utf8('ed'));
    await p11.C_VerifyInit(session, { mechanism: CKM_EDDSA }, publicKey);
    expect(await p11.C_Verify(session, utf8('ed'), signature)).toBe(true);
  });

  test('C_CreateObject: an RSA private key from components signs the textbook value and reads back', async () => {
    const components = [
      [CKA_MODULUS, RSA_1024.n],
      [CKA_PUBLIC_EXPONENT, RSA_1024.e],
      [CKA_PRIVATE_EXPONENT, RSA_1024.d],
      [CKA_PRIME_1, RSA_1024.p],
      [CKA_PRIME_2, RSA_1024.q],
      [CKA_EXPONENT_1, RSA_1024.dp],
      [CKA_EXPONENT_2, RSA_1024.dq],
      [CKA_COEFFICIENT, RSA_1024.qi],
    ] as const;
    const key = await p11.C_CreateObject(session, [
      { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
      { type: CKA_KEY_TYPE, value: CKK_RSA },
      { type: CKA_TOKEN, value: false },
      { type: CKA_SIGN, value: true },
      { type: CKA_SENSITIVE, value: false },
      { type: CKA_EXTRACTABLE, value: true },
      ...components.map(([type, value]) => ({ type, value: unhex(value) })),
    ]);
    await p11.C_SignInit(session, { mechanism: CKM_SHA256_RSA_PKCS }, key);
    expect(hex(await p11.C_Sign(session, utf8('created')))).toBe(hex(textbookPkcs1Sign(RSA_1024, 'SHA-256', utf8('created'))));
    expect(hex((await get(key, CKA_PRIME_2)) as Uint8Array)).toBe(RSA_1024.q);
    const pub = await p11.C_CreateObject(session, [
      { type: CKA_CLASS, value: CKO_PUBLIC_KEY },
      { type: CKA_KEY_TYPE, value: CKK_EC },
      { type: CKA_EC_PARAMS, value: P256 },
      {
        type: CKA_EC_POINT,
        value: unhex('0441' + '04B7E08AFDFE94BAD3F1DC8C734798BA1C62B3A0AD1E9EA2A38201CD0889BC7A193603F747959DBF7A4BB226E41928729063ADC7AE43529E61B563BBC606CC5E09'),
      },
      { type: CKA_VERIFY, value: true },
    ]);
    await p11.C_VerifyInit(session, { mechanism: CKM_ECDSA_SHA256 }, pub);
    const nist = unhex(
      '2B42F576D07F4165FF65D1F3B1500F81E44C316F1F0B3EF57325B69ACA46104FDC42C2122D6392CD3E3A993A89502A8198C1886FE69D262C4B329BDB6B63FAF1',
    );
    expect(await p11.C_Verify(session, utf8('Example of ECDSA with P-256'), nist)).toBe(true);
  });
});
