/** The per-call fast path: no store round trip when the store can tell nothing changed, yet other engines' writes are seen. */
import { describe, expect, test } from 'vitest';
import {
  CKA_CLASS, CKA_DECRYPT, CKA_ENCRYPT, CKA_LABEL, CKA_PRIVATE, CKA_TOKEN, CKM_AES_GCM, CKO_DATA,
  CKR_OBJECT_HANDLE_INVALID, MemoryStore,
} from '@vhsm/token';
import type { Commit, TokenRecord, TokenStore } from '@vhsm/token';
import { expectRv, generateAes, newCryptoki, RW, userSession } from './helpers.js';

class CountingStore extends MemoryStore {
  loads = 0;
  override async loadToken(slot: number): Promise<TokenRecord | undefined> {
    this.loads++;
    return super.loadToken(slot);
  }
}

/** The same store without peekGeneration, as a store that cannot see other writers would be. */
function withoutPeek(store: CountingStore): TokenStore {
  return {
    loadToken: (slot) => store.loadToken(slot),
    loadObjects: (slot) => store.loadObjects(slot),
    commit: (change: Commit) => store.commit(change),
    updateToken: (slot, update) => store.updateToken(slot, update),
  };
}

/** Loads of the token record while a token key is used `times` times (set-up not counted). */
async function loadsDuringUse(store: CountingStore, asSeen: TokenStore, times: number): Promise<number> {
  const { p11, session } = await userSession({ store: asSeen });
  const key = await generateAes(p11, session, [{ type: CKA_TOKEN, value: true }, { type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: true }]);
  const before = store.loads;
  for (let i = 0; i < times; i++) {
    await p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12).fill(i) } }, key);
    await p11.C_Encrypt(session, new Uint8Array(16));
  }
  return store.loads - before;
}

describe('store round trips per call', () => {
  test('a store that peeks its generation is not asked to load the token for each use of a token key', async () => {
    const store = new CountingStore();
    expect(await loadsDuringUse(store, store, 20)).toBe(0);
  });

  test('a store that cannot peek is asked at every use', async () => {
    const store = new CountingStore();
    expect(await loadsDuringUse(store, withoutPeek(store), 20)).toBeGreaterThanOrEqual(20);
  });

  test('another engine over the same store still sees new and destroyed objects', async () => {
    const store = new MemoryStore();
    const { p11: a, slot } = await userSession({ store });
    const b = newCryptoki({ store });
    await b.C_Initialize();
    const sb = await b.C_OpenSession(slot, RW);
    const find = async () => {
      await b.C_FindObjectsInit(sb, [{ type: CKA_LABEL, value: 'shared' }]);
      const found = await b.C_FindObjects(sb);
      await b.C_FindObjectsFinal(sb);
      return found;
    };
    expect(await find()).toEqual([]);
    const sa = await a.C_OpenSession(slot, RW);
    const object = await a.C_CreateObject(sa, [
      { type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: false },
      { type: CKA_LABEL, value: 'shared' },
    ]);
    const [seen] = await find();
    expect(seen).toBeDefined();
    expect((await b.C_GetAttributeValue(sb, seen as number, [{ type: CKA_LABEL }]))[0]?.value).toBe('shared');
    await a.C_DestroyObject(sa, object);
    await expectRv(b.C_GetAttributeValue(sb, seen as number, [{ type: CKA_LABEL }]), CKR_OBJECT_HANDLE_INVALID);
    expect(await find()).toEqual([]);
  });
});
