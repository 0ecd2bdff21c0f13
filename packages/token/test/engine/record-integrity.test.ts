/**
 * Records written by someone without the keys (a same-origin script editing IndexedDB) must not
 * change what the C_ API reveals. Regressions for a review's findings: a policy flip, a private
 * record relabelled public, forged public attributes.
 */
import { describe, expect, test } from 'vitest';
import {
  CKA_CLASS, CKA_EXTRACTABLE, CKA_KEY_TYPE, CKA_LABEL, CKA_PRIVATE, CKA_SENSITIVE, CKA_TOKEN, CKA_VALUE,
  CKA_VALUE_LEN, CKK_AES, CKM_AES_KEY_GEN, CKO_DATA, CKO_SECRET_KEY, CKR_DEVICE_ERROR, CKU_USER, MemoryStore,
} from '@vhsm/token';
import type { ObjectRecord } from '@vhsm/token';
import { RW, USER_PIN, expectRv, newCryptoki, readyToken } from './helpers.js';

async function find(p11: Awaited<ReturnType<typeof readyToken>>['p11'], session: number, label: string): Promise<number[]> {
  await p11.C_FindObjectsInit(session, [{ type: CKA_LABEL, value: label }]);
  const found = await p11.C_FindObjects(session);
  await p11.C_FindObjectsFinal(session);
  return found;
}

async function rewrite(store: MemoryStore, slot: number, change: (r: ObjectRecord) => ObjectRecord | undefined): Promise<void> {
  const records = await store.loadObjects(slot);
  const putObjects = records.map(change).filter((r): r is ObjectRecord => r !== undefined);
  await store.commit({ slot, putObjects });
}

describe('tampered records', () => {
  test("flipping the token record's policy makes every PIN record refuse to open", async () => {
    const store = new MemoryStore();
    const { p11, slot, session } = await readyToken({ store, policy: 'strict' });
    await store.updateToken(slot, (t) => t && { ...t, policy: 'spec' });
    await expectRv(p11.C_Login(session, CKU_USER, USER_PIN), CKR_DEVICE_ERROR);
  });

  test('a private key record relabelled public with readable attributes does not exist', async () => {
    const store = new MemoryStore();
    const { p11, slot, session } = await readyToken({ store });
    await p11.C_Login(session, CKU_USER, USER_PIN);
    await p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [
      { type: CKA_VALUE_LEN, value: 32 }, { type: CKA_TOKEN, value: true }, { type: CKA_LABEL, value: 'T' },
      { type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: true },
    ]);
    await rewrite(store, slot, (r) => {
      if (!r.private) return undefined;
      const { sealedAttributes: _sealed, ...rest } = r;
      return {
        ...rest, private: false, version: r.version + 1,
        attributes: [[CKA_CLASS, CKO_SECRET_KEY], [CKA_KEY_TYPE, CKK_AES], [CKA_TOKEN, true], [CKA_PRIVATE, false], [CKA_LABEL, 'T'],
          [CKA_SENSITIVE, false], [CKA_EXTRACTABLE, true]],
      };
    });
    const other = newCryptoki({ store });
    await other.C_Initialize();
    const s2 = await other.C_OpenSession(slot, RW);
    await other.C_Login(s2, CKU_USER, USER_PIN);
    expect(await find(other, s2, 'T')).toEqual([]);
  });

  test('forged clear attributes of a public object are not believed', async () => {
    const store = new MemoryStore();
    const { p11, slot, session } = await readyToken({ store });
    await p11.C_CreateObject(session, [
      { type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: false },
      { type: CKA_LABEL, value: 'public' }, { type: CKA_VALUE, value: new Uint8Array([1, 2, 3]) },
    ]);
    expect(await find(p11, session, 'public')).toHaveLength(1);
    await rewrite(store, slot, (r) => ({
      ...r, version: r.version + 1,
      attributes: (r.attributes ?? []).map(([t, v]) => [t, t === CKA_LABEL ? 'forged' : v]),
    }));
    expect(await find(p11, session, 'forged')).toEqual([]);
    expect(await find(p11, session, 'public')).toEqual([]);
  });
});
