/** A database in the first layout (version 1) opens as the current one, and its token still works. */
import { describe, expect, test } from 'vitest';
import { CKA_LABEL, CKM_AES_GCM, CKU_USER, Cryptoki, MemoryStore } from '@vhsm/token';
import { SCHEMA_VERSION } from '../src/index.js';
import { aesTemplate, cryptokiOver, DB, dump, initToken, newFactory, RW, USER_PIN } from './helpers.js';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const GCM = { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } };

/** Version 1 as it was: `tokens` keyed by slot, objects under "slot/id" keys. */
function writeVersion1(factory: IDBFactory, store: MemoryStore): Promise<void> {
  return (async () => {
    const token = await store.loadToken(0);
    const objects = await store.loadObjects(0);
    await new Promise<void>((resolve, reject) => {
      const request = factory.open(DB, 1);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore('tokens', { keyPath: 'slot' }).put(token);
        const v1 = db.createObjectStore('objects');
        for (const o of objects) v1.put(o, `${o.slot}/${o.id}`);
      };
      request.onsuccess = () => {
        request.result.close();
        resolve();
      };
      request.onerror = () => reject(request.error);
    });
  })();
}

describe('schema upgrade', () => {
  test('version 1 records move to version 2 and the token opens with its keys', async () => {
    const memory = new MemoryStore();
    const old = new Cryptoki({ store: memory, pbkdf2Iterations: 1000, policy: 'spec' });
    await old.C_Initialize();
    const session = await initToken(old);
    await old.C_Login(session, CKU_USER, USER_PIN);
    const key = await old.C_CreateObject(session, aesTemplate('old key', KEY, true));
    await old.C_CreateObject(session, aesTemplate('old public key', KEY.slice(0, 16), false));
    await old.C_EncryptInit(session, GCM, key);
    const ciphertext = await old.C_Encrypt(session, new TextEncoder().encode('from version 1'));

    const factory = newFactory();
    await writeVersion1(factory, memory);
    const v1 = await dump(factory);
    expect(Object.keys(v1).sort()).toEqual(['objects', 'tokens']);
    expect(v1.objects).toHaveLength(2);

    const { p11 } = await cryptokiOver(factory);
    const s = await p11.C_OpenSession(0, RW);
    await p11.C_Login(s, CKU_USER, USER_PIN);
    await p11.C_FindObjectsInit(s, [{ type: CKA_LABEL, value: 'old key' }]);
    const [found] = await p11.C_FindObjects(s, 2);
    await p11.C_FindObjectsFinal(s);
    await p11.C_DecryptInit(s, GCM, found as number);
    expect(new TextDecoder().decode(await p11.C_Decrypt(s, ciphertext))).toBe('from version 1');

    const v2 = await dump(factory);
    expect(Object.keys(v2).sort()).toEqual(['objects', 'tokens']);
    // Same records; v1 listed them in string-key order, v2 in [slot, id] order.
    const byId = (records: unknown[] | undefined) => [...(records ?? [])].sort((x, y) => (x as { id: number }).id - (y as { id: number }).id);
    expect(byId(v2.objects)).toEqual(byId(v1.objects));
    const version = await new Promise<{ version: number; keyPath: unknown; indexes: string[] }>((resolve) => {
      const request = factory.open(DB);
      request.onsuccess = () => {
        const db = request.result;
        const objects = db.transaction('objects').objectStore('objects');
        resolve({ version: db.version, keyPath: objects.keyPath, indexes: [...objects.indexNames] });
        db.close();
      };
    });
    expect(version).toEqual({ version: SCHEMA_VERSION, keyPath: ['slot', 'id'], indexes: ['by-slot'] });
  });
});
