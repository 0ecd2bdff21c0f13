/** Slot and token management (PKCS#11 v3.0 §5.5): slots, token info flags, mechanism list and info. */
import { describe, expect, test } from 'vitest';
import {
  CKF_LOGIN_REQUIRED, CKF_RNG, CKF_TOKEN_INITIALIZED, CKF_TOKEN_PRESENT, CKF_USER_PIN_INITIALIZED,
  CKF_USER_PIN_TO_BE_CHANGED, CKF_DONT_BLOCK, CKF_HW, CKM_AES_GCM, CKM_AES_KEY_GEN, CKM_SHA256,
  CKM_VENDOR_DEFINED, CKR_ARGUMENTS_BAD, CKR_MECHANISM_INVALID, CKR_NO_EVENT, CKR_PIN_INCORRECT,
  CKR_PIN_LEN_RANGE, CKR_SESSION_EXISTS, CKR_SESSION_HANDLE_INVALID, CKR_SLOT_ID_INVALID,
  CKR_TOKEN_NOT_RECOGNIZED, CKA_CLASS, CKA_TOKEN, CKA_LABEL, CKO_DATA, CKA_PRIVATE, CKU_USER, CKU_SO,
  CKR_USER_PIN_NOT_INITIALIZED, Cryptoki,
} from '@vhsm/token';
import { RO, RW, SO_PIN, USER_PIN, expectRv, newCryptoki, readyToken } from './helpers.js';

async function fresh(options = {}) {
  const p11 = newCryptoki(options);
  await p11.C_Initialize();
  return p11;
}

describe('slots', () => {
  test('C_GetSlotList lists slotCount slots, with or without tokenPresent', async () => {
    const p11 = await fresh({ slotCount: 3 });
    expect(await p11.C_GetSlotList(true)).toEqual([0, 1, 2]);
    expect(await p11.C_GetSlotList(false)).toEqual([0, 1, 2]);
    await expectRv(p11.C_GetSlotList('yes' as never), CKR_ARGUMENTS_BAD);
  });

  test('C_GetSlotInfo: a token is always present; an unknown slot is CKR_SLOT_ID_INVALID', async () => {
    const p11 = await fresh({ slotCount: 2 });
    const info = await p11.C_GetSlotInfo(1);
    expect(info.flags & CKF_TOKEN_PRESENT).toBe(CKF_TOKEN_PRESENT);
    expect(info.slotDescription).toContain('1');
    await expectRv(p11.C_GetSlotInfo(2), CKR_SLOT_ID_INVALID);
    await expectRv(p11.C_GetTokenInfo(7), CKR_SLOT_ID_INVALID);
    await expectRv(p11.C_GetMechanismList(7), CKR_SLOT_ID_INVALID);
    await expectRv(p11.C_OpenSession(7, RW), CKR_SLOT_ID_INVALID);
    await expectRv(p11.C_GetSlotInfo(-1), CKR_ARGUMENTS_BAD);
  });

  test('C_WaitForSlotEvent never has an event', async () => {
    const p11 = await fresh();
    expect(await p11.C_WaitForSlotEvent(CKF_DONT_BLOCK)).toBeNull();
    await expectRv(p11.C_WaitForSlotEvent(0), CKR_NO_EVENT);
  });
});

describe('token info', () => {
  test('flags before and after C_InitToken and C_InitPIN', async () => {
    const p11 = await fresh();
    const before = await p11.C_GetTokenInfo(0);
    expect(before.flags & CKF_TOKEN_INITIALIZED).toBe(0);
    expect(before.flags & CKF_USER_PIN_INITIALIZED).toBe(0);
    expect(before.flags & CKF_RNG).toBe(CKF_RNG);
    expect(before.minPinLen).toBe(4);
    expect(before.maxPinLen).toBe(64);
    await expectRv(p11.C_OpenSession(0, RW), CKR_TOKEN_NOT_RECOGNIZED);

    await p11.C_InitToken(0, SO_PIN, 'first');
    const afterInit = await p11.C_GetTokenInfo(0);
    expect(afterInit.flags & CKF_TOKEN_INITIALIZED).toBe(CKF_TOKEN_INITIALIZED);
    expect(afterInit.flags & CKF_LOGIN_REQUIRED).toBe(CKF_LOGIN_REQUIRED);
    expect(afterInit.flags & CKF_USER_PIN_INITIALIZED).toBe(0);
    expect(afterInit.label).toBe('first');
    expect(afterInit.serialNumber).toMatch(/^[0-9A-F]{16}$/);
    const s = await p11.C_OpenSession(0, RW);
    await expectRv(p11.C_Login(s, CKU_USER, USER_PIN), CKR_USER_PIN_NOT_INITIALIZED);
    await p11.C_Login(s, CKU_SO, SO_PIN);
    await p11.C_InitPIN(s, USER_PIN);
    const afterPin = await p11.C_GetTokenInfo(0);
    expect(afterPin.flags & CKF_USER_PIN_INITIALIZED).toBe(CKF_USER_PIN_INITIALIZED);
    // A PIN the SO chose is flagged until the user sets their own.
    expect(afterPin.flags & CKF_USER_PIN_TO_BE_CHANGED).toBe(CKF_USER_PIN_TO_BE_CHANGED);
    expect(afterPin.sessionCount).toBe(1);
    expect(afterPin.rwSessionCount).toBe(1);
  });

  test('C_InitToken: label padding trimmed, label too long and PIN length checked', async () => {
    const p11 = await fresh();
    await expectRv(p11.C_InitToken(0, 'abc', 'x'), CKR_PIN_LEN_RANGE);
    await expectRv(p11.C_InitToken(0, 'a'.repeat(65), 'x'), CKR_PIN_LEN_RANGE);
    await expectRv(p11.C_InitToken(0, SO_PIN, 'x'.repeat(33)), CKR_ARGUMENTS_BAD);
    await p11.C_InitToken(0, SO_PIN, 'padded    ');
    expect((await p11.C_GetTokenInfo(0)).label).toBe('padded');
  });

  test('re-initializing needs the SO PIN, no open session, and wipes every object and the user PIN', async () => {
    const { p11, slot, session } = await readyToken();
    await p11.C_Login(session, CKU_USER, USER_PIN);
    await p11.C_CreateObject(session, [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }, { type: CKA_LABEL, value: 'd' }]);
    await expectRv(p11.C_InitToken(slot, SO_PIN, 'again'), CKR_SESSION_EXISTS);
    await p11.C_CloseSession(session);
    await expectRv(p11.C_InitToken(slot, 'wrong-so-pin', 'again'), CKR_PIN_INCORRECT);
    const serial = (await p11.C_GetTokenInfo(slot)).serialNumber;
    await p11.C_InitToken(slot, SO_PIN, 'again');
    const info = await p11.C_GetTokenInfo(slot);
    expect(info.label).toBe('again');
    expect(info.serialNumber).not.toBe(serial);
    expect(info.flags & CKF_USER_PIN_INITIALIZED).toBe(0);
    const s = await p11.C_OpenSession(slot, RW);
    await p11.C_FindObjectsInit(s, [{ type: CKA_PRIVATE, value: false }]);
    expect(await p11.C_FindObjects(s)).toEqual([]);
    await expectRv(p11.C_GetSessionInfo(session), CKR_SESSION_HANDLE_INVALID);
  });

  test('session counts cover every application of the engine', async () => {
    const { p11, slot } = await readyToken();
    const other = new Cryptoki({ engine: p11.engine });
    await other.C_Initialize();
    await other.C_OpenSession(slot, RO);
    const rw = await other.C_OpenSession(slot, RW);
    const info = await p11.C_GetTokenInfo(slot);
    expect([info.sessionCount, info.rwSessionCount]).toEqual([3, 2]);
    await other.C_CloseSession(rw);
    const after = await p11.C_GetTokenInfo(slot);
    expect([after.sessionCount, after.rwSessionCount]).toEqual([2, 1]);
  });

  test('each slot holds its own token', async () => {
    const p11 = await fresh({ slotCount: 2 });
    await p11.C_InitToken(1, SO_PIN, 'second');
    expect((await p11.C_GetTokenInfo(0)).flags & CKF_TOKEN_INITIALIZED).toBe(0);
    expect((await p11.C_GetTokenInfo(1)).label).toBe('second');
  });
});

describe('mechanisms', () => {
  test('every listed mechanism has info; no duplicates; software only', async () => {
    const p11 = await fresh();
    const list = await p11.C_GetMechanismList(0);
    expect(list.length).toBeGreaterThan(5);
    expect(new Set(list).size).toBe(list.length);
    for (const type of [CKM_AES_KEY_GEN, CKM_AES_GCM, CKM_SHA256]) expect(list).toContain(type);
    for (const type of list) {
      const info = await p11.C_GetMechanismInfo(0, type);
      expect(info.flags & CKF_HW, `0x${type.toString(16)}`).toBe(0);
      expect(info.flags, `0x${type.toString(16)} has no function flag`).not.toBe(0);
      expect(info.minKeySize).toBeLessThanOrEqual(info.maxKeySize);
    }
  });

  test('an unknown mechanism is CKR_MECHANISM_INVALID', async () => {
    const p11 = await fresh();
    await expectRv(p11.C_GetMechanismInfo(0, CKM_VENDOR_DEFINED + 1), CKR_MECHANISM_INVALID);
    await expectRv(p11.C_GetMechanismInfo(0, 0x7777), CKR_MECHANISM_INVALID);
    await expectRv(p11.C_GetMechanismInfo(0, -1), CKR_ARGUMENTS_BAD);
  });

  test('the list is the same for every slot and does not depend on token state', async () => {
    const p11 = await fresh({ slotCount: 2 });
    const before = await p11.C_GetMechanismList(0);
    await p11.C_InitToken(0, SO_PIN, 't');
    expect(await p11.C_GetMechanismList(0)).toEqual(before);
    expect(await p11.C_GetMechanismList(1)).toEqual(before);
  });
});
