/** Shared set-up for the engine's chapter tests. */
import { expect } from 'vitest';
import {
  CKF_RW_SESSION, CKF_SERIAL_SESSION, CKU_SO, CKU_USER, Cryptoki, isPkcs11Error, ckrName,
} from '@vhsm/token';
import type { CryptokiOptions } from '@vhsm/token';

export const SO_PIN = 'so-secret-1';
export const USER_PIN = 'user-pin-1';
export const RW = CKF_SERIAL_SESSION | CKF_RW_SESSION;
export const RO = CKF_SERIAL_SESSION;

/** A Cryptoki with fast PBKDF2 (tests only) and the given policy. */
export function newCryptoki(options: CryptokiOptions = {}): Cryptoki {
  return new Cryptoki({ pbkdf2Iterations: 1000, policy: 'spec', ...options });
}

/** Initialized token with a user PIN; returns an open R/W session, not logged in. */
export async function readyToken(options: CryptokiOptions = {}): Promise<{ p11: Cryptoki; slot: number; session: number }> {
  const p11 = newCryptoki(options);
  await p11.C_Initialize();
  const [slot] = await p11.C_GetSlotList(true);
  await p11.C_InitToken(slot as number, SO_PIN, 'test token');
  const so = await p11.C_OpenSession(slot as number, RW);
  await p11.C_Login(so, CKU_SO, SO_PIN);
  await p11.C_InitPIN(so, USER_PIN);
  await p11.C_Logout(so);
  await p11.C_CloseSession(so);
  const session = await p11.C_OpenSession(slot as number, RW);
  return { p11, slot: slot as number, session };
}

export async function userSession(options: CryptokiOptions = {}) {
  const t = await readyToken(options);
  await t.p11.C_Login(t.session, CKU_USER, USER_PIN);
  return t;
}

/** Expect a promise to reject with this CK_RV (by name, for readable failures). */
export async function expectRv(promise: Promise<unknown>, code: number): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${ckrName(code)}`).toBeDefined();
  expect(isPkcs11Error(error), `not a Pkcs11Error: ${String(error)}`).toBe(true);
  const e = error as { code: number; message: string };
  expect(ckrName(e.code), e.message).toBe(ckrName(code));
  expect(e.message.startsWith(ckrName(code))).toBe(true);
}
