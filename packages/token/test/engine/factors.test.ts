/**
 * Login factors beside the user PIN (factors.ts): a 32-byte PRF secret wraps TK in its own record,
 * either it or the PIN logs the user in, attempts share the user PIN's counter, C_InitPIN drops
 * them, and the record holds nothing that opens TK without the secret.
 */
import { describe, expect, test } from 'vitest';
import {
  CKA_CLASS, CKA_LABEL, CKA_PRIVATE, CKA_TOKEN, CKA_VALUE, CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY,
  CKF_USER_PIN_LOCKED, CKO_DATA, CKR_ARGUMENTS_BAD, CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY, CKR_PIN_INCORRECT,
  CKR_PIN_INVALID, CKR_PIN_LOCKED, CKR_SESSION_READ_ONLY, CKR_USER_NOT_LOGGED_IN, CKS_RW_USER_FUNCTIONS,
  CKU_SO, CKU_USER, Cryptoki, MAX_FACTORS, CKA_ALWAYS_AUTHENTICATE, CKA_SIGN, CKM_ECDSA_SHA256, CKU_CONTEXT_SPECIFIC, MemoryStore, factorPin,
} from '@vhsm/token';
import type { TokenRecord } from '@vhsm/token';
import { RO, RW, SO_PIN, USER_PIN, bytes, expectRv, findAll, generateEc, newCryptoki } from './helpers.js';

const ID = Uint8Array.from({ length: 48 }, (_, i) => i + 1);
const SECRET = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 ^ i);
const OTHER_SECRET = Uint8Array.from({ length: 32 }, (_, i) => 0x11 + i);
const PRF_SALT = new Uint8Array(32).fill(7);
const MAX_TRIES = 4;

/** A token with a user PIN, a private object, and a factor enrolled; returns a fresh R/W session, logged out. */
async function enrolled() {
  const store = new MemoryStore();
  const p11 = newCryptoki({ store, maxPinTries: MAX_TRIES });
  await p11.C_Initialize();
  await p11.C_InitToken(0, SO_PIN, 'factor token');
  const so = await p11.C_OpenSession(0, RW);
  await p11.C_Login(so, CKU_SO, SO_PIN);
  await p11.C_InitPIN(so, USER_PIN);
  await p11.C_Logout(so);
  const session = await p11.C_OpenSession(0, RW);
  await p11.C_Login(session, CKU_USER, USER_PIN);
  await p11.C_CreateObject(session, [
    { type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true },
    { type: CKA_LABEL, value: 'note' }, { type: CKA_VALUE, value: new TextEncoder().encode('behind the key') },
  ]);
  await p11.enrollUserFactor(session, { id: ID, secret: SECRET, prfSalt: PRF_SALT });
  await p11.C_Logout(session);
  return { p11, store, session };
}

async function failures(store: MemoryStore): Promise<number> {
  return (await store.loadToken(0))?.user?.failures ?? -1;
}

async function readNote(p11: Cryptoki, session: number): Promise<string> {
  const [handle] = await findAll(p11, session, [{ type: CKA_LABEL, value: 'note' }]);
  const [value] = await p11.C_GetAttributeValue(session, handle as number, [{ type: CKA_VALUE }]);
  return new TextDecoder().decode(value?.value as Uint8Array);
}

async function tamper(store: MemoryStore, change: (record: TokenRecord) => void): Promise<void> {
  await store.updateToken(0, (current) => {
    if (current) change(current);
    return current;
  });
}

describe('enrolment', () => {
  test('the factor logs the user in and opens private objects; the PIN still does', async () => {
    const { p11, session } = await enrolled();
    await p11.C_Login(session, CKU_USER, factorPin(ID, SECRET));
    expect((await p11.C_GetSessionInfo(session)).state).toBe(CKS_RW_USER_FUNCTIONS);
    expect(await readNote(p11, session)).toBe('behind the key');
    await p11.C_Logout(session);
    await p11.C_Login(session, CKU_USER, USER_PIN);
    expect(await readNote(p11, session)).toBe('behind the key');
  });

  test('a second engine over the same store (a reload) logs in with the factor and lists it', async () => {
    const { store } = await enrolled();
    const p11 = newCryptoki({ store, maxPinTries: MAX_TRIES });
    await p11.C_Initialize();
    const listed = await p11.listUserFactors(0);
    expect(listed).toEqual([{ id: ID, prfSalt: PRF_SALT }]);
    const session = await p11.C_OpenSession(0, RO);
    await p11.C_Login(session, CKU_USER, factorPin(listed[0]!.id, SECRET));
    expect(await readNote(p11, session)).toBe('behind the key');
  });

  test('enrolment after a factor login (re-wraps TK with the factor KEK), then the second factor works', async () => {
    const { p11, session } = await enrolled();
    const id2 = Uint8Array.of(9, 9, 9);
    await p11.C_Login(session, CKU_USER, factorPin(ID, SECRET));
    await p11.enrollUserFactor(session, { id: id2, secret: OTHER_SECRET });
    await p11.C_Logout(session);
    await p11.C_Login(session, CKU_USER, factorPin(id2, OTHER_SECRET));
    expect(await readNote(p11, session)).toBe('behind the key');
    expect((await p11.listUserFactors(0)).map((f) => f.id)).toEqual([ID, id2]);
  });

  test('the same id replaces its factor; removal makes it refused', async () => {
    const { p11, session } = await enrolled();
    await p11.C_Login(session, CKU_USER, USER_PIN);
    await p11.enrollUserFactor(session, { id: ID, secret: OTHER_SECRET });
    expect(await p11.listUserFactors(0)).toEqual([{ id: ID }]);
    await p11.C_Logout(session);
    await expectRv(p11.C_Login(session, CKU_USER, factorPin(ID, SECRET)), CKR_PIN_INCORRECT);
    await p11.C_Login(session, CKU_USER, factorPin(ID, OTHER_SECRET));
    await p11.removeUserFactor(session, ID);
    await expectRv(p11.removeUserFactor(session, ID), CKR_ARGUMENTS_BAD);
    // The factor of this login is gone: it can no longer re-wrap TK.
    await expectRv(p11.enrollUserFactor(session, { id: ID, secret: SECRET }), CKR_USER_NOT_LOGGED_IN);
    await p11.C_Logout(session);
    await expectRv(p11.C_Login(session, CKU_USER, factorPin(ID, OTHER_SECRET)), CKR_PIN_INCORRECT);
    expect(await p11.listUserFactors(0)).toEqual([]);
  });

  test('refusals: not logged in, SO, read-only session, bad id or secret, too many factors', async () => {
    const { p11, session } = await enrolled();
    await expectRv(p11.enrollUserFactor(session, { id: ID, secret: SECRET }), CKR_USER_NOT_LOGGED_IN);
    await expectRv(p11.removeUserFactor(session, ID), CKR_USER_NOT_LOGGED_IN);
    await p11.C_Login(session, CKU_SO, SO_PIN);
    await expectRv(p11.enrollUserFactor(session, { id: ID, secret: SECRET }), CKR_USER_NOT_LOGGED_IN);
    await p11.C_Logout(session);
    const ro = await p11.C_OpenSession(0, RO);
    await p11.C_Login(ro, CKU_USER, USER_PIN);
    await expectRv(p11.enrollUserFactor(ro, { id: ID, secret: SECRET }), CKR_SESSION_READ_ONLY);
    await expectRv(p11.enrollUserFactor(session, { id: new Uint8Array(), secret: SECRET }), CKR_ARGUMENTS_BAD);
    await expectRv(p11.enrollUserFactor(session, { id: new Uint8Array(1024), secret: SECRET }), CKR_ARGUMENTS_BAD);
    await expectRv(p11.enrollUserFactor(session, { id: ID, secret: SECRET.subarray(1) }), CKR_ARGUMENTS_BAD);
    for (let i = 1; i < MAX_FACTORS; i++) await p11.enrollUserFactor(session, { id: Uint8Array.of(i), secret: SECRET });
    await expectRv(p11.enrollUserFactor(session, { id: Uint8Array.of(200), secret: SECRET }), CKR_DEVICE_MEMORY);
    expect(await p11.listUserFactors(0)).toHaveLength(MAX_FACTORS);
  });

  test('a PIN may not look like a factor', async () => {
    const { p11, session } = await enrolled();
    await p11.C_Login(session, CKU_USER, USER_PIN);
    await expectRv(p11.C_SetPIN(session, USER_PIN, 'prf:not-a-pin'), CKR_PIN_INVALID);
  });
});

describe('retry counter', () => {
  test('a wrong secret, an unknown credential and a malformed factor: the first two count, the last is refused uncounted', async () => {
    const { p11, store, session } = await enrolled();
    await expectRv(p11.C_Login(session, CKU_USER, factorPin(ID, OTHER_SECRET)), CKR_PIN_INCORRECT);
    expect(await failures(store)).toBe(1);
    await expectRv(p11.C_Login(session, CKU_USER, factorPin(Uint8Array.of(1, 2), SECRET)), CKR_PIN_INCORRECT);
    expect(await failures(store)).toBe(2);
    expect((await p11.C_GetTokenInfo(0)).flags & CKF_USER_PIN_COUNT_LOW).toBe(CKF_USER_PIN_COUNT_LOW);
    await expectRv(p11.C_Login(session, CKU_USER, 'prf:AAAA:short'), CKR_PIN_INVALID);
    expect(await failures(store)).toBe(2);
  });

  test('a factor success forgives its own try only; a PIN success clears the count', async () => {
    const { p11, store, session } = await enrolled();
    await expectRv(p11.C_Login(session, CKU_USER, 'wrong-pin'), CKR_PIN_INCORRECT);
    await expectRv(p11.C_Login(session, CKU_USER, 'wrong-pin'), CKR_PIN_INCORRECT);
    await p11.C_Login(session, CKU_USER, factorPin(ID, SECRET));
    // Someone holding the key learns nothing about the PIN by interleaving guesses with key logins.
    expect(await failures(store)).toBe(2);
    await p11.C_Logout(session);
    await p11.C_Login(session, CKU_USER, USER_PIN);
    expect(await failures(store)).toBe(0);
  });

  test('locked by wrong factors: neither the factor nor the PIN opens until C_InitPIN, which drops the factors', async () => {
    const { p11, store, session } = await enrolled();
    for (let i = 0; i < MAX_TRIES - 1; i++) await expectRv(p11.C_Login(session, CKU_USER, factorPin(ID, OTHER_SECRET)), CKR_PIN_INCORRECT);
    expect((await p11.C_GetTokenInfo(0)).flags & CKF_USER_PIN_FINAL_TRY).toBe(CKF_USER_PIN_FINAL_TRY);
    await expectRv(p11.C_Login(session, CKU_USER, factorPin(ID, OTHER_SECRET)), CKR_PIN_INCORRECT);
    expect((await p11.C_GetTokenInfo(0)).flags & CKF_USER_PIN_LOCKED).toBe(CKF_USER_PIN_LOCKED);
    await expectRv(p11.C_Login(session, CKU_USER, factorPin(ID, SECRET)), CKR_PIN_LOCKED);
    await expectRv(p11.C_Login(session, CKU_USER, USER_PIN), CKR_PIN_LOCKED);
    expect(await failures(store)).toBe(MAX_TRIES);
    await p11.C_Login(session, CKU_SO, SO_PIN);
    await p11.C_InitPIN(session, 'new-user-pin');
    await p11.C_Logout(session);
    expect(await p11.listUserFactors(0)).toEqual([]);
    expect((await store.loadToken(0))?.factors).toBeUndefined();
    await expectRv(p11.C_Login(session, CKU_USER, factorPin(ID, SECRET)), CKR_PIN_INCORRECT);
    await p11.C_Login(session, CKU_USER, 'new-user-pin');
    expect(await readNote(p11, session)).toBe('behind the key');
  });

  test('CKU_CONTEXT_SPECIFIC takes the factor too, and counts a wrong one', async () => {
    const { p11, store, session } = await enrolled();
    await p11.C_Login(session, CKU_USER, factorPin(ID, SECRET));
    const { privateKey } = await generateEc(p11, session, [], [{ type: CKA_ALWAYS_AUTHENTICATE, value: true }, { type: CKA_SIGN, value: true }]);
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey);
    await expectRv(p11.C_Login(session, CKU_CONTEXT_SPECIFIC, factorPin(ID, OTHER_SECRET)), CKR_PIN_INCORRECT);
    expect(await failures(store)).toBe(1);
    await p11.C_Login(session, CKU_CONTEXT_SPECIFIC, factorPin(ID, SECRET));
    expect((await p11.C_Sign(session, bytes('m'))).length).toBe(64);
  });
});

describe('the record', () => {
  test('holds the credential id, salts and a sealed TK: no secret, nothing extractable', async () => {
    const { store } = await enrolled();
    const record = await store.loadToken(0);
    const factor = record?.factors?.[0];
    expect(Object.keys(factor ?? {}).sort()).toEqual(['id', 'iv', 'prfSalt', 'salt', 'sealedTokenKey']);
    const contains = (hay: Uint8Array, needle: Uint8Array) => hay.some((_, i) => needle.every((b, j) => hay[i + j] === b));
    for (const value of Object.values(factor ?? {})) {
      expect(value).toBeInstanceOf(Uint8Array);
      expect(contains(value as Uint8Array, SECRET.subarray(0, 8))).toBe(false);
    }
    // 40 bytes of AES-KW output plus the GCM tag: a wrapped key, under DK, which never leaves WebCrypto.
    expect(factor?.sealedTokenKey.length).toBe(56);
    expect(record?.deviceKey.extractable).toBe(false);
  });

  test('a factor record moved to another credential id, or under another policy, is refused as a device error', async () => {
    const { p11, store, session } = await enrolled();
    await tamper(store, (r) => {
      r.factors![0]!.id = Uint8Array.of(1, 2, 3);
    });
    await expectRv(p11.C_Login(session, CKU_USER, factorPin(Uint8Array.of(1, 2, 3), SECRET)), CKR_DEVICE_ERROR);
    await tamper(store, (r) => {
      r.factors![0]!.id = ID;
      r.factors![0]!.sealedTokenKey[3]! ^= 1;
    });
    await expectRv(p11.C_Login(session, CKU_USER, factorPin(ID, SECRET)), CKR_DEVICE_ERROR);
    await tamper(store, (r) => {
      r.factors![0]!.sealedTokenKey[3]! ^= 1;
      r.policy = r.policy === 'spec' ? 'strict' : 'spec';
    });
    await expectRv(p11.C_Login(session, CKU_USER, factorPin(ID, SECRET)), CKR_DEVICE_ERROR);
  });

  test('a factor record copied into another token does not open there', async () => {
    const { store } = await enrolled();
    const stolen = (await store.loadToken(0))?.factors;
    const other = await enrolled();
    await tamper(other.store, (r) => {
      r.factors = stolen!;
    });
    await expectRv(other.p11.C_Login(other.session, CKU_USER, factorPin(ID, SECRET)), CKR_DEVICE_ERROR);
  });
});
