import { describe, expect, test } from 'vitest';
import { CKA_CLASS, CKA_LABEL, CKA_PRIVATE, CKA_TOKEN, CKF_RW_SESSION, CKF_SERIAL_SESSION, CKO_DATA, Cryptoki } from '@vhsm/token';
import { createIdbStore } from '../src/index.js';
import { DB, newFactory } from './helpers.js';

const RW = CKF_SERIAL_SESSION | CKF_RW_SESSION;

describe('soleWriter: the engine may trust the generation it last saw', () => {
  test('peers always re-read; a sole writer knows its own commits and hears of others a task later', async () => {
    const factory = newFactory();
    const peer = await createIdbStore({ name: DB, indexedDB: factory });
    const sole = await createIdbStore({ name: DB, indexedDB: factory, soleWriter: true });
    const a = new Cryptoki({ store: sole, pbkdf2Iterations: 1000, policy: 'spec' });
    await a.C_Initialize();
    await a.C_InitToken(0, 'so-pin-1', 'shared');
    const generation = sole.peekGeneration?.(0);
    expect(generation).toBeGreaterThan(0);
    expect(peer.peekGeneration?.(0)).toBeUndefined();

    // Another connection writes: the sole writer's cached view is dropped once the news arrives.
    const b = new Cryptoki({ store: peer, pbkdf2Iterations: 1000, policy: 'spec' });
    await b.C_Initialize();
    const session = await b.C_OpenSession(0, RW);
    await b.C_CreateObject(session, [
      { type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: false },
      { type: CKA_LABEL, value: 'from b' },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sole.peekGeneration?.(0)).toBeUndefined();
    const s = await a.C_OpenSession(0, RW);
    await a.C_FindObjectsInit(s, [{ type: CKA_LABEL, value: 'from b' }]);
    expect(await a.C_FindObjects(s)).toHaveLength(1);
    await sole.close?.();
    await peer.close?.();
  });
});
