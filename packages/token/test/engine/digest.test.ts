/** Message digesting (PKCS#11 v3.0 §5.12): FIPS 180 vectors, Node agreement, parts, C_DigestKey. */
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  CKA_CLASS, CKA_KEY_TYPE, CKA_SENSITIVE, CKA_VALUE, CKK_AES, CKM_AES_GCM, CKM_SHA224, CKM_SHA256,
  CKM_SHA384, CKM_SHA512, CKM_SHA_1, CKO_SECRET_KEY, CKR_KEY_HANDLE_INVALID, CKR_KEY_INDIGESTIBLE,
  CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID, CKR_OPERATION_ACTIVE, CKR_OPERATION_NOT_INITIALIZED,
  CKR_ARGUMENTS_BAD,
} from '@vhsm/token';
import type { Cryptoki } from '@vhsm/token';
import { RO, bytes, expectRv, generateAes, generateEc, hex, readyToken, userSession } from './helpers.js';

const ALGORITHMS: [string, number, string][] = [
  ['sha1', CKM_SHA_1, 'a9993e364706816aba3e25717850c26c9cd0d89d'],
  ['sha224', CKM_SHA224, '23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7'],
  ['sha256', CKM_SHA256, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ['sha384', CKM_SHA384, 'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7'],
  ['sha512', CKM_SHA512, 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f'],
];

async function digest(p11: Cryptoki, session: number, mechanism: number, data: Uint8Array) {
  await p11.C_DigestInit(session, { mechanism });
  return p11.C_Digest(session, data);
}

describe('digests', () => {
  test.each(ALGORITHMS)('%s: FIPS 180 "abc", one-shot and in parts, agrees with Node on long and empty input', async (node, mechanism, abc) => {
    const { p11, session } = await readyToken();
    expect(await digest(p11, session, mechanism, bytes('abc'))).toEqual(hex(abc));
    const long = new Uint8Array(1000).map((_, i) => (i * 7) & 0xff);
    const expected = Uint8Array.from(createHash(node).update(long).digest());
    expect(await digest(p11, session, mechanism, long)).toEqual(expected);
    await p11.C_DigestInit(session, { mechanism });
    for (let i = 0; i < long.length; i += 333) await p11.C_DigestUpdate(session, long.slice(i, i + 333));
    await p11.C_DigestUpdate(session, new Uint8Array());
    expect(await p11.C_DigestFinal(session)).toEqual(expected);
    expect(await digest(p11, session, mechanism, new Uint8Array())).toEqual(Uint8Array.from(createHash(node).digest()));
  });

  test('needs no login, works in a read-only session', async () => {
    const { p11, slot } = await readyToken();
    const ro = await p11.C_OpenSession(slot, RO);
    expect((await digest(p11, ro, CKM_SHA256, bytes('x'))).length).toBe(32);
  });

  test('operation state: not initialized, active, C_Digest after Update, failures end it', async () => {
    const { p11, session } = await readyToken();
    await expectRv(p11.C_Digest(session, bytes('x')), CKR_OPERATION_NOT_INITIALIZED);
    await expectRv(p11.C_DigestUpdate(session, bytes('x')), CKR_OPERATION_NOT_INITIALIZED);
    await expectRv(p11.C_DigestFinal(session), CKR_OPERATION_NOT_INITIALIZED);
    await p11.C_DigestInit(session, { mechanism: CKM_SHA256 });
    await expectRv(p11.C_DigestInit(session, { mechanism: CKM_SHA_1 }), CKR_OPERATION_ACTIVE);
    await p11.C_DigestUpdate(session, bytes('a'));
    await expectRv(p11.C_Digest(session, bytes('b')), CKR_OPERATION_ACTIVE);
    await expectRv(p11.C_DigestFinal(session), CKR_OPERATION_NOT_INITIALIZED);
    await p11.C_DigestInit(session, { mechanism: CKM_SHA256 });
    await expectRv(p11.C_Digest(session, 'abc' as never), CKR_ARGUMENTS_BAD);
    await expectRv(p11.C_Digest(session, bytes('abc')), CKR_OPERATION_NOT_INITIALIZED);
  });

  test('CKR_MECHANISM_INVALID and CKR_MECHANISM_PARAM_INVALID', async () => {
    const { p11, session } = await readyToken();
    await expectRv(p11.C_DigestInit(session, { mechanism: CKM_AES_GCM }), CKR_MECHANISM_INVALID);
    await expectRv(p11.C_DigestInit(session, { mechanism: 0x7777 }), CKR_MECHANISM_INVALID);
    await expectRv(p11.C_DigestInit(session, { mechanism: CKM_SHA256, parameter: new Uint8Array(1) }), CKR_MECHANISM_PARAM_INVALID);
    // The refused Init left nothing active.
    await p11.C_DigestInit(session, { mechanism: CKM_SHA256 });
  });
});

describe('C_DigestKey', () => {
  test('digests the value of a readable secret key, in sequence with data', async () => {
    const { p11, session } = await userSession();
    const value = hex('00112233445566778899aabbccddeeff');
    const key = await p11.C_CreateObject(session, [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE, value }]);
    await p11.C_DigestInit(session, { mechanism: CKM_SHA256 });
    await p11.C_DigestUpdate(session, bytes('prefix'));
    await p11.C_DigestKey(session, key);
    expect(await p11.C_DigestFinal(session)).toEqual(Uint8Array.from(createHash('sha256').update('prefix').update(value).digest()));
  });

  test('sensitive keys and non-secret keys are CKR_KEY_INDIGESTIBLE; the operation ends', async () => {
    const { p11, session } = await userSession();
    const sensitive = await generateAes(p11, session, [{ type: CKA_SENSITIVE, value: true }]);
    await p11.C_DigestInit(session, { mechanism: CKM_SHA256 });
    await expectRv(p11.C_DigestKey(session, sensitive), CKR_KEY_INDIGESTIBLE);
    await expectRv(p11.C_DigestFinal(session), CKR_OPERATION_NOT_INITIALIZED);
    const { publicKey } = await generateEc(p11, session);
    await p11.C_DigestInit(session, { mechanism: CKM_SHA256 });
    await expectRv(p11.C_DigestKey(session, publicKey), CKR_KEY_INDIGESTIBLE);
    await p11.C_DigestInit(session, { mechanism: CKM_SHA256 });
    await expectRv(p11.C_DigestKey(session, publicKey + 1000), CKR_KEY_HANDLE_INVALID);
  });
});
