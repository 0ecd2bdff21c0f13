/** C_FindObjects through the token's index (CKA_CLASS, CKA_LABEL, CKA_ID): same answers as a full scan, through every change. */
import { describe, expect, test } from 'vitest';
import {
  CKA_CLASS, CKA_ID, CKA_LABEL, CKA_PRIVATE, CKA_TOKEN, CKO_DATA, CKO_SECRET_KEY, CKU_USER, MemoryStore,
} from '@vhsm/token';
import type { Cryptoki, Template } from '@vhsm/token';
import { ObjectTable, indexKey } from '../../src/object-table.js';
import { EngineObject } from '../../src/objects.js';
import { generateAes, newCryptoki, RW, USER_PIN, userSession } from './helpers.js';

async function find(p11: Cryptoki, session: number, template: Template): Promise<number[]> {
  await p11.C_FindObjectsInit(session, template);
  const found = await p11.C_FindObjects(session);
  await p11.C_FindObjectsFinal(session);
  return found.sort((a, b) => a - b);
}

const label = (value: string) => ({ type: CKA_LABEL, value });
const id = (...bytes: number[]) => ({ type: CKA_ID, value: Uint8Array.from(bytes) });

describe('find index', () => {
  test('label, id and class lookups follow creation, attribute changes and destruction', async () => {
    const { p11, session } = await userSession();
    const token = { type: CKA_TOKEN, value: true };
    const a = await generateAes(p11, session, [token, label('a'), id(1)]);
    const b = await generateAes(p11, session, [token, label('b'), id(2)]);
    const data = await p11.C_CreateObject(session, [{ type: CKA_CLASS, value: CKO_DATA }, token, label('a')]);
    expect(await find(p11, session, [label('a')])).toEqual([a, data].sort((x, y) => x - y));
    expect(await find(p11, session, [id(2)])).toEqual([b]);
    expect(await find(p11, session, [label('a'), { type: CKA_CLASS, value: CKO_SECRET_KEY }])).toEqual([a]);
    expect(await find(p11, session, [label('a'), id(2)])).toEqual([]);
    expect(await find(p11, session, [label('nobody')])).toEqual([]);

    await p11.C_SetAttributeValue(session, a, [label('renamed'), id(9)]);
    expect(await find(p11, session, [label('a')])).toEqual([data]);
    expect(await find(p11, session, [label('renamed')])).toEqual([a]);
    expect(await find(p11, session, [id(1)])).toEqual([]);
    expect(await find(p11, session, [id(9)])).toEqual([a]);

    await p11.C_DestroyObject(session, b);
    expect(await find(p11, session, [id(2)])).toEqual([]);
    expect(await find(p11, session, [{ type: CKA_CLASS, value: CKO_SECRET_KEY }])).toEqual([a]);
  });

  test('private token objects sealed again at logout are found after the next login', async () => {
    const { p11, session } = await userSession();
    const key = await generateAes(p11, session, [{ type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true }, label('p'), id(7)]);
    await p11.C_Logout(session);
    expect(await find(p11, session, [label('p')])).toEqual([]);
    await p11.C_Login(session, CKU_USER, USER_PIN);
    const [again] = await find(p11, session, [id(7)]);
    expect(again).toBeDefined();
    expect(await find(p11, session, [label('p')])).toEqual([again]);
    expect(key).toBeGreaterThan(0);
  });

  test('objects written by another engine over the same store are found by label', async () => {
    const store = new MemoryStore();
    const first = await userSession({ store });
    const other = newCryptoki({ store });
    await other.C_Initialize();
    const session = await other.C_OpenSession(first.slot, RW);
    expect(await find(other, session, [label('shared')])).toEqual([]);
    await first.p11.C_CreateObject(first.session, [
      { type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: false }, label('shared'),
    ]);
    expect(await find(other, session, [label('shared')])).toHaveLength(1);
  });
});

describe('ObjectTable', () => {
  const object = (n: number, attributes?: [number, unknown][]) => new EngineObject({
    slot: 0, id: n, token: true, private: attributes === undefined,
    ...(attributes ? { attributes: new Map(attributes as [number, never][]) } : {}),
  });

  test('candidates are the bucket of the most selective indexed attribute, plus sealed objects', () => {
    const table = new ObjectTable();
    for (let i = 0; i < 100; i++) table.set(i, object(i, [[CKA_CLASS, CKO_DATA], [CKA_LABEL, `o${i}`]]));
    const sealed = object(100);
    table.set(100, sealed);
    const wanted = new Map<number, never>([[CKA_CLASS, CKO_DATA as never], [CKA_LABEL, 'o42' as never]]);
    expect(table.candidates(wanted).map((o) => o.id)).toEqual([42, 100]);
    expect(table.candidates(new Map([[CKA_LABEL, 'none' as never]])).map((o) => o.id)).toEqual([100]);
    expect(table.candidates(new Map())).toHaveLength(101);
    sealed.attributes = new Map([[CKA_LABEL, 'o42']]);
    expect(table.candidates(new Map([[CKA_LABEL, 'o42' as never]])).map((o) => o.id).sort((a, b) => a - b)).toEqual([42, 100]);
    table.delete(42);
    expect(table.candidates(new Map([[CKA_LABEL, 'o42' as never]])).map((o) => o.id)).toEqual([100]);
    table.clear();
    sealed.attributes = undefined;
    expect(table.candidates(new Map())).toEqual([]);
  });

  test('the bucket of a shared value follows objects joining and leaving it, one at a time', () => {
    const table = new ObjectTable();
    const ids = (wanted: string) => table.candidates(new Map([[CKA_LABEL, wanted as never]])).map((o) => o.id).sort((a, b) => a - b);
    const a = object(1, [[CKA_LABEL, 'same']]);
    const b = object(2, [[CKA_LABEL, 'same']]);
    const c = object(3, [[CKA_LABEL, 'same']]);
    table.set(1, a);
    expect(ids('same')).toEqual([1]);
    table.set(2, b);
    table.set(3, c);
    expect(ids('same')).toEqual([1, 2, 3]);
    b.attributes = new Map([[CKA_LABEL, 'other']]);
    expect(ids('same')).toEqual([1, 3]);
    expect(ids('other')).toEqual([2]);
    table.delete(1);
    expect(ids('same')).toEqual([3]);
    c.attributes = new Map([[CKA_LABEL, 'other']]);
    expect(ids('same')).toEqual([]);
    expect(ids('other')).toEqual([2, 3]);
    // Setting the same object again, or the same attributes again, does not list it twice.
    table.set(3, c);
    c.attributes = new Map([[CKA_LABEL, 'other']]);
    expect(ids('other')).toEqual([2, 3]);
    table.delete(2);
    table.delete(3);
    expect(ids('other')).toEqual([]);
  });

  test('index keys equal exactly when the values are equal', () => {
    expect(indexKey(new Uint8Array(100).fill(7))).toBe(indexKey(new Uint8Array(100).fill(7)));
    expect(indexKey(new Uint8Array(65))).not.toBe(indexKey(new Uint8Array(64)));
    expect(indexKey('1')).not.toBe(indexKey(1));
    expect(indexKey(Uint8Array.from([0x31]))).not.toBe(indexKey('1'));
    expect(indexKey(Uint8Array.from([1, 2]))).toBe(indexKey(Uint8Array.from([1, 2])));
    expect(indexKey(Uint8Array.from([1, 2]))).not.toBe(indexKey(Uint8Array.from([1, 2, 0])));
    expect(indexKey(true)).toBeUndefined();
  });
});
