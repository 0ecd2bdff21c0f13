/** NativeCryptoki over SoftHSM2: module, slots, sessions, login, objects and attributes. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CKA_ALLOWED_MECHANISMS,
  CKA_CLASS,
  CKA_DECRYPT,
  CKA_ENCRYPT,
  CKA_END_DATE,
  CKA_ID,
  CKA_KEY_TYPE,
  CKA_LABEL,
  CKA_LOCAL,
  CKA_PRIVATE,
  CKA_SENSITIVE,
  CKA_START_DATE,
  CKA_TOKEN,
  CKA_VALUE,
  CKA_VALUE_LEN,
  CKF_RW_SESSION,
  CKF_SERIAL_SESSION,
  CKF_TOKEN_INITIALIZED,
  CKF_USER_PIN_INITIALIZED,
  CKK_AES,
  CK_UNAVAILABLE_INFORMATION,
  CKM_AES_CBC_PAD,
  CKM_AES_GCM,
  CKM_AES_KEY_GEN,
  CKM_ECDSA,
  CKO_DATA,
  CKO_SECRET_KEY,
  CKR_ARGUMENTS_BAD,
  CKR_ATTRIBUTE_SENSITIVE,
  CKR_ATTRIBUTE_TYPE_INVALID,
  CKR_CRYPTOKI_NOT_INITIALIZED,
  CKR_GENERAL_ERROR,
  CKR_MECHANISM_INVALID,
  CKR_OBJECT_HANDLE_INVALID,
  CKR_OPERATION_NOT_INITIALIZED,
  CKR_PIN_INCORRECT,
  CKR_SESSION_HANDLE_INVALID,
  CKR_SESSION_READ_ONLY,
  CKR_SLOT_ID_INVALID,
  CKR_USER_ALREADY_LOGGED_IN,
  CKR_USER_NOT_LOGGED_IN,
  CKS_RO_PUBLIC_SESSION,
  CKS_RW_USER_FUNCTIONS,
  CKU_USER,
  Pkcs11Error,
} from '@vhsm/pkcs11';
import { NativeCryptoki } from '../src/index.js';
import { LABEL, USER_PIN, openSoftHsm } from './fixture.js';
import type { Fixture } from './fixture.js';

let f: Fixture;
beforeAll(async () => {
  f = await openSoftHsm();
});
afterAll(async () => {
  await f?.close();
});

async function expectRv(promise: Promise<unknown>, code: number, method: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Pkcs11Error);
  expect({ code: (error as Pkcs11Error).code, method: (error as Pkcs11Error).method }).toEqual({ code, method });
}

describe('module', () => {
  test('every call before C_Initialize rejects CKR_CRYPTOKI_NOT_INITIALIZED', async () => {
    const p11 = new NativeCryptoki({ library: f.library });
    await expectRv(p11.C_GetSlotList(true), CKR_CRYPTOKI_NOT_INITIALIZED, 'C_GetSlotList');
    await expectRv(p11.C_Finalize(), CKR_CRYPTOKI_NOT_INITIALIZED, 'C_Finalize');
  });

  test('a library that cannot be loaded rejects C_Initialize with CKR_GENERAL_ERROR', async () => {
    const p11 = new NativeCryptoki({ library: '/nonexistent/libpkcs11.so' });
    await expectRv(p11.C_Initialize(), CKR_GENERAL_ERROR, 'C_Initialize');
  });

  test('a missing library path is CKR_ARGUMENTS_BAD', () => {
    expect(() => new NativeCryptoki({ library: '' })).toThrow(Pkcs11Error);
  });

  test('C_GetInfo describes SoftHSM2', async () => {
    const info = await f.p11.C_GetInfo();
    expect(info.manufacturerID).toBe('SoftHSM');
    expect(info.libraryDescription).toBe('Implementation of PKCS11');
    expect(info.cryptokiVersion.major).toBe(2);
  });
});

describe('slots and tokens', () => {
  test('the initialised token is listed with its label and flags', async () => {
    expect(await f.p11.C_GetSlotList(true)).toContain(f.slot);
    const info = await f.p11.C_GetTokenInfo(f.slot);
    expect(info.label).toBe(LABEL);
    expect(info.manufacturerID).toBe('SoftHSM project');
    expect(info.model).toBe('SoftHSM v2');
    expect(info.serialNumber).toMatch(/^[0-9a-f]{16}$/);
    // SoftHSM2 has no clock and reports unknown memory sizes (~0 in C).
    expect(info.utcTime).toBe('');
    expect(info.totalPublicMemory).toBe(CK_UNAVAILABLE_INFORMATION);
    expect(info.freePrivateMemory).toBe(CK_UNAVAILABLE_INFORMATION);
    expect(info.flags & CKF_TOKEN_INITIALIZED).toBe(CKF_TOKEN_INITIALIZED);
    expect(info.flags & CKF_USER_PIN_INITIALIZED).toBe(CKF_USER_PIN_INITIALIZED);
    expect(info.minPinLen).toBe(4);
  });

  test('C_GetSlotInfo answers for the slot and rejects an unknown one', async () => {
    expect((await f.p11.C_GetSlotInfo(f.slot)).manufacturerID).toBe('SoftHSM project');
    await expectRv(f.p11.C_GetSlotInfo(0x7fff_fff0), CKR_SLOT_ID_INVALID, 'C_GetSlotInfo');
  });

  test('mechanisms are listed as numbers with their info', async () => {
    const list = await f.p11.C_GetMechanismList(f.slot);
    expect(list).toContain(CKM_AES_GCM);
    expect(list).toContain(CKM_ECDSA);
    const info = await f.p11.C_GetMechanismInfo(f.slot, CKM_AES_KEY_GEN);
    expect(info.minKeySize).toBe(16);
    expect(info.maxKeySize).toBe(32);
    await expectRv(f.p11.C_GetMechanismInfo(f.slot, 0x7fff_0000), CKR_MECHANISM_INVALID, 'C_GetMechanismInfo');
  });
});

describe('sessions and login', () => {
  test('C_GetSessionInfo reports the slot as a number and the user state', async () => {
    expect(await f.p11.C_GetSessionInfo(f.session)).toEqual({
      slotID: f.slot,
      state: CKS_RW_USER_FUNCTIONS,
      flags: CKF_SERIAL_SESSION | CKF_RW_SESSION,
      deviceError: 0,
    });
  });

  test('a wrong PIN is CKR_PIN_INCORRECT; logging in twice is CKR_USER_ALREADY_LOGGED_IN', async () => {
    const p11 = f.p11;
    const session = await p11.C_OpenSession(f.slot, CKF_SERIAL_SESSION);
    await expectRv(p11.C_Login(session, CKU_USER, '00000000'), CKR_USER_ALREADY_LOGGED_IN, 'C_Login');
    await p11.C_Logout(session);
    expect((await p11.C_GetSessionInfo(session)).state).toBe(CKS_RO_PUBLIC_SESSION);
    await expectRv(p11.C_Login(session, CKU_USER, '00000000'), CKR_PIN_INCORRECT, 'C_Login');
    await expectRv(p11.C_Login(session, CKU_USER), CKR_PIN_INCORRECT, 'C_Login');
    await p11.C_Login(session, CKU_USER, USER_PIN);
    await p11.C_CloseSession(session);
  });

  test('private objects need a login: CKR_USER_NOT_LOGGED_IN', async () => {
    const p11 = f.p11;
    const session = await p11.C_OpenSession(f.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    await p11.C_Logout(session);
    await expectRv(
      p11.C_CreateObject(session, [
        { type: CKA_CLASS, value: CKO_DATA },
        { type: CKA_PRIVATE, value: true },
      ]),
      CKR_USER_NOT_LOGGED_IN,
      'C_CreateObject',
    );
    await p11.C_Login(session, CKU_USER, USER_PIN);
    await p11.C_CloseSession(session);
  });

  test('a token object in a read-only session is CKR_SESSION_READ_ONLY', async () => {
    const session = await f.p11.C_OpenSession(f.slot, CKF_SERIAL_SESSION);
    await expectRv(
      f.p11.C_CreateObject(session, [
        { type: CKA_CLASS, value: CKO_DATA },
        { type: CKA_TOKEN, value: true },
      ]),
      CKR_SESSION_READ_ONLY,
      'C_CreateObject',
    );
    await f.p11.C_CloseSession(session);
  });

  test('a closed session handle is CKR_SESSION_HANDLE_INVALID; a malformed one CKR_ARGUMENTS_BAD', async () => {
    const session = await f.p11.C_OpenSession(f.slot, CKF_SERIAL_SESSION);
    await f.p11.C_CloseSession(session);
    await expectRv(f.p11.C_GetSessionInfo(session), CKR_SESSION_HANDLE_INVALID, 'C_GetSessionInfo');
    await expectRv(f.p11.C_GetSessionInfo(-1), CKR_ARGUMENTS_BAD, 'C_GetSessionInfo');
  });

  test('C_GenerateRandom returns the asked length as a plain Uint8Array', async () => {
    const a = await f.p11.C_GenerateRandom(f.session, 32);
    const b = await f.p11.C_GenerateRandom(f.session, 32);
    expect(a).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(a)).toBe(false);
    expect(a.length).toBe(32);
    expect(a).not.toEqual(b);
    expect(await f.p11.C_GenerateRandom(f.session, 0)).toEqual(new Uint8Array(0));
  });
});

describe('objects and attributes', () => {
  test('values come back typed: number, boolean, string, bytes', async () => {
    const id = new Uint8Array([0xca, 0xfe]);
    const key = await f.p11.C_GenerateKey(f.session, { mechanism: CKM_AES_KEY_GEN }, [
      { type: CKA_VALUE_LEN, value: 32 },
      { type: CKA_LABEL, value: 'aes one' },
      { type: CKA_ID, value: id },
      { type: CKA_ENCRYPT, value: true },
    ]);
    expect(await f.p11.C_GetAttributeValue(f.session, key, [
      { type: CKA_CLASS },
      { type: CKA_KEY_TYPE },
      { type: CKA_VALUE_LEN },
      { type: CKA_LABEL },
      { type: CKA_ID },
      { type: CKA_ENCRYPT },
      { type: CKA_LOCAL },
      { type: CKA_TOKEN },
    ])).toEqual([
      { type: CKA_CLASS, value: CKO_SECRET_KEY },
      { type: CKA_KEY_TYPE, value: CKK_AES },
      { type: CKA_VALUE_LEN, value: 32 },
      { type: CKA_LABEL, value: 'aes one' },
      { type: CKA_ID, value: id },
      { type: CKA_ENCRYPT, value: true },
      { type: CKA_LOCAL, value: true },
      { type: CKA_TOKEN, value: false },
    ]);
  });

  test('CKA_ALLOWED_MECHANISMS goes in and comes back as number[]', async () => {
    const key = await f.p11.C_GenerateKey(f.session, { mechanism: CKM_AES_KEY_GEN }, [
      { type: CKA_VALUE_LEN, value: 16 },
      { type: CKA_ALLOWED_MECHANISMS, value: [CKM_AES_GCM, CKM_AES_CBC_PAD] },
    ]);
    const [attr] = await f.p11.C_GetAttributeValue(f.session, key, [{ type: CKA_ALLOWED_MECHANISMS }]);
    expect(attr?.type).toBe(CKA_ALLOWED_MECHANISMS);
    // A set: SoftHSM2 returns it in its own order.
    const value = attr?.value;
    expect(Array.isArray(value)).toBe(true);
    expect((value as number[]).toSorted()).toEqual([CKM_AES_GCM, CKM_AES_CBC_PAD].toSorted());
  });

  test('empty dates read as empty bytes; a module failure on a set date passes through', async () => {
    const key = await f.p11.C_CreateObject(f.session, [
      { type: CKA_CLASS, value: CKO_SECRET_KEY },
      { type: CKA_KEY_TYPE, value: CKK_AES },
      { type: CKA_VALUE, value: new Uint8Array(16) },
    ]);
    expect(await f.p11.C_GetAttributeValue(f.session, key, [
      { type: CKA_LABEL },
      { type: CKA_START_DATE },
      { type: CKA_END_DATE },
    ])).toEqual([
      { type: CKA_LABEL, value: '' },
      { type: CKA_START_DATE, value: new Uint8Array(0) },
      { type: CKA_END_DATE, value: new Uint8Array(0) },
    ]);
    // SoftHSM2 2.6.1 stores a date but answers CKR_GENERAL_ERROR when it is read back (checked in C).
    await f.p11.C_SetAttributeValue(f.session, key, [{ type: CKA_END_DATE, value: new TextEncoder().encode('20301231') }]);
    await expectRv(f.p11.C_GetAttributeValue(f.session, key, [{ type: CKA_END_DATE }]), CKR_GENERAL_ERROR, 'C_GetAttributeValue');
  });

  test('a sensitive value is CKR_ATTRIBUTE_SENSITIVE, an invalid type CKR_ATTRIBUTE_TYPE_INVALID', async () => {
    const key = await f.p11.C_GenerateKey(f.session, { mechanism: CKM_AES_KEY_GEN }, [
      { type: CKA_VALUE_LEN, value: 16 },
      { type: CKA_SENSITIVE, value: true },
    ]);
    await expectRv(f.p11.C_GetAttributeValue(f.session, key, [{ type: CKA_VALUE }]), CKR_ATTRIBUTE_SENSITIVE, 'C_GetAttributeValue');
    await expectRv(f.p11.C_GetAttributeValue(f.session, key, [{ type: 0x7fff_0001 }]), CKR_ATTRIBUTE_TYPE_INVALID, 'C_GetAttributeValue');
  });

  test('set, copy, find and destroy', async () => {
    const p11 = f.p11;
    const s = f.session;
    const data = await p11.C_CreateObject(s, [
      { type: CKA_CLASS, value: CKO_DATA },
      { type: CKA_LABEL, value: 'find me' },
      { type: CKA_VALUE, value: new Uint8Array([1, 2, 3]) },
    ]);
    await p11.C_SetAttributeValue(s, data, [{ type: CKA_LABEL, value: 'found' }]);
    const copy = await p11.C_CopyObject(s, data, [{ type: CKA_LABEL, value: 'found' }]);
    expect(copy).not.toBe(data);

    await p11.C_FindObjectsInit(s, [
      { type: CKA_CLASS, value: CKO_DATA },
      { type: CKA_LABEL, value: 'found' },
    ]);
    const first = await p11.C_FindObjects(s, 1);
    const rest = await p11.C_FindObjects(s, 10);
    expect(await p11.C_FindObjects(s, 10)).toEqual([]);
    await p11.C_FindObjectsFinal(s);
    expect([...first, ...rest].sort()).toEqual([data, copy].sort());
    await expectRv(p11.C_FindObjects(s, 1), CKR_OPERATION_NOT_INITIALIZED, 'C_FindObjects');

    await p11.C_DestroyObject(s, copy);
    await expectRv(p11.C_GetAttributeValue(s, copy, [{ type: CKA_LABEL }]), CKR_OBJECT_HANDLE_INVALID, 'C_GetAttributeValue');
    expect(await p11.C_GetAttributeValue(s, data, [{ type: CKA_VALUE }])).toEqual([
      { type: CKA_VALUE, value: new Uint8Array([1, 2, 3]) },
    ]);
  });

  test('malformed templates reject with CKR_ARGUMENTS_BAD before reaching the module', async () => {
    await expectRv(
      f.p11.C_CreateObject(f.session, [{ type: CKA_CLASS, value: { not: 'a value' } as unknown as number }]),
      CKR_ARGUMENTS_BAD,
      'C_CreateObject',
    );
    await expectRv(f.p11.C_DecryptInit(f.session, { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } }, -5), CKR_ARGUMENTS_BAD, 'C_DecryptInit');
    expect(CKA_DECRYPT).toBeGreaterThan(0);
  });
});
