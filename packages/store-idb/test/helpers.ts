/** Shared set-up: a fresh fake-indexeddb per test, raw dumps of every record, expectations on CK_RVs. */
import { expect } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import {
  CKA_CLASS, CKA_DECRYPT, CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_KEY_TYPE, CKA_LABEL, CKA_PRIVATE, CKA_SENSITIVE,
  CKA_TOKEN, CKA_VALUE, CKF_RW_SESSION, CKF_SERIAL_SESSION, CKK_AES, CKO_SECRET_KEY, CKU_SO, Cryptoki,
  ckrName, isPkcs11Error,
} from '@vhsm/token';
import type { CryptokiOptions, TokenStore } from '@vhsm/token';
import { createIdbStore } from '../src/index.js';

export const SO_PIN = 'so-secret-1';
export const USER_PIN = 'user-pin-1';
export const RW = CKF_SERIAL_SESSION | CKF_RW_SESSION;
export const DB = 'vhsm-test';

/** Node's own WebCrypto: its CryptoKeys survive structured cloning (IndexedDB's way of storing). */
export async function cryptokiOver(factory: IDBFactory, options: CryptokiOptions = {}): Promise<{ p11: Cryptoki; store: TokenStore }> {
  const store = await createIdbStore({ name: DB, indexedDB: factory });
  const p11 = new Cryptoki({ store, pbkdf2Iterations: 1000, policy: 'spec', crypto: globalThis.crypto, ...options });
  await p11.C_Initialize();
  return { p11, store };
}

export function newFactory(): IDBFactory {
  return new IDBFactory();
}

/** C_InitToken + user PIN, then a fresh R/W session (not logged in). */
export async function initToken(p11: Cryptoki): Promise<number> {
  await p11.C_InitToken(0, SO_PIN, 'persistent');
  const so = await p11.C_OpenSession(0, RW);
  await p11.C_Login(so, CKU_SO, SO_PIN);
  await p11.C_InitPIN(so, USER_PIN);
  await p11.C_Logout(so);
  await p11.C_CloseSession(so);
  return p11.C_OpenSession(0, RW);
}

export function aesTemplate(label: string, value: Uint8Array, isPrivate: boolean) {
  return [
    { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES },
    { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: isPrivate }, { type: CKA_LABEL, value: label },
    { type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: true },
    { type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false },
    { type: CKA_VALUE, value },
  ];
}

/** Every record of every object store, read with the plain API, with binary values as hex. */
export async function dump(factory: IDBFactory, name = DB): Promise<Record<string, unknown[]>> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = factory.open(name);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  try {
    const out: Record<string, unknown[]> = {};
    for (const storeName of db.objectStoreNames) {
      out[storeName] = await new Promise((resolve, reject) => {
        const request = db.transaction(storeName).objectStore(storeName).getAll();
        request.onsuccess = () => resolve((request.result as unknown[]).map(plain));
        request.onerror = () => reject(request.error);
      });
    }
    return out;
  } finally {
    db.close();
  }
}

/** A JSON-able copy: bytes as hex strings, CryptoKeys as their public description. */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return `hex:${hex(value)}`;
  if (value instanceof ArrayBuffer) return `hex:${hex(new Uint8Array(value))}`;
  if (value instanceof CryptoKey) return { cryptoKey: value.algorithm, extractable: value.extractable, usages: value.usages };
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

export function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export async function expectRv(promise: Promise<unknown>, code: number): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${ckrName(code)}`).toBeDefined();
  expect(isPkcs11Error(error), `not a Pkcs11Error: ${String(error)}`).toBe(true);
  expect(ckrName((error as { code: number }).code), (error as Error).message).toBe(ckrName(code));
}
