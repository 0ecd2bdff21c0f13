/**
 * Encryption and decryption (PKCS#11 v3.0 §5.8–5.11, message-based §5.13): one-shot vs multi-part,
 * the operation state rules, the key checks, and outputs compared byte for byte with Node's
 * WebCrypto (and FIPS 197 for ECB, which WebCrypto does not have).
 */
import { webcrypto } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  CKA_CLASS, CKA_DECRYPT, CKA_ENCRYPT, CKA_KEY_TYPE, CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_VALUE,
  CKG_MGF1_SHA1, CKG_MGF1_SHA256, CKK_AES, CKK_GENERIC_SECRET, CKM_AES_CBC, CKM_AES_CBC_PAD,
  CKM_AES_CTR, CKM_AES_ECB, CKM_AES_GCM, CKM_ECDSA_SHA256, CKM_RSA_PKCS_OAEP, CKM_SHA256, CKM_SHA_1,
  CKO_SECRET_KEY, CKR_DATA_LEN_RANGE, CKR_ENCRYPTED_DATA_INVALID, CKR_ENCRYPTED_DATA_LEN_RANGE,
  CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_HANDLE_INVALID, CKR_KEY_TYPE_INCONSISTENT, CKR_MECHANISM_INVALID,
  CKR_MECHANISM_PARAM_INVALID, CKR_OPERATION_ACTIVE, CKR_OPERATION_NOT_INITIALIZED, CKR_ARGUMENTS_BAD,
  CKA_LABEL, CKO_DATA, CKF_END_OF_MESSAGE,
} from '@vhsm/token';
import type { Cryptoki, Mechanism, Template } from '@vhsm/token';
import {
  bytes, concatBytes, expectRv, generateAes, generateEc, generateRsa, hex, rsaPublicJwk, userSession,
} from './helpers.js';

const subtle = webcrypto.subtle;
const KEY = hex('000102030405060708090a0b0c0d0e0f');
const IV12 = hex('cafebabefacedbaddecaf888');
const IV16 = hex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
const MESSAGE = bytes('The quick brown fox jumps over the lazy dog, twice over: the quick brown fox.');

const aesKey = (p11: Cryptoki, session: number, extra: Template = []) => p11.C_CreateObject(session, [
  { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE, value: KEY }, ...extra,
]);

async function encryptOnce(p11: Cryptoki, session: number, mechanism: Mechanism, key: number, data: Uint8Array) {
  await p11.C_EncryptInit(session, mechanism, key);
  return p11.C_Encrypt(session, data);
}
async function decryptOnce(p11: Cryptoki, session: number, mechanism: Mechanism, key: number, data: Uint8Array) {
  await p11.C_DecryptInit(session, mechanism, key);
  return p11.C_Decrypt(session, data);
}

/** Feed `data` in uneven pieces through Update, then Final. */
async function multiPart(p11: Cryptoki, session: number, kind: 'Encrypt' | 'Decrypt', mechanism: Mechanism, key: number, data: Uint8Array) {
  await p11[`C_${kind}Init`](session, mechanism, key);
  const out: Uint8Array[] = [];
  for (const [from, to] of [[0, 1], [1, 17], [17, 18], [18, 40], [40, data.length]] as const) {
    out.push(await p11[`C_${kind}Update`](session, data.slice(from, to)));
  }
  out.push(await p11[`C_${kind}Final`](session));
  return concatBytes(...out);
}

async function nodeKey(name: string) {
  return subtle.importKey('raw', KEY, name, false, ['encrypt', 'decrypt']);
}

describe('AES, byte-identical to WebCrypto', () => {
  const gcm = { mechanism: CKM_AES_GCM, parameter: { iv: IV12, aad: bytes('header'), tagBits: 96 } };
  const cases: [string, Mechanism, () => Promise<Uint8Array>][] = [
    ['AES-GCM', gcm, async () => new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: IV12, additionalData: bytes('header'), tagLength: 96 }, await nodeKey('AES-GCM'), MESSAGE))],
    ['AES-CBC-PAD', { mechanism: CKM_AES_CBC_PAD, parameter: IV16 }, async () => new Uint8Array(await subtle.encrypt({ name: 'AES-CBC', iv: IV16 }, await nodeKey('AES-CBC'), MESSAGE))],
    ['AES-CTR', { mechanism: CKM_AES_CTR, parameter: { counterBits: 32, cb: IV16 } }, async () => new Uint8Array(await subtle.encrypt({ name: 'AES-CTR', counter: IV16, length: 32 }, await nodeKey('AES-CTR'), MESSAGE))],
  ];

  test.each(cases)('%s: one-shot and multi-part equal WebCrypto; both decrypt', async (_name, mechanism, expected) => {
    const { p11, session } = await userSession();
    const key = await aesKey(p11, session);
    const want = await expected();
    expect(await encryptOnce(p11, session, mechanism, key, MESSAGE)).toEqual(want);
    expect(await multiPart(p11, session, 'Encrypt', mechanism, key, MESSAGE)).toEqual(want);
    expect(await decryptOnce(p11, session, mechanism, key, want)).toEqual(MESSAGE);
    expect(await multiPart(p11, session, 'Decrypt', mechanism, key, want)).toEqual(MESSAGE);
  });

  test('a GCM ciphertext made by the token decrypts in Node with the same key, and the reverse', async () => {
    const { p11, session } = await userSession();
    const key = await aesKey(p11, session);
    const node = await nodeKey('AES-GCM');
    const ours = await encryptOnce(p11, session, { mechanism: CKM_AES_GCM, parameter: { iv: IV12 } }, key, MESSAGE);
    expect(new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: IV12 }, node, ours))).toEqual(MESSAGE);
    const theirs = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: IV16, additionalData: bytes('a') }, node, MESSAGE));
    expect(await decryptOnce(p11, session, { mechanism: CKM_AES_GCM, parameter: { iv: IV16, aad: bytes('a') } }, key, theirs)).toEqual(MESSAGE);
  });

  test('AES-CBC without padding and AES-ECB: FIPS 197 / SP 800-38A block vectors', async () => {
    const { p11, session } = await userSession();
    const key = await aesKey(p11, session);
    // FIPS 197 Appendix C.1: AES-128 of 00112233…ff under 000102…0f.
    const block = hex('00112233445566778899aabbccddeeff');
    const fips = hex('69c4e0d86a7b0430d8cdb78070b4c55a');
    expect(await encryptOnce(p11, session, { mechanism: CKM_AES_ECB }, key, block)).toEqual(fips);
    expect(await decryptOnce(p11, session, { mechanism: CKM_AES_ECB }, key, fips)).toEqual(block);
    // CBC with a zero IV on one block is ECB.
    expect(await encryptOnce(p11, session, { mechanism: CKM_AES_CBC, parameter: new Uint8Array(16) }, key, block)).toEqual(fips);
    const two = concatBytes(block, block);
    const nodeCbc = new Uint8Array(await subtle.encrypt({ name: 'AES-CBC', iv: IV16 }, await nodeKey('AES-CBC'), two)).slice(0, 32);
    expect(await multiPart(p11, session, 'Encrypt', { mechanism: CKM_AES_CBC, parameter: IV16 }, key, two)).toEqual(nodeCbc);
  });

  test('message-based GCM (C_EncryptMessage) equals one-shot GCM', async () => {
    const { p11, session } = await userSession();
    const key = await aesKey(p11, session);
    await p11.C_MessageEncryptInit(session, { mechanism: CKM_AES_GCM }, key);
    const { ciphertext, parameter } = await p11.C_EncryptMessage(session, { iv: IV12, tagBits: 128 }, bytes('aad'), MESSAGE);
    const oneShot = await encryptOnce(p11, session, { mechanism: CKM_AES_GCM, parameter: { iv: IV12, aad: bytes('aad') } }, key, MESSAGE);
    expect(concatBytes(ciphertext, (parameter as { tag: Uint8Array }).tag)).toEqual(oneShot);
    // In parts, too.
    await p11.C_EncryptMessageBegin(session, { iv: IV12, tagBits: 128 }, bytes('aad'));
    await p11.C_EncryptMessageNext(session, { iv: IV12, tagBits: 128 }, MESSAGE.slice(0, 10));
    const last = await p11.C_EncryptMessageNext(session, { iv: IV12, tagBits: 128 }, MESSAGE.slice(10), CKF_END_OF_MESSAGE);
    expect(concatBytes(last.ciphertext, (last.parameter as { tag: Uint8Array }).tag)).toEqual(oneShot);
    await p11.C_MessageEncryptFinal(session);
    await p11.C_MessageDecryptInit(session, { mechanism: CKM_AES_GCM }, key);
    expect(await p11.C_DecryptMessage(session, { iv: IV12, tagBits: 128, tag: (parameter as { tag: Uint8Array }).tag }, bytes('aad'), ciphertext)).toEqual(MESSAGE);
  });
});

describe('message-based decryption', () => {
  test('a message with a bad tag fails alone; the operation goes on', async () => {
    const { p11, session } = await userSession();
    const key = await aesKey(p11, session);
    await p11.C_MessageEncryptInit(session, { mechanism: CKM_AES_GCM }, key);
    const { ciphertext, parameter } = await p11.C_EncryptMessage(session, { iv: IV12, tagBits: 128 }, bytes('aad'), MESSAGE);
    const tag = (parameter as { tag: Uint8Array }).tag;
    await p11.C_MessageDecryptInit(session, { mechanism: CKM_AES_GCM }, key);
    const badTag = tag.slice();
    badTag[0] = (badTag[0] as number) ^ 1;
    await expectRv(p11.C_DecryptMessage(session, { iv: IV12, tagBits: 128, tag: badTag }, bytes('aad'), ciphertext), CKR_ENCRYPTED_DATA_INVALID);
    await expectRv(p11.C_DecryptMessage(session, { iv: IV12, tagBits: 128, tag }, bytes('other aad'), ciphertext), CKR_ENCRYPTED_DATA_INVALID);
    await expectRv(p11.C_DecryptMessage(session, { iv: IV12, tagBits: 128 }, bytes('aad'), ciphertext), CKR_MECHANISM_PARAM_INVALID);
    expect(await p11.C_DecryptMessage(session, { iv: IV12, tagBits: 128, tag }, bytes('aad'), ciphertext)).toEqual(MESSAGE);
    await p11.C_MessageDecryptFinal(session);
    await expectRv(p11.C_DecryptMessage(session, { iv: IV12, tagBits: 128, tag }, bytes('aad'), ciphertext), CKR_OPERATION_NOT_INITIALIZED);
  });

  test('message-based encryption is only for AES-GCM and needs CKA_ENCRYPT', async () => {
    const { p11, session } = await userSession();
    const key = await aesKey(p11, session, [{ type: CKA_ENCRYPT, value: false }]);
    await expectRv(p11.C_MessageEncryptInit(session, { mechanism: CKM_AES_CBC_PAD, parameter: IV16 }, key), CKR_MECHANISM_INVALID);
    await expectRv(p11.C_MessageEncryptInit(session, { mechanism: CKM_AES_GCM }, key), CKR_KEY_FUNCTION_NOT_PERMITTED);
    await p11.C_MessageDecryptInit(session, { mechanism: CKM_AES_GCM }, key);
    await expectRv(p11.C_MessageDecryptInit(session, { mechanism: CKM_AES_GCM }, key), CKR_OPERATION_ACTIVE);
  });
});

describe('RSA-OAEP against WebCrypto', () => {
  test('the token decrypts what Node encrypts with CKA_MODULUS/CKA_PUBLIC_EXPONENT, and the reverse', async () => {
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await generateRsa(p11, session);
    const [modulus, exponent] = (await p11.C_GetAttributeValue(session, publicKey, [{ type: CKA_MODULUS }, { type: CKA_PUBLIC_EXPONENT }])).map((a) => a.value as Uint8Array);
    const node = await subtle.importKey('jwk', rsaPublicJwk(modulus as Uint8Array, exponent as Uint8Array), { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['encrypt']);
    const label = bytes('label');
    const mechanism = { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, source: 1, sourceData: label } };
    const theirs = new Uint8Array(await subtle.encrypt({ name: 'RSA-OAEP', label }, node, bytes('secret')));
    expect(await decryptOnce(p11, session, mechanism, privateKey, theirs)).toEqual(bytes('secret'));
    const ours = await encryptOnce(p11, session, mechanism, publicKey, bytes('secret'));
    expect(ours.length).toBe(256);
    expect(await decryptOnce(p11, session, mechanism, privateKey, ours)).toEqual(bytes('secret'));
    // A mismatched hash and MGF is not a combination WebCrypto can do.
    await expectRv(p11.C_EncryptInit(session, { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA1 } }, publicKey), CKR_MECHANISM_PARAM_INVALID);
    await expectRv(p11.C_EncryptInit(session, { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA_1 } as never }, publicKey), CKR_MECHANISM_PARAM_INVALID);
  });
});

describe('operation state', () => {
  test('CKR_OPERATION_NOT_INITIALIZED without Init, CKR_OPERATION_ACTIVE for a second Init', async () => {
    const { p11, session } = await userSession();
    const key = await aesKey(p11, session);
    await expectRv(p11.C_Encrypt(session, MESSAGE), CKR_OPERATION_NOT_INITIALIZED);
    await expectRv(p11.C_EncryptUpdate(session, MESSAGE), CKR_OPERATION_NOT_INITIALIZED);
    await expectRv(p11.C_EncryptFinal(session), CKR_OPERATION_NOT_INITIALIZED);
    await expectRv(p11.C_Decrypt(session, MESSAGE), CKR_OPERATION_NOT_INITIALIZED);
    await p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: IV12 } }, key);
    await expectRv(p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: IV12 } }, key), CKR_OPERATION_ACTIVE);
    // Decryption is another kind of operation.
    await p11.C_DecryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: IV12 } }, key);
    // The first encryption is still the active one.
    expect((await p11.C_Encrypt(session, MESSAGE)).length).toBe(MESSAGE.length + 16);
    await expectRv(p11.C_Encrypt(session, MESSAGE), CKR_OPERATION_NOT_INITIALIZED);
  });

  test('C_Encrypt after C_EncryptUpdate is refused and ends the operation', async () => {
    const { p11, session } = await userSession();
    const key = await aesKey(p11, session);
    await p11.C_EncryptInit(session, { mechanism: CKM_AES_CBC_PAD, parameter: IV16 }, key);
    await p11.C_EncryptUpdate(session, MESSAGE);
    await expectRv(p11.C_Encrypt(session, MESSAGE), CKR_OPERATION_ACTIVE);
    await expectRv(p11.C_EncryptFinal(session), CKR_OPERATION_NOT_INITIALIZED);
  });

  test('a failed one-shot or Final ends the operation; a failed Init leaves none behind', async () => {
    const { p11, session } = await userSession();
    const key = await aesKey(p11, session);
    const good = await encryptOnce(p11, session, { mechanism: CKM_AES_GCM, parameter: { iv: IV12 } }, key, MESSAGE);
    const bad = good.slice();
    bad[0] = (bad[0] as number) ^ 1;
    await p11.C_DecryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: IV12 } }, key);
    await expectRv(p11.C_Decrypt(session, bad), CKR_ENCRYPTED_DATA_INVALID);
    await expectRv(p11.C_Decrypt(session, good), CKR_OPERATION_NOT_INITIALIZED);
    await p11.C_DecryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: IV12 } }, key);
    await expectRv(p11.C_Decrypt(session, good.slice(0, 10)), CKR_ENCRYPTED_DATA_LEN_RANGE);
    await p11.C_EncryptInit(session, { mechanism: CKM_AES_CBC, parameter: IV16 }, key);
    await expectRv(p11.C_Encrypt(session, new Uint8Array(15)), CKR_DATA_LEN_RANGE);
    await p11.C_DecryptInit(session, { mechanism: CKM_AES_CBC_PAD, parameter: IV16 }, key);
    await p11.C_DecryptUpdate(session, new Uint8Array(20));
    await expectRv(p11.C_DecryptFinal(session), CKR_ENCRYPTED_DATA_LEN_RANGE);
    await expectRv(p11.C_DecryptFinal(session), CKR_OPERATION_NOT_INITIALIZED);
    // A refused Init does not hold the slot.
    await expectRv(p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array() } }, key), CKR_MECHANISM_PARAM_INVALID);
    await p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: IV12 } }, key);
  });

  test('a one-shot RSA-OAEP call with too much data fails and ends the operation', async () => {
    const { p11, session } = await userSession();
    const { publicKey } = await generateRsa(p11, session, [], [], 1024);
    await p11.C_EncryptInit(session, { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 } }, publicKey);
    await expectRv(p11.C_Encrypt(session, new Uint8Array(200)), CKR_DATA_LEN_RANGE);
    await expectRv(p11.C_Encrypt(session, bytes('x')), CKR_OPERATION_NOT_INITIALIZED);
  });

  test('a bad data argument to Update ends the operation', async () => {
    const { p11, session } = await userSession();
    const key = await aesKey(p11, session);
    await p11.C_EncryptInit(session, { mechanism: CKM_AES_CTR, parameter: { counterBits: 64, cb: IV16 } }, key);
    await expectRv(p11.C_EncryptUpdate(session, 'text' as never), CKR_ARGUMENTS_BAD);
    await expectRv(p11.C_EncryptFinal(session), CKR_OPERATION_NOT_INITIALIZED);
  });
});

describe('key and mechanism checks', () => {
  test('CKR_KEY_FUNCTION_NOT_PERMITTED', async () => {
    const { p11, session } = await userSession();
    const key = await aesKey(p11, session, [{ type: CKA_ENCRYPT, value: false }, { type: CKA_DECRYPT, value: false }]);
    await expectRv(p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: IV12 } }, key), CKR_KEY_FUNCTION_NOT_PERMITTED);
    await expectRv(p11.C_DecryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: IV12 } }, key), CKR_KEY_FUNCTION_NOT_PERMITTED);
  });

  test('CKR_KEY_TYPE_INCONSISTENT', async () => {
    const { p11, session } = await userSession();
    const generic = await p11.C_CreateObject(session, [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET }, { type: CKA_VALUE, value: KEY }, { type: CKA_ENCRYPT, value: true }]);
    await expectRv(p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: IV12 } }, generic), CKR_KEY_TYPE_INCONSISTENT);
    const { publicKey } = await generateEc(p11, session);
    await expectRv(p11.C_EncryptInit(session, { mechanism: CKM_AES_CBC_PAD, parameter: IV16 }, publicKey), CKR_KEY_TYPE_INCONSISTENT);
    const aes = await generateAes(p11, session);
    await expectRv(p11.C_EncryptInit(session, { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 } }, aes), CKR_KEY_TYPE_INCONSISTENT);
  });

  test('CKR_MECHANISM_PARAM_INVALID', async () => {
    const { p11, session } = await userSession();
    const key = await aesKey(p11, session);
    const bad: Mechanism[] = [
      { mechanism: CKM_AES_GCM },
      { mechanism: CKM_AES_GCM, parameter: { iv: IV12, tagBits: 33 } },
      { mechanism: CKM_AES_GCM, parameter: IV12 },
      { mechanism: CKM_AES_CBC_PAD, parameter: IV12 },
      { mechanism: CKM_AES_CBC_PAD },
      { mechanism: CKM_AES_CTR, parameter: { counterBits: 0, cb: IV16 } },
      { mechanism: CKM_AES_CTR, parameter: { counterBits: 32, cb: IV12 } },
      { mechanism: CKM_AES_ECB, parameter: IV16 },
    ];
    for (const m of bad) await expectRv(p11.C_EncryptInit(session, m, key), CKR_MECHANISM_PARAM_INVALID);
  });

  test('CKR_MECHANISM_INVALID for a mechanism that does not encrypt', async () => {
    const { p11, session } = await userSession();
    const key = await aesKey(p11, session);
    await expectRv(p11.C_EncryptInit(session, { mechanism: CKM_SHA256 }, key), CKR_MECHANISM_INVALID);
    await expectRv(p11.C_EncryptInit(session, { mechanism: CKM_ECDSA_SHA256 }, key), CKR_MECHANISM_INVALID);
    await expectRv(p11.C_EncryptInit(session, { mechanism: 0x7777 }, key), CKR_MECHANISM_INVALID);
  });

  test('CKR_KEY_HANDLE_INVALID for a handle that is not a key', async () => {
    const { p11, session } = await userSession();
    const data = await p11.C_CreateObject(session, [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_LABEL, value: 'd' }]);
    await expectRv(p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: IV12 } }, data), CKR_KEY_HANDLE_INVALID);
    await expectRv(p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: IV12 } }, data + 1000), CKR_KEY_HANDLE_INVALID);
  });
});
