/**
 * Login, PINs and retry counters (PKCS#11 v3.0 §5.6), in the style of SoftHSM2's UserTests: every
 * CK_RV C_Login, C_Logout, C_InitPIN and C_SetPIN can give, and login state across applications.
 */
import { describe, expect, test } from 'vitest';
import {
  CKA_ALWAYS_AUTHENTICATE, CKA_CLASS, CKA_LABEL, CKA_PRIVATE, CKA_SIGN, CKA_TOKEN, CKF_SO_PIN_COUNT_LOW,
  CKF_SO_PIN_FINAL_TRY, CKF_SO_PIN_LOCKED, CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY,
  CKF_USER_PIN_LOCKED, CKF_USER_PIN_TO_BE_CHANGED, CKM_ECDSA_SHA256, CKO_DATA, CKR_ARGUMENTS_BAD,
  CKR_OBJECT_HANDLE_INVALID, CKR_OPERATION_NOT_INITIALIZED, CKR_PIN_INCORRECT, CKR_PIN_LEN_RANGE,
  CKR_PIN_LOCKED, CKR_SESSION_READ_ONLY, CKR_USER_ALREADY_LOGGED_IN, CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
  CKR_USER_NOT_LOGGED_IN, CKR_USER_PIN_NOT_INITIALIZED, CKR_USER_TYPE_INVALID, CKR_KEY_HANDLE_INVALID,
  CKS_RO_PUBLIC_SESSION, CKS_RW_PUBLIC_SESSION, CKS_RW_USER_FUNCTIONS, CKU_CONTEXT_SPECIFIC, CKU_SO, CKU_USER, Cryptoki,
  MemoryStore, CKA_SENSITIVE, CKM_AES_GCM, CKM_RSA_PKCS_OAEP, CKM_SHA256, CKG_MGF1_SHA256,
} from '@vhsm/token';
import type { Template } from '@vhsm/token';
import {
  RO, RW, SO_PIN, USER_PIN, bytes, expectRv, findAll, generateAes, generateEc, generateRsa, newCryptoki, readyToken, userSession,
} from './helpers.js';

const privateData: Template = [
  { type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true },
  { type: CKA_LABEL, value: 'secret note' },
];

async function flags(p11: Cryptoki, slot: number): Promise<number> {
  return (await p11.C_GetTokenInfo(slot)).flags;
}

describe('C_Login / C_Logout', () => {
  test('user and SO log in and out', async () => {
    const { p11, session } = await readyToken();
    await p11.C_Login(session, CKU_USER, USER_PIN);
    await p11.C_Logout(session);
    await p11.C_Login(session, CKU_SO, SO_PIN);
    await p11.C_Logout(session);
  });

  test('CKR_USER_ALREADY_LOGGED_IN and CKR_USER_ANOTHER_ALREADY_LOGGED_IN', async () => {
    const { p11, slot, session } = await readyToken();
    await p11.C_Login(session, CKU_USER, USER_PIN);
    const other = await p11.C_OpenSession(slot, RW);
    // Login is per application: a second session is already logged in too.
    await expectRv(p11.C_Login(other, CKU_USER, USER_PIN), CKR_USER_ALREADY_LOGGED_IN);
    await expectRv(p11.C_Login(session, CKU_SO, SO_PIN), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    await p11.C_Logout(session);
    await p11.C_Login(session, CKU_SO, SO_PIN);
    await expectRv(p11.C_Login(session, CKU_SO, SO_PIN), CKR_USER_ALREADY_LOGGED_IN);
    await expectRv(p11.C_Login(other, CKU_USER, USER_PIN), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
  });

  test('CKR_USER_ALREADY_LOGGED_IN does not spend a PIN try, even with a wrong PIN', async () => {
    const { p11, slot, session } = await readyToken();
    await p11.C_Login(session, CKU_USER, USER_PIN);
    await expectRv(p11.C_Login(session, CKU_USER, 'wrong-pin'), CKR_USER_ALREADY_LOGGED_IN);
    expect(await flags(p11, slot) & CKF_USER_PIN_COUNT_LOW).toBe(0);
  });

  test('CKR_USER_NOT_LOGGED_IN: logout without login, C_InitPIN without the SO', async () => {
    const { p11, session } = await readyToken();
    await expectRv(p11.C_Logout(session), CKR_USER_NOT_LOGGED_IN);
    await expectRv(p11.C_InitPIN(session, 'new-user-pin'), CKR_USER_NOT_LOGGED_IN);
    await p11.C_Login(session, CKU_USER, USER_PIN);
    await expectRv(p11.C_InitPIN(session, 'new-user-pin'), CKR_USER_NOT_LOGGED_IN);
  });

  test('CKR_USER_PIN_NOT_INITIALIZED before C_InitPIN', async () => {
    const p11 = newCryptoki();
    await p11.C_Initialize();
    await p11.C_InitToken(0, SO_PIN, 'fresh');
    const session = await p11.C_OpenSession(0, RW);
    await expectRv(p11.C_Login(session, CKU_USER, USER_PIN), CKR_USER_PIN_NOT_INITIALIZED);
    await expectRv(p11.C_SetPIN(session, USER_PIN, 'new-user-pin'), CKR_USER_PIN_NOT_INITIALIZED);
  });

  test('CKR_USER_TYPE_INVALID and a missing PIN', async () => {
    const { p11, session } = await readyToken();
    await expectRv(p11.C_Login(session, 3, USER_PIN), CKR_USER_TYPE_INVALID);
    await expectRv(p11.C_Login(session, 0xffff, USER_PIN), CKR_USER_TYPE_INVALID);
    await expectRv(p11.C_Login(session, CKU_USER), CKR_ARGUMENTS_BAD);
    await expectRv(p11.C_Login(session, CKU_USER, 1234 as never), CKR_ARGUMENTS_BAD);
  });

  test('CKR_PIN_INCORRECT for user and SO', async () => {
    const { p11, session } = await readyToken();
    await expectRv(p11.C_Login(session, CKU_USER, SO_PIN), CKR_PIN_INCORRECT);
    await expectRv(p11.C_Login(session, CKU_SO, USER_PIN), CKR_PIN_INCORRECT);
    await expectRv(p11.C_Login(session, CKU_USER, ''), CKR_PIN_INCORRECT);
  });

  test('C_LoginUser takes only the empty username', async () => {
    const { p11, session } = await readyToken();
    await expectRv(p11.C_LoginUser(session, CKU_USER, USER_PIN, 'alice'), CKR_ARGUMENTS_BAD);
    await p11.C_LoginUser(session, CKU_USER, USER_PIN, '');
    expect((await p11.C_GetSessionInfo(session)).state).toBe(CKS_RW_USER_FUNCTIONS);
  });
});

describe('retry counters', () => {
  const maxPinTries = 3;

  test('user: COUNT_LOW, FINAL_TRY, LOCKED; then CKR_PIN_LOCKED even for the right PIN', async () => {
    const { p11, slot, session } = await readyToken({ maxPinTries });
    expect(await flags(p11, slot) & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED)).toBe(0);
    await expectRv(p11.C_Login(session, CKU_USER, 'wrong-1'), CKR_PIN_INCORRECT);
    expect(await flags(p11, slot) & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED)).toBe(CKF_USER_PIN_COUNT_LOW);
    await expectRv(p11.C_Login(session, CKU_USER, 'wrong-2'), CKR_PIN_INCORRECT);
    expect(await flags(p11, slot) & CKF_USER_PIN_FINAL_TRY).toBe(CKF_USER_PIN_FINAL_TRY);
    expect(await flags(p11, slot) & CKF_USER_PIN_LOCKED).toBe(0);
    await expectRv(p11.C_Login(session, CKU_USER, 'wrong-3'), CKR_PIN_INCORRECT);
    expect(await flags(p11, slot) & CKF_USER_PIN_LOCKED).toBe(CKF_USER_PIN_LOCKED);
    await expectRv(p11.C_Login(session, CKU_USER, USER_PIN), CKR_PIN_LOCKED);
    await expectRv(p11.C_SetPIN(session, USER_PIN, 'new-user-pin'), CKR_PIN_LOCKED);
    // The SO is untouched.
    expect(await flags(p11, slot) & (CKF_SO_PIN_COUNT_LOW | CKF_SO_PIN_LOCKED)).toBe(0);
  });

  test("a success before the limit resets the user's counter", async () => {
    const { p11, slot, session } = await readyToken({ maxPinTries });
    await expectRv(p11.C_Login(session, CKU_USER, 'wrong-1'), CKR_PIN_INCORRECT);
    await expectRv(p11.C_Login(session, CKU_USER, 'wrong-2'), CKR_PIN_INCORRECT);
    await p11.C_Login(session, CKU_USER, USER_PIN);
    expect(await flags(p11, slot) & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY)).toBe(0);
    await p11.C_Logout(session);
    await expectRv(p11.C_Login(session, CKU_USER, 'wrong-1'), CKR_PIN_INCORRECT);
    await expectRv(p11.C_Login(session, CKU_USER, 'wrong-2'), CKR_PIN_INCORRECT);
    await p11.C_Login(session, CKU_USER, USER_PIN);
  });

  test('SO: COUNT_LOW, FINAL_TRY, LOCKED; a locked SO cannot re-initialize the token', async () => {
    const { p11, slot, session } = await readyToken({ maxPinTries });
    for (let i = 1; i <= maxPinTries; i++) {
      await expectRv(p11.C_Login(session, CKU_SO, `wrong-${i}`), CKR_PIN_INCORRECT);
      const f = await flags(p11, slot);
      expect(f & CKF_SO_PIN_COUNT_LOW, `try ${i}`).toBe(i < maxPinTries ? CKF_SO_PIN_COUNT_LOW : 0);
      expect(f & CKF_SO_PIN_FINAL_TRY, `try ${i}`).toBe(i === maxPinTries - 1 ? CKF_SO_PIN_FINAL_TRY : 0);
      expect(f & CKF_SO_PIN_LOCKED, `try ${i}`).toBe(i === maxPinTries ? CKF_SO_PIN_LOCKED : 0);
    }
    await expectRv(p11.C_Login(session, CKU_SO, SO_PIN), CKR_PIN_LOCKED);
    await p11.C_CloseSession(session);
    await expectRv(p11.C_InitToken(slot, SO_PIN, 'again'), CKR_PIN_LOCKED);
    // The user is untouched.
    const s = await p11.C_OpenSession(slot, RW);
    await p11.C_Login(s, CKU_USER, USER_PIN);
  });

  test("the SO's C_InitPIN unlocks the user PIN", async () => {
    const { p11, slot, session } = await readyToken({ maxPinTries });
    for (let i = 0; i < maxPinTries; i++) await expectRv(p11.C_Login(session, CKU_USER, 'wrong-pin'), CKR_PIN_INCORRECT);
    await p11.C_Login(session, CKU_SO, SO_PIN);
    await p11.C_InitPIN(session, 'fresh-user-pin');
    expect(await flags(p11, slot) & (CKF_USER_PIN_LOCKED | CKF_USER_PIN_COUNT_LOW)).toBe(0);
    await p11.C_Logout(session);
    await expectRv(p11.C_Login(session, CKU_USER, USER_PIN), CKR_PIN_INCORRECT);
    await p11.C_Login(session, CKU_USER, 'fresh-user-pin');
  });

  test('concurrent wrong attempts all count', async () => {
    const { p11, slot, session } = await readyToken({ maxPinTries });
    const attempts = await Promise.allSettled([1, 2, 3, 4].map((i) => p11.C_Login(session, CKU_USER, `wrong-${i}`)));
    expect(attempts.every((a) => a.status === 'rejected')).toBe(true);
    expect(await flags(p11, slot) & CKF_USER_PIN_LOCKED).toBe(CKF_USER_PIN_LOCKED);
    await expectRv(p11.C_Login(session, CKU_USER, USER_PIN), CKR_PIN_LOCKED);
  });
});

describe('C_InitPIN and C_SetPIN', () => {
  test('CKR_PIN_LEN_RANGE for a new PIN outside 4..64 characters', async () => {
    const { p11, session } = await readyToken();
    await p11.C_Login(session, CKU_SO, SO_PIN);
    await expectRv(p11.C_InitPIN(session, '123'), CKR_PIN_LEN_RANGE);
    await expectRv(p11.C_InitPIN(session, 'x'.repeat(65)), CKR_PIN_LEN_RANGE);
    await expectRv(p11.C_SetPIN(session, SO_PIN, 'abc'), CKR_PIN_LEN_RANGE);
    await p11.C_InitPIN(session, 'x'.repeat(64));
    await p11.C_InitPIN(session, '1234');
  });

  test('R/W public session: C_SetPIN changes the user PIN and clears USER_PIN_TO_BE_CHANGED', async () => {
    const { p11, slot, session } = await readyToken();
    expect(await flags(p11, slot) & CKF_USER_PIN_TO_BE_CHANGED).toBe(CKF_USER_PIN_TO_BE_CHANGED);
    await p11.C_SetPIN(session, USER_PIN, 'my-own-pin');
    expect(await flags(p11, slot) & CKF_USER_PIN_TO_BE_CHANGED).toBe(0);
    await expectRv(p11.C_Login(session, CKU_USER, USER_PIN), CKR_PIN_INCORRECT);
    await p11.C_Login(session, CKU_USER, 'my-own-pin');
  });

  test('R/W user session: C_SetPIN changes the user PIN; objects stay readable', async () => {
    const { p11, session } = await userSession();
    const note = await p11.C_CreateObject(session, privateData);
    await p11.C_SetPIN(session, USER_PIN, 'my-own-pin');
    await p11.C_Logout(session);
    await p11.C_Login(session, CKU_USER, 'my-own-pin');
    const [found] = await findAll(p11, session, [{ type: CKA_LABEL, value: 'secret note' }]);
    expect(found).toBeDefined();
    expect(note).toBeDefined();
  });

  test('R/W SO session: C_SetPIN changes the SO PIN, not the user PIN', async () => {
    const { p11, session } = await readyToken();
    await p11.C_Login(session, CKU_SO, SO_PIN);
    await expectRv(p11.C_SetPIN(session, USER_PIN, 'new-so-pin'), CKR_PIN_INCORRECT);
    await p11.C_SetPIN(session, SO_PIN, 'new-so-pin');
    await p11.C_Logout(session);
    await expectRv(p11.C_Login(session, CKU_SO, SO_PIN), CKR_PIN_INCORRECT);
    await p11.C_Login(session, CKU_SO, 'new-so-pin');
    await p11.C_Logout(session);
    await p11.C_Login(session, CKU_USER, USER_PIN);
  });

  test('R/O sessions cannot set PINs; a wrong old PIN counts as a failed try', async () => {
    const { p11, slot, session } = await readyToken();
    const ro = await p11.C_OpenSession(slot, RO);
    await expectRv(p11.C_SetPIN(ro, USER_PIN, 'my-own-pin'), CKR_SESSION_READ_ONLY);
    await p11.C_Login(ro, CKU_USER, USER_PIN);
    await expectRv(p11.C_SetPIN(ro, USER_PIN, 'my-own-pin'), CKR_SESSION_READ_ONLY);
    await expectRv(p11.C_SetPIN(session, 'not-the-pin', 'my-own-pin'), CKR_PIN_INCORRECT);
    expect(await flags(p11, slot) & CKF_USER_PIN_COUNT_LOW).toBe(CKF_USER_PIN_COUNT_LOW);
  });

  test('the user PIN set by C_InitPIN opens objects the user made before', async () => {
    const { p11, session } = await userSession();
    await p11.C_CreateObject(session, privateData);
    await p11.C_Logout(session);
    await p11.C_Login(session, CKU_SO, SO_PIN);
    await p11.C_InitPIN(session, 'reset-user-pin');
    await p11.C_Logout(session);
    await p11.C_Login(session, CKU_USER, 'reset-user-pin');
    const [note] = await findAll(p11, session, [{ type: CKA_LABEL, value: 'secret note' }]);
    expect((await p11.C_GetAttributeValue(session, note as number, [{ type: CKA_PRIVATE }]))[0]?.value).toBe(true);
  });
});

describe('logout', () => {
  test('hides private objects and invalidates their handles for good', async () => {
    const { p11, session } = await userSession();
    const token = await p11.C_CreateObject(session, privateData);
    const sessionObject = await p11.C_CreateObject(session, [...privateData.filter((a) => a.type !== CKA_TOKEN), { type: CKA_TOKEN, value: false }]);
    const publicObject = await p11.C_CreateObject(session, [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_PRIVATE, value: false }]);
    await p11.C_Logout(session);
    await expectRv(p11.C_GetAttributeValue(session, token, [{ type: CKA_LABEL }]), CKR_OBJECT_HANDLE_INVALID);
    await expectRv(p11.C_GetAttributeValue(session, sessionObject, [{ type: CKA_LABEL }]), CKR_OBJECT_HANDLE_INVALID);
    expect(await findAll(p11, session)).toEqual([publicObject]);
    await p11.C_Login(session, CKU_USER, USER_PIN);
    // The handle stays invalid after logging back in (§5.6: "even if a user is later logged back in").
    await expectRv(p11.C_GetAttributeValue(session, token, [{ type: CKA_LABEL }]), CKR_OBJECT_HANDLE_INVALID);
    // Private session objects are gone; the token object is found again under a handle.
    const found = await findAll(p11, session, [{ type: CKA_LABEL, value: 'secret note' }]);
    expect(found.length).toBe(1);
  });

  test('ends operations that use a private key', async () => {
    const { p11, session } = await userSession();
    const { privateKey } = await generateEc(p11, session);
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey);
    await p11.C_Logout(session);
    await expectRv(p11.C_Sign(session, bytes('x')), CKR_OPERATION_NOT_INITIALIZED);
    await expectRv(p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey), CKR_KEY_HANDLE_INVALID);
  });
});

describe('CKU_CONTEXT_SPECIFIC', () => {
  async function alwaysAuthKey() {
    const t = await userSession();
    const pair = await generateEc(t.p11, t.session, [], [{ type: CKA_ALWAYS_AUTHENTICATE, value: true }, { type: CKA_SIGN, value: true }]);
    return { ...t, ...pair };
  }

  test('a key with CKA_ALWAYS_AUTHENTICATE signs only after a context-specific login', async () => {
    const { p11, session, privateKey } = await alwaysAuthKey();
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey);
    // Without it, C_Sign fails with CKR_USER_NOT_LOGGED_IN and the operation ends (SoftHSM2 does the same).
    await expectRv(p11.C_Sign(session, bytes('m')), CKR_USER_NOT_LOGGED_IN);
    await expectRv(p11.C_Sign(session, bytes('m')), CKR_OPERATION_NOT_INITIALIZED);
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey);
    await expectRv(p11.C_Login(session, CKU_CONTEXT_SPECIFIC, 'wrong-pin'), CKR_PIN_INCORRECT);
    await p11.C_Login(session, CKU_CONTEXT_SPECIFIC, USER_PIN);
    expect((await p11.C_Sign(session, bytes('m'))).length).toBe(64);
    // Each operation needs its own.
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey);
    await expectRv(p11.C_SignUpdate(session, bytes('m')), CKR_USER_NOT_LOGGED_IN);
  });

  test('decryption with such a key needs it too (SoftHSM2 asks for it on sign and decrypt)', async () => {
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await generateRsa(p11, session, [], [{ type: CKA_ALWAYS_AUTHENTICATE, value: true }], 1024);
    const oaep = { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 } };
    await p11.C_EncryptInit(session, oaep, publicKey);
    const ciphertext = await p11.C_Encrypt(session, bytes('secret'));
    await p11.C_DecryptInit(session, oaep, privateKey);
    await expectRv(p11.C_Decrypt(session, ciphertext), CKR_USER_NOT_LOGGED_IN);
    await p11.C_DecryptInit(session, oaep, privateKey);
    await p11.C_Login(session, CKU_CONTEXT_SPECIFIC, USER_PIN);
    expect(await p11.C_Decrypt(session, ciphertext)).toEqual(bytes('secret'));
  });

  test('message-based signing cannot skip it, and each message needs its own', async () => {
    const { p11, session, privateKey } = await alwaysAuthKey();
    await p11.C_MessageSignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey);
    await expectRv(p11.C_SignMessage(session, undefined, bytes('m')), CKR_USER_NOT_LOGGED_IN);
    await expectRv(p11.C_SignMessageBegin(session, undefined), CKR_USER_NOT_LOGGED_IN);
    await p11.C_Login(session, CKU_CONTEXT_SPECIFIC, USER_PIN);
    expect((await p11.C_SignMessage(session, undefined, bytes('m'))).length).toBe(64);
    await expectRv(p11.C_SignMessage(session, undefined, bytes('again')), CKR_USER_NOT_LOGGED_IN);
  });

  test('without an operation that needs it: CKR_OPERATION_NOT_INITIALIZED', async () => {
    const { p11, session, privateKey } = await alwaysAuthKey();
    await expectRv(p11.C_Login(session, CKU_CONTEXT_SPECIFIC, USER_PIN), CKR_OPERATION_NOT_INITIALIZED);
    expect(await p11.C_GetAttributeValue(session, privateKey, [{ type: CKA_ALWAYS_AUTHENTICATE }])).toEqual([{ type: CKA_ALWAYS_AUTHENTICATE, value: true }]);
  });
});

describe('applications and engines', () => {
  test('two applications on one Engine: separate login states, shared objects and counters', async () => {
    const { p11: a, slot, session: sa } = await readyToken({ maxPinTries: 4 });
    const b = new Cryptoki({ engine: a.engine });
    await b.C_Initialize();
    const sb = await b.C_OpenSession(slot, RW);
    await a.C_Login(sa, CKU_USER, USER_PIN);
    expect((await b.C_GetSessionInfo(sb)).state).not.toBe(CKS_RW_USER_FUNCTIONS);
    const note = await a.C_CreateObject(sa, privateData);
    expect(await findAll(b, sb)).toEqual([]);
    await expectRv(b.C_Login(sb, CKU_USER, 'wrong-pin'), CKR_PIN_INCORRECT);
    expect((await a.C_GetTokenInfo(slot)).flags & CKF_USER_PIN_COUNT_LOW).toBe(CKF_USER_PIN_COUNT_LOW);
    await b.C_Login(sb, CKU_USER, USER_PIN);
    const [seen] = await findAll(b, sb, [{ type: CKA_LABEL, value: 'secret note' }]);
    expect(seen).toBeDefined();
    // B logging out does not log A out.
    await b.C_Logout(sb);
    expect((await a.C_GetAttributeValue(sa, note, [{ type: CKA_LABEL }]))[0]?.value).toBe('secret note');
    // And B's handle is its own.
    await expectRv(b.C_GetAttributeValue(sb, seen as number, [{ type: CKA_LABEL }]), CKR_OBJECT_HANDLE_INVALID);
  });

  test('an application logged in as SO does not make another one SO', async () => {
    const { p11: a, slot, session: sa } = await readyToken();
    const b = new Cryptoki({ engine: a.engine });
    await b.C_Initialize();
    const sb = await b.C_OpenSession(slot, RO);
    await a.C_Login(sa, CKU_SO, SO_PIN);
    expect((await b.C_GetSessionInfo(sb)).state).toBe(CKS_RO_PUBLIC_SESSION);
    await expectRv(b.C_InitPIN(sb, 'hijacked-pin'), CKR_USER_NOT_LOGGED_IN);
  });

  test('a private token object changed through one Engine reads back changed through another', async () => {
    const store = new MemoryStore();
    const { p11: a, slot, session: sa } = await userSession({ store });
    const note = await a.C_CreateObject(sa, privateData);
    await a.C_SetAttributeValue(sa, note, [{ type: CKA_LABEL, value: 'renamed note' }]);
    const b = newCryptoki({ store });
    await b.C_Initialize();
    const sb = await b.C_OpenSession(slot, RO);
    await b.C_Login(sb, CKU_USER, USER_PIN);
    const [seen] = await findAll(b, sb, [{ type: CKA_PRIVATE, value: true }]);
    expect((await b.C_GetAttributeValue(sb, seen as number, [{ type: CKA_LABEL }]))[0]?.value).toBe('renamed note');
    // And the other way: B's view follows A's next change.
    await a.C_SetAttributeValue(sa, note, [{ type: CKA_LABEL, value: 'third name' }]);
    expect((await b.C_GetAttributeValue(sb, seen as number, [{ type: CKA_LABEL }]))[0]?.value).toBe('third name');
  });

  test('token keys made through one Engine work through another, private and public alike', async () => {
    const store = new MemoryStore();
    const { p11: a, slot, session: sa } = await userSession({ store });
    const secret = await generateAes(a, sa, [{ type: CKA_TOKEN, value: true }, { type: CKA_SENSITIVE, value: true }, { type: CKA_LABEL, value: 'shared aes' }]);
    const pair = await generateEc(a, sa, [{ type: CKA_TOKEN, value: true }, { type: CKA_LABEL, value: 'shared ec' }], [{ type: CKA_TOKEN, value: true }, { type: CKA_LABEL, value: 'shared ec' }]);
    const b = newCryptoki({ store });
    await b.C_Initialize();
    const sb = await b.C_OpenSession(slot, RW);
    // The public key needs no login in B.
    const [publicKey] = await findAll(b, sb, [{ type: CKA_LABEL, value: 'shared ec' }]);
    await b.C_Login(sb, CKU_USER, USER_PIN);
    const [secretB] = await findAll(b, sb, [{ type: CKA_LABEL, value: 'shared aes' }]);
    const iv = new Uint8Array(12);
    await b.C_EncryptInit(sb, { mechanism: CKM_AES_GCM, parameter: { iv } }, secretB as number);
    const ct = await b.C_Encrypt(sb, bytes('across engines'));
    await a.C_DecryptInit(sa, { mechanism: CKM_AES_GCM, parameter: { iv } }, secret);
    expect(await a.C_Decrypt(sa, ct)).toEqual(bytes('across engines'));
    await a.C_SignInit(sa, { mechanism: CKM_ECDSA_SHA256 }, pair.privateKey);
    const signature = await a.C_Sign(sa, bytes('m'));
    await b.C_VerifyInit(sb, { mechanism: CKM_ECDSA_SHA256 }, publicKey as number);
    expect(await b.C_Verify(sb, bytes('m'), signature)).toBe(true);
  });

  test('a re-initialization through another Engine logs this one out, so it cannot write under the old token key', async () => {
    // Two tabs without a SharedWorker are two Engines over one IndexedDB.
    const store = new MemoryStore();
    const { p11: a, slot, session: sa } = await userSession({ store });
    const b = newCryptoki({ store });
    await b.C_Initialize();
    await b.C_InitToken(slot, SO_PIN, 'fresh');
    await expectRv(a.C_CreateObject(sa, privateData), CKR_USER_NOT_LOGGED_IN);
    expect((await a.C_GetSessionInfo(sa)).state).toBe(CKS_RW_PUBLIC_SESSION);
    // The new token stays sound for its new user.
    const sb = await b.C_OpenSession(slot, RW);
    await b.C_Login(sb, CKU_SO, SO_PIN);
    await b.C_InitPIN(sb, 'new-user-pin');
    await b.C_Logout(sb);
    await b.C_Login(sb, CKU_USER, 'new-user-pin');
    expect(await findAll(b, sb)).toEqual([]);
    await a.C_Login(sa, CKU_USER, 'new-user-pin');
    await a.C_CreateObject(sa, privateData);
    expect(await findAll(b, sb, [{ type: CKA_LABEL, value: 'secret note' }])).toHaveLength(1);
  });

  test('token keys survive C_Finalize and C_Initialize', async () => {
    const { p11, slot, session } = await userSession();
    await generateAes(p11, session, [{ type: CKA_TOKEN, value: true }, { type: CKA_LABEL, value: 'kept' }]);
    await p11.C_Finalize();
    await p11.C_Initialize();
    const s = await p11.C_OpenSession(slot, RW);
    expect(await findAll(p11, s, [{ type: CKA_LABEL, value: 'kept' }])).toEqual([]);
    await p11.C_Login(s, CKU_USER, USER_PIN);
    const [kept] = await findAll(p11, s, [{ type: CKA_LABEL, value: 'kept' }]);
    await p11.C_EncryptInit(s, { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } }, kept as number);
    expect((await p11.C_Encrypt(s, bytes('x'))).length).toBe(17);
  });

  test('two Engines over one store see each other’s objects and PIN counters', async () => {
    const store = new MemoryStore();
    const { p11: a, slot, session: sa } = await readyToken({ store, maxPinTries: 3 });
    const b = newCryptoki({ store, maxPinTries: 3 });
    await b.C_Initialize();
    const sb = await b.C_OpenSession(slot, RW);
    await a.C_Login(sa, CKU_USER, USER_PIN);
    await a.C_CreateObject(sa, privateData);
    await a.C_CreateObject(sa, [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: false }, { type: CKA_LABEL, value: 'public note' }]);
    const [publicNote] = await findAll(b, sb, [{ type: CKA_LABEL, value: 'public note' }]);
    expect(publicNote).toBeDefined();
    await expectRv(b.C_Login(sb, CKU_USER, 'wrong-1'), CKR_PIN_INCORRECT);
    await expectRv(a.C_Logout(sa).then(() => a.C_Login(sa, CKU_USER, 'wrong-2')), CKR_PIN_INCORRECT);
    expect((await b.C_GetTokenInfo(slot)).flags & CKF_USER_PIN_FINAL_TRY).toBe(CKF_USER_PIN_FINAL_TRY);
    await b.C_Login(sb, CKU_USER, USER_PIN);
    const [note] = await findAll(b, sb, [{ type: CKA_LABEL, value: 'secret note' }]);
    expect((await b.C_GetAttributeValue(sb, note as number, [{ type: CKA_PRIVATE }]))[0]?.value).toBe(true);
    // A change through B is seen by A.
    await b.C_SetAttributeValue(sb, publicNote as number, [{ type: CKA_LABEL, value: 'edited' }]);
    expect(await findAll(a, sa, [{ type: CKA_LABEL, value: 'edited' }])).toHaveLength(1);
    await b.C_DestroyObject(sb, note as number);
    await a.C_Login(sa, CKU_USER, USER_PIN);
    expect(await findAll(a, sa, [{ type: CKA_LABEL, value: 'secret note' }])).toEqual([]);
  });
});
