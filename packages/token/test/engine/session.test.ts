/** Session management (PKCS#11 v3.0 §5.6): the state machine and the CK_RVs it implies. */
import { describe, expect, test } from 'vitest';
import {
  CKA_CLASS, CKA_LABEL, CKA_PRIVATE, CKA_TOKEN, CKF_FIND_OBJECTS, CKF_RW_SESSION, CKF_SERIAL_SESSION,
  CKO_DATA, CKR_OPERATION_ACTIVE, CKR_OPERATION_NOT_INITIALIZED, CKR_SESSION_HANDLE_INVALID,
  CKR_SESSION_PARALLEL_NOT_SUPPORTED, CKR_SESSION_READ_ONLY, CKR_SESSION_READ_ONLY_EXISTS,
  CKR_SESSION_READ_WRITE_SO_EXISTS, CKR_USER_NOT_LOGGED_IN, CKR_OBJECT_HANDLE_INVALID,
  CKR_ARGUMENTS_BAD, CKS_RO_PUBLIC_SESSION, CKS_RO_USER_FUNCTIONS, CKS_RW_PUBLIC_SESSION,
  CKS_RW_SO_FUNCTIONS, CKS_RW_USER_FUNCTIONS, CKU_SO, CKU_USER, Cryptoki, CKM_SHA256, CKM_AES_KEY_GEN,
  CKA_VALUE_LEN, CKR_SESSION_EXISTS, CKM_AES_GCM,
} from '@vhsm/token';
import type { Template } from '@vhsm/token';
import { RO, RW, SO_PIN, USER_PIN, expectRv, generateAes, newCryptoki, readyToken } from './helpers.js';

const data = (token: boolean, isPrivate: boolean, label = 'd'): Template => [
  { type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: token },
  { type: CKA_PRIVATE, value: isPrivate }, { type: CKA_LABEL, value: label },
];

async function find(p11: Cryptoki, session: number, template: Template = []): Promise<number[]> {
  await p11.C_FindObjectsInit(session, template);
  const found = await p11.C_FindObjects(session);
  await p11.C_FindObjectsFinal(session);
  return found;
}

describe('session states', () => {
  test('R/O and R/W public, user and SO states', async () => {
    const { p11, slot, session: rw } = await readyToken();
    const ro = await p11.C_OpenSession(slot, RO);
    expect(await p11.C_GetSessionInfo(ro)).toEqual({ slotID: slot, state: CKS_RO_PUBLIC_SESSION, flags: CKF_SERIAL_SESSION, deviceError: 0 });
    expect(await p11.C_GetSessionInfo(rw)).toEqual({ slotID: slot, state: CKS_RW_PUBLIC_SESSION, flags: CKF_SERIAL_SESSION | CKF_RW_SESSION, deviceError: 0 });
    // Login belongs to the application: every session of it changes state at once.
    await p11.C_Login(ro, CKU_USER, USER_PIN);
    expect((await p11.C_GetSessionInfo(ro)).state).toBe(CKS_RO_USER_FUNCTIONS);
    expect((await p11.C_GetSessionInfo(rw)).state).toBe(CKS_RW_USER_FUNCTIONS);
    const later = await p11.C_OpenSession(slot, RO);
    expect((await p11.C_GetSessionInfo(later)).state).toBe(CKS_RO_USER_FUNCTIONS);
    await p11.C_Logout(rw);
    expect((await p11.C_GetSessionInfo(ro)).state).toBe(CKS_RO_PUBLIC_SESSION);
    await p11.C_CloseSession(ro);
    await p11.C_CloseSession(later);
    await p11.C_Login(rw, CKU_SO, SO_PIN);
    expect((await p11.C_GetSessionInfo(rw)).state).toBe(CKS_RW_SO_FUNCTIONS);
  });

  test('CKF_SERIAL_SESSION is required', async () => {
    const { p11, slot } = await readyToken();
    await expectRv(p11.C_OpenSession(slot, CKF_RW_SESSION), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    await expectRv(p11.C_OpenSession(slot, 0), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
  });

  test('CKR_SESSION_READ_WRITE_SO_EXISTS: no R/O session while the SO is logged in', async () => {
    const { p11, slot, session } = await readyToken();
    await p11.C_Login(session, CKU_SO, SO_PIN);
    await expectRv(p11.C_OpenSession(slot, RO), CKR_SESSION_READ_WRITE_SO_EXISTS);
    await p11.C_OpenSession(slot, RW);
    await p11.C_Logout(session);
    await p11.C_OpenSession(slot, RO);
  });

  test('CKR_SESSION_READ_ONLY_EXISTS: the SO cannot log in while an R/O session is open', async () => {
    const { p11, slot, session } = await readyToken();
    const ro = await p11.C_OpenSession(slot, RO);
    await expectRv(p11.C_Login(session, CKU_SO, SO_PIN), CKR_SESSION_READ_ONLY_EXISTS);
    await p11.C_CloseSession(ro);
    await p11.C_Login(session, CKU_SO, SO_PIN);
  });

  test('CKR_SESSION_READ_ONLY: token objects cannot be created, changed or destroyed from an R/O session', async () => {
    const { p11, slot, session: rw } = await readyToken();
    await p11.C_Login(rw, CKU_USER, USER_PIN);
    const ro = await p11.C_OpenSession(slot, RO);
    const object = await p11.C_CreateObject(rw, data(true, false));
    await expectRv(p11.C_CreateObject(ro, data(true, false)), CKR_SESSION_READ_ONLY);
    await expectRv(p11.C_SetAttributeValue(ro, object, [{ type: CKA_LABEL, value: 'x' }]), CKR_SESSION_READ_ONLY);
    await expectRv(p11.C_DestroyObject(ro, object), CKR_SESSION_READ_ONLY);
    await expectRv(p11.C_CopyObject(ro, object, []), CKR_SESSION_READ_ONLY);
    await expectRv(p11.C_SetPIN(ro, USER_PIN, 'another-pin'), CKR_SESSION_READ_ONLY);
    // Session objects are fine in an R/O session, and a copy into the session too.
    const copy = await p11.C_CopyObject(ro, object, [{ type: CKA_TOKEN, value: false }]);
    await p11.C_SetAttributeValue(ro, copy, [{ type: CKA_LABEL, value: 'mine' }]);
    await p11.C_DestroyObject(ro, copy);
    expect((await p11.C_GetAttributeValue(ro, object, [{ type: CKA_LABEL }]))[0]?.value).toBe('d');
  });

  test('what each state may create: public session objects always, private only for the user', async () => {
    const { p11, slot, session: rw } = await readyToken();
    const ro = await p11.C_OpenSession(slot, RO);
    // R/O public and R/W public
    await p11.C_CreateObject(ro, data(false, false));
    await p11.C_CreateObject(rw, data(true, false));
    await expectRv(p11.C_CreateObject(rw, data(false, true)), CKR_USER_NOT_LOGGED_IN);
    await expectRv(p11.C_CreateObject(rw, data(true, true)), CKR_USER_NOT_LOGGED_IN);
    await p11.C_CloseSession(ro);
    // R/W SO: public objects only
    await p11.C_Login(rw, CKU_SO, SO_PIN);
    await p11.C_CreateObject(rw, data(true, false));
    await expectRv(p11.C_CreateObject(rw, data(false, true)), CKR_USER_NOT_LOGGED_IN);
    await p11.C_Logout(rw);
    // R/W user: everything
    await p11.C_Login(rw, CKU_USER, USER_PIN);
    await p11.C_CreateObject(rw, data(true, true));
    await p11.C_CreateObject(rw, data(false, true));
  });

  test('CKA_PRIVATE defaults to true, so a public session cannot make an object without saying CKA_PRIVATE false', async () => {
    // SoftHSM2 (SoftHSM.cpp, CreateObject/C_GenerateKey) takes isPrivate = CK_TRUE when the template is
    // silent and answers CKR_USER_NOT_LOGGED_IN from haveWrite: a public session must not get a
    // private object it could never see again.
    const { p11, session } = await readyToken();
    const silent: Template = [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_LABEL, value: 'silent' }];
    await expectRv(p11.C_CreateObject(session, silent), CKR_USER_NOT_LOGGED_IN);
    await expectRv(p11.C_CreateObject(session, [...silent, { type: CKA_TOKEN, value: true }]), CKR_USER_NOT_LOGGED_IN);
    await expectRv(p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [{ type: CKA_VALUE_LEN, value: 16 }]), CKR_USER_NOT_LOGGED_IN);
    expect(await find(p11, session)).toEqual([]);
    await p11.C_Login(session, CKU_USER, USER_PIN);
    const object = await p11.C_CreateObject(session, silent);
    expect((await p11.C_GetAttributeValue(session, object, [{ type: CKA_PRIVATE }]))[0]?.value).toBe(true);
  });

  test('CKR_SESSION_HANDLE_INVALID for unknown and closed sessions', async () => {
    const { p11, session } = await readyToken();
    await expectRv(p11.C_GetSessionInfo(session + 1000), CKR_SESSION_HANDLE_INVALID);
    await p11.C_CloseSession(session);
    await expectRv(p11.C_GetSessionInfo(session), CKR_SESSION_HANDLE_INVALID);
    await expectRv(p11.C_CloseSession(session), CKR_SESSION_HANDLE_INVALID);
    await expectRv(p11.C_Login(session, CKU_USER, USER_PIN), CKR_SESSION_HANDLE_INVALID);
    await expectRv(p11.C_GenerateRandom(session, 4), CKR_SESSION_HANDLE_INVALID);
    await expectRv(p11.C_GetSessionInfo('1' as never), CKR_ARGUMENTS_BAD);
  });

  test("another application's session handles are not ours", async () => {
    const { p11, slot, session } = await readyToken();
    const other = new Cryptoki({ engine: p11.engine });
    await other.C_Initialize();
    const mine = await other.C_OpenSession(slot, RW);
    await other.C_CloseSession(mine);
    // Handles are per application: the first app's session stays usable, the second's closed one is gone.
    await p11.C_GetSessionInfo(session);
    await expectRv(other.C_GetSessionInfo(mine), CKR_SESSION_HANDLE_INVALID);
  });
});

describe('closing sessions', () => {
  test('C_CloseAllSessions closes every session of that slot only', async () => {
    const p11 = newCryptoki({ slotCount: 2 });
    await p11.C_Initialize();
    await p11.C_InitToken(0, SO_PIN, 'a');
    await p11.C_InitToken(1, SO_PIN, 'b');
    const a1 = await p11.C_OpenSession(0, RW);
    const a2 = await p11.C_OpenSession(0, RO);
    const b1 = await p11.C_OpenSession(1, RW);
    await p11.C_CloseAllSessions(0);
    await expectRv(p11.C_GetSessionInfo(a1), CKR_SESSION_HANDLE_INVALID);
    await expectRv(p11.C_GetSessionInfo(a2), CKR_SESSION_HANDLE_INVALID);
    expect((await p11.C_GetSessionInfo(b1)).slotID).toBe(1);
    expect((await p11.C_GetTokenInfo(0)).sessionCount).toBe(0);
  });

  test('closing the last session logs the application out', async () => {
    const { p11, slot, session } = await readyToken();
    const second = await p11.C_OpenSession(slot, RO);
    await p11.C_Login(session, CKU_USER, USER_PIN);
    await p11.C_CloseSession(session);
    expect((await p11.C_GetSessionInfo(second)).state).toBe(CKS_RO_USER_FUNCTIONS);
    await p11.C_CloseSession(second);
    const next = await p11.C_OpenSession(slot, RW);
    expect((await p11.C_GetSessionInfo(next)).state).toBe(CKS_RW_PUBLIC_SESSION);
  });

  test('C_CloseAllSessions logs out too', async () => {
    const { p11, slot, session } = await readyToken();
    await p11.C_Login(session, CKU_SO, SO_PIN);
    await p11.C_CloseAllSessions(slot);
    const next = await p11.C_OpenSession(slot, RO);
    expect((await p11.C_GetSessionInfo(next)).state).toBe(CKS_RO_PUBLIC_SESSION);
  });

  test('session objects are seen by every session of the application and die with their session', async () => {
    const { p11, slot, session } = await readyToken();
    const other = await p11.C_OpenSession(slot, RO);
    const object = await p11.C_CreateObject(session, data(false, false, 'ephemeral'));
    const token = await p11.C_CreateObject(session, data(true, false, 'kept'));
    expect(await find(p11, other, [{ type: CKA_LABEL, value: 'ephemeral' }])).toEqual([object]);
    await p11.C_CloseSession(session);
    await expectRv(p11.C_GetAttributeValue(other, object, [{ type: CKA_LABEL }]), CKR_OBJECT_HANDLE_INVALID);
    expect(await find(p11, other, [{ type: CKA_LABEL, value: 'ephemeral' }])).toEqual([]);
    expect(await find(p11, other, [{ type: CKA_LABEL, value: 'kept' }])).toEqual([token]);
  });

  test("session objects are invisible to another application", async () => {
    const { p11, slot, session } = await readyToken();
    await p11.C_CreateObject(session, data(false, false, 'ephemeral'));
    await p11.C_CreateObject(session, data(true, false, 'kept'));
    const app2 = new Cryptoki({ engine: p11.engine });
    await app2.C_Initialize();
    const s2 = await app2.C_OpenSession(slot, RO);
    const labels = await Promise.all((await find(app2, s2)).map(async (h) => (await app2.C_GetAttributeValue(s2, h, [{ type: CKA_LABEL }]))[0]?.value));
    expect(labels).toEqual(['kept']);
  });
});

describe('sessions of several applications', () => {
  test("C_InitToken waits for every application's sessions to close", async () => {
    const { p11, slot, session } = await readyToken();
    const other = new Cryptoki({ engine: p11.engine });
    await other.C_Initialize();
    await p11.C_CloseSession(session);
    const theirs = await other.C_OpenSession(slot, RO);
    await expectRv(p11.C_InitToken(slot, SO_PIN, 'wiped'), CKR_SESSION_EXISTS);
    await other.C_CloseSession(theirs);
    await p11.C_InitToken(slot, SO_PIN, 'wiped');
  });
});

describe('operations in a session', () => {
  test('one find at a time per session; sessions are independent', async () => {
    const { p11, slot, session } = await readyToken();
    const other = await p11.C_OpenSession(slot, RO);
    await expectRv(p11.C_FindObjects(session), CKR_OPERATION_NOT_INITIALIZED);
    await expectRv(p11.C_FindObjectsFinal(session), CKR_OPERATION_NOT_INITIALIZED);
    await p11.C_FindObjectsInit(session, []);
    await expectRv(p11.C_FindObjectsInit(session, []), CKR_OPERATION_ACTIVE);
    await p11.C_FindObjectsInit(other, []);
    await p11.C_FindObjectsFinal(session);
    await p11.C_FindObjectsInit(session, []);
  });

  test('operations of different kinds run side by side in one session', async () => {
    const { p11, session } = await readyToken();
    await p11.C_FindObjectsInit(session, []);
    await p11.C_DigestInit(session, { mechanism: CKM_SHA256 });
    await expectRv(p11.C_DigestInit(session, { mechanism: CKM_SHA256 }), CKR_OPERATION_ACTIVE);
    expect(await p11.C_FindObjects(session)).toEqual([]);
    expect((await p11.C_Digest(session, new Uint8Array())).length).toBe(32);
  });

  test('C_SessionCancel ends the named operations only', async () => {
    const { p11, session } = await readyToken();
    await p11.C_FindObjectsInit(session, []);
    await p11.C_DigestInit(session, { mechanism: CKM_SHA256 });
    await p11.C_SessionCancel(session, CKF_FIND_OBJECTS);
    await expectRv(p11.C_FindObjects(session), CKR_OPERATION_NOT_INITIALIZED);
    await p11.C_DigestUpdate(session, new Uint8Array([1]));
  });

  test("closing a session ends other sessions' operations on its session objects", async () => {
    const { p11, slot, session } = await readyToken();
    const other = await p11.C_OpenSession(slot, RW);
    const key = await generateAes(p11, session, [{ type: CKA_PRIVATE, value: false }]);
    await p11.C_EncryptInit(other, { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } }, key);
    await p11.C_CloseSession(session);
    // The key died with its session; an operation must not outlive it.
    await expectRv(p11.C_Encrypt(other, new Uint8Array(4)), CKR_OPERATION_NOT_INITIALIZED);
  });

  test('closing a session ends its operations', async () => {
    const { p11, slot, session } = await readyToken();
    await p11.C_FindObjectsInit(session, []);
    await p11.C_CloseSession(session);
    const next = await p11.C_OpenSession(slot, RW);
    await expectRv(p11.C_FindObjects(next), CKR_OPERATION_NOT_INITIALIZED);
  });
});
