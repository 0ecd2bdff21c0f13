/** General-purpose functions (PKCS#11 v3.0 §5.4): C_Initialize, C_Finalize, C_GetInfo, interfaces. */
import { describe, expect, test } from 'vitest';
import {
  CKF_INTERFACE_FORK_SAFE, CKR_ARGUMENTS_BAD, CKR_CRYPTOKI_ALREADY_INITIALIZED,
  CKR_CRYPTOKI_NOT_INITIALIZED, CKR_SESSION_HANDLE_INVALID, CKU_USER, Cryptoki, Pkcs11Error,
} from '@vhsm/token';
import { RW, USER_PIN, expectRv, newCryptoki, readyToken } from './helpers.js';

describe('C_Initialize / C_Finalize', () => {
  test('every function but the interface queries needs C_Initialize first', async () => {
    const p11 = newCryptoki();
    await expectRv(p11.C_GetInfo(), CKR_CRYPTOKI_NOT_INITIALIZED);
    await expectRv(p11.C_GetSlotList(true), CKR_CRYPTOKI_NOT_INITIALIZED);
    await expectRv(p11.C_OpenSession(0, RW), CKR_CRYPTOKI_NOT_INITIALIZED);
    await expectRv(p11.C_Finalize(), CKR_CRYPTOKI_NOT_INITIALIZED);
    // C_GetInterfaceList is how a caller finds the function list: it works before C_Initialize.
    expect((await p11.C_GetInterfaceList()).length).toBeGreaterThan(0);
  });

  test('a second C_Initialize is CKR_CRYPTOKI_ALREADY_INITIALIZED', async () => {
    const p11 = newCryptoki();
    await p11.C_Initialize();
    await expectRv(p11.C_Initialize(), CKR_CRYPTOKI_ALREADY_INITIALIZED);
  });

  test('C_Finalize closes every session and logs out; C_Initialize starts afresh', async () => {
    const { p11, slot, session } = await readyToken();
    await p11.C_Login(session, CKU_USER, USER_PIN);
    await p11.C_Finalize();
    await expectRv(p11.C_GetSessionInfo(session), CKR_CRYPTOKI_NOT_INITIALIZED);
    await p11.C_Initialize();
    await expectRv(p11.C_GetSessionInfo(session), CKR_SESSION_HANDLE_INVALID);
    const again = await p11.C_OpenSession(slot, RW);
    // Not logged in any more: logging in works instead of CKR_USER_ALREADY_LOGGED_IN.
    await p11.C_Login(again, CKU_USER, USER_PIN);
    expect((await p11.C_GetTokenInfo(slot)).sessionCount).toBe(1);
  });

  test('errors are Pkcs11Errors naming the function', async () => {
    const p11 = newCryptoki();
    const error = await p11.C_GetInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Pkcs11Error);
    expect((error as Pkcs11Error).method).toBe('C_GetInfo');
    expect((error as Pkcs11Error).code).toBe(CKR_CRYPTOKI_NOT_INITIALIZED);
    expect((error as Pkcs11Error).message).toMatch(/^CKR_CRYPTOKI_NOT_INITIALIZED/);
  });

  test('bad constructor options are CKR_ARGUMENTS_BAD, thrown as Pkcs11Error', () => {
    for (const options of [{ slotCount: 0 }, { maxPinTries: 0 }, { pbkdf2Iterations: 1.5 }, { policy: 'lax' as never }]) {
      let error: unknown;
      try {
        new Cryptoki(options);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(Pkcs11Error);
      expect((error as Pkcs11Error).code).toBe(CKR_ARGUMENTS_BAD);
    }
  });
});

describe('C_GetInfo', () => {
  test('reports Cryptoki 3.0 and blank-free strings', async () => {
    const p11 = newCryptoki();
    await p11.C_Initialize();
    const info = await p11.C_GetInfo();
    expect(info.cryptokiVersion).toEqual({ major: 3, minor: 0 });
    expect(info.manufacturerID).toBe('vhsm');
    expect(info.flags).toBe(0);
    expect(info.libraryDescription.length).toBeLessThanOrEqual(32);
    expect(info.manufacturerID.length).toBeLessThanOrEqual(32);
    // A caller's copy is its own.
    info.cryptokiVersion.major = 9;
    expect((await p11.C_GetInfo()).cryptokiVersion.major).toBe(3);
  });
});

describe('interfaces', () => {
  test('C_GetInterfaceList offers "PKCS 11" 3.0 and 2.40', async () => {
    const p11 = newCryptoki();
    const list = await p11.C_GetInterfaceList();
    expect(list.map((i) => [i.name, i.version.major, i.version.minor])).toEqual([['PKCS 11', 3, 0], ['PKCS 11', 2, 40]]);
  });

  test('C_GetInterface finds by name and version, and refuses unknown ones', async () => {
    const p11 = newCryptoki();
    expect((await p11.C_GetInterface()).version).toEqual({ major: 3, minor: 0 });
    expect((await p11.C_GetInterface('PKCS 11', { major: 2, minor: 40 })).version).toEqual({ major: 2, minor: 40 });
    await expectRv(p11.C_GetInterface('Vendor 11'), CKR_ARGUMENTS_BAD);
    await expectRv(p11.C_GetInterface('PKCS 11', { major: 1, minor: 0 }), CKR_ARGUMENTS_BAD);
    // A flag the interface does not have (fork safety) is refused.
    await expectRv(p11.C_GetInterface('PKCS 11', undefined, CKF_INTERFACE_FORK_SAFE), CKR_ARGUMENTS_BAD);
  });
});
