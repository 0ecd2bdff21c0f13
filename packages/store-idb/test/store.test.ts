/** The TokenStore contract on IndexedDB, without the engine: atomic commits, shared state, closing, errors. */
import { describe, expect, test } from 'vitest';
import { IDBObjectStore } from 'fake-indexeddb';
import {
  CKR_ARGUMENTS_BAD, CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY, CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_RECOGNIZED,
} from '@vhsm/token';
import type { ObjectRecord, PinRecord, TokenRecord } from '@vhsm/token';
import { createIdbStore, requestPersistentStorage, SCHEMA_VERSION } from '../src/index.js';
import { DB, dump, expectRv, newFactory } from './helpers.js';

const pin = (failures = 0): PinRecord => ({
  salt: new Uint8Array(16), iterations: 1000, iv: new Uint8Array(12), sealedTokenKey: new Uint8Array(56), failures, toBeChanged: false,
});

async function tokenRecord(slot = 0): Promise<TokenRecord> {
  const deviceKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const tokenKeyCheck = { iv: new Uint8Array(12), data: new Uint8Array(16) };
  return { slot, tokenId: `t${slot}`, label: 'x', serialNumber: 'S', policy: 'strict', deviceKey, so: pin(), tokenKeyCheck, generation: 0 };
}

const object = (id: number, slot = 0): ObjectRecord => ({ slot, id, private: false, attributes: [[3, `label ${id}`]], version: 1 });

describe('IndexedDB TokenStore', () => {
  test('an empty database has no token, and a commit to it is refused without writing', async () => {
    const factory = newFactory();
    const store = await createIdbStore({ name: DB, indexedDB: factory });
    expect(await store.loadToken(0)).toBeUndefined();
    expect(await store.loadObjects(0)).toEqual([]);
    await expectRv(store.commit({ slot: 0, putObjects: [object(1)] }), CKR_TOKEN_NOT_RECOGNIZED);
    expect(await dump(factory)).toEqual({ tokens: [], objects: [] });
  });

  test('commits bump the generation, replace, delete and wipe per slot, and keep CryptoKeys usable', async () => {
    const store = await createIdbStore({ name: DB, indexedDB: newFactory() });
    expect(await store.commit({ slot: 0, token: await tokenRecord(0), putObjects: [object(1), object(2)] })).toBe(1);
    expect(await store.commit({ slot: 1, token: await tokenRecord(1), putObjects: [object(1, 1)] })).toBe(1);
    expect(await store.commit({ slot: 0, deleteObjects: [1], putObjects: [{ ...object(2), version: 2 }, object(3)] })).toBe(2);
    expect((await store.loadObjects(0)).map((o) => [o.id, o.version])).toEqual([[2, 2], [3, 1]]);
    const token = await store.loadToken(0);
    expect(token?.generation).toBe(2);
    const iv = new Uint8Array(12);
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, token!.deviceKey, new Uint8Array(1));
    expect(token!.deviceKey.extractable).toBe(false);
    // C_InitToken of slot 0: its objects go, slot 1 keeps its own.
    expect(await store.commit({ slot: 0, token: await tokenRecord(0), wipeObjects: true })).toBe(3);
    expect(await store.loadObjects(0)).toEqual([]);
    expect((await store.loadObjects(1)).map((o) => o.id)).toEqual([1]);
  });

  test('records of another slot are refused as a whole', async () => {
    const factory = newFactory();
    const store = await createIdbStore({ name: DB, indexedDB: factory });
    await store.commit({ slot: 0, token: await tokenRecord(0) });
    const before = await dump(factory);
    await expectRv(store.commit({ slot: 0, putObjects: [object(1), object(2, 1)] }), CKR_ARGUMENTS_BAD);
    await expectRv(store.updateToken(0, (t) => t && { ...t, slot: 1 }), CKR_ARGUMENTS_BAD);
    expect(await dump(factory)).toEqual(before);
  });

  test('two stores over one database see each other, and concurrent counter updates never get lost', async () => {
    const factory = newFactory();
    const a = await createIdbStore({ name: DB, indexedDB: factory });
    const b = await createIdbStore({ name: DB, indexedDB: factory });
    await a.commit({ slot: 0, token: await tokenRecord(0), putObjects: [object(7)] });
    expect((await b.loadObjects(0)).map((o) => o.id)).toEqual([7]);
    const bump = (t: TokenRecord | undefined) => t && { ...t, so: { ...t.so, failures: t.so.failures + 1 } };
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).updateToken(0, bump)));
    expect((await a.loadToken(0))?.so.failures).toBe(20);
    // updateToken returns the stored record when the update declines.
    expect((await b.updateToken(0, () => undefined))?.so.failures).toBe(20);
  });

  test('a failing request aborts the whole commit', async () => {
    const factory = newFactory();
    const store = await createIdbStore({ name: DB, indexedDB: factory });
    await store.commit({ slot: 0, token: await tokenRecord(0), putObjects: [object(1)] });
    const before = await dump(factory);
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === 'tokens') throw new DOMException('disk full', 'QuotaExceededError');
      return put.apply(this, args);
    };
    try {
      await expectRv(store.commit({ slot: 0, deleteObjects: [1], putObjects: [object(2)] }), CKR_DEVICE_MEMORY);
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    expect(await dump(factory)).toEqual(before);
    // An update function that throws leaves the record as it was, too.
    await expect(store.updateToken(0, () => { throw new RangeError('boom'); })).rejects.toThrow();
    expect(await dump(factory)).toEqual(before);
  });

  test('a newer schema or a deletion elsewhere closes this store: later calls are CKR_DEVICE_REMOVED', async () => {
    const factory = newFactory();
    const store = await createIdbStore({ name: DB, indexedDB: factory });
    await store.commit({ slot: 0, token: await tokenRecord(0) });
    await new Promise<void>((resolve, reject) => {
      const request = factory.deleteDatabase(DB);
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error('the store did not let go of the database'));
    });
    await expectRv(store.loadToken(0), CKR_DEVICE_REMOVED);
    await expectRv(store.updateToken(0, (t) => t), CKR_DEVICE_REMOVED);
  });

  test('close() ends the store', async () => {
    const store = await createIdbStore({ name: DB, indexedDB: newFactory() });
    await store.close?.();
    await expectRv(store.loadObjects(0), CKR_DEVICE_REMOVED);
  });

  test('bad options and a missing IndexedDB are precise CK_RVs', async () => {
    await expectRv(createIdbStore({ name: '' }), CKR_ARGUMENTS_BAD);
    await expectRv(createIdbStore({ name: 5 as unknown as string, indexedDB: newFactory() }), CKR_ARGUMENTS_BAD);
    expect((globalThis as { indexedDB?: unknown }).indexedDB).toBeUndefined();
    await expectRv(createIdbStore(), CKR_DEVICE_ERROR);
  });

  test('a database from a newer release is refused, not damaged', async () => {
    const factory = newFactory();
    await new Promise<void>((resolve) => {
      const request = factory.open(DB, SCHEMA_VERSION + 1);
      request.onsuccess = () => {
        request.result.close();
        resolve();
      };
    });
    await expectRv(createIdbStore({ name: DB, indexedDB: factory }), CKR_DEVICE_ERROR);
  });
});

describe('requestPersistentStorage', () => {
  const manager = (persisted: boolean, grant: boolean) => {
    const calls: string[] = [];
    const storage = {
      persisted: async () => (calls.push('persisted'), persisted),
      persist: async () => (calls.push('persist'), grant),
    } as unknown as StorageManager;
    return { storage, calls };
  };

  test('asks only when not yet persisted, and says what it got', async () => {
    const already = manager(true, false);
    expect(await requestPersistentStorage(already.storage)).toBe('persisted');
    expect(already.calls).toEqual(['persisted']);
    const granted = manager(false, true);
    expect(await requestPersistentStorage(granted.storage)).toBe('persisted');
    expect(granted.calls).toEqual(['persisted', 'persist']);
    expect(await requestPersistentStorage(manager(false, false).storage)).toBe('denied');
  });

  test('is unavailable without a window StorageManager (workers, Node)', async () => {
    expect(await requestPersistentStorage(undefined)).toBe('unavailable');
    expect(await requestPersistentStorage({ estimate: async () => ({}) } as unknown as StorageManager)).toBe('unavailable');
  });
});
