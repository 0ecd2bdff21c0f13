/** The sealed attribute formats: format 2 (binary) round-trips every value kind; format 1 (JSON) still reads. */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import {
  CKA_ALLOWED_MECHANISMS, CKA_CLASS, CKA_DECRYPT, CKA_ENCRYPT, CKA_ID, CKA_LABEL, CKA_PRIVATE, CKA_TOKEN,
  CKA_UNWRAP_TEMPLATE, CKA_VALUE, CKM_AES_GCM, CKM_AES_KEY_GEN, CKO_DATA, CKR_GENERAL_ERROR, CKR_OBJECT_HANDLE_INVALID, CKU_USER,
  MemoryStore,
} from '@vhsm/token';
import type { AttributeValue } from '@vhsm/token';
import { packAttributes, unpackAttributes } from '../../src/attribute-codec.js';
import { encodeAttributes } from '../../src/sealing.js';
import { attr, expectRv, findAll, generateAes, USER_PIN, userSession } from './helpers.js';

const scalar: fc.Arbitrary<AttributeValue> = fc.oneof(
  fc.boolean(),
  fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  fc.double({ noNaN: true }),
  fc.string({ unit: 'grapheme' }),
  fc.uint8Array({ maxLength: 300 }),
  fc.array(fc.nat({ max: 0xffffffff })),
);
const value: fc.Arbitrary<AttributeValue> = fc.oneof(
  scalar,
  fc.array(fc.record({ type: fc.nat({ max: 0xffffffff }), value: scalar }), { minLength: 1, maxLength: 4 }),
);
const attributeList = fc.uniqueArray(fc.tuple(fc.nat({ max: 0xffffffff }), value), { selector: ([type]) => type, maxLength: 12 });

describe('sealed attribute formats', () => {
  test('format 2 gives back every attribute, value kind and byte', () => {
    fc.assert(fc.property(attributeList, (list) => {
      const packed = packAttributes(list);
      expect(packed[0]).toBe(2);
      expect(unpackAttributes(packed)).toEqual(new Map(list));
    }));
  });

  test('format 1 (JSON) records still read, to the same map', () => {
    // JSON has no -0 (nor NaN/Infinity); attribute values never hold them (validateValue normalizes -0).
    const jsonable = (v: AttributeValue): boolean => Array.isArray(v)
      ? v.every((x) => (typeof x === 'number' ? jsonable(x) : jsonable(x.value ?? new Uint8Array())))
      : typeof v !== 'number' || (Number.isFinite(v) && !Object.is(v, -0));
    fc.assert(fc.property(attributeList.filter((l) => l.every(([, v]) => jsonable(v))), (list) => {
      expect(unpackAttributes(encodeAttributes(list))).toEqual(new Map(list));
    }));
  });

  test('format 2 is smaller than format 1 for a typical key', () => {
    const key: [number, AttributeValue][] = [
      [CKA_CLASS, 4], [CKA_TOKEN, true], [CKA_PRIVATE, true], [CKA_LABEL, 'key 1234'],
      [CKA_ID, new Uint8Array(16).fill(7)], [CKA_ALLOWED_MECHANISMS, [CKM_AES_GCM]],
    ];
    expect(packAttributes(key).length * 2).toBeLessThan(encodeAttributes(key).length);
  });

  test('truncated, padded or unknown forms are refused with CKR_GENERAL_ERROR, never misread', () => {
    const packed = packAttributes([[CKA_LABEL, 'label'], [CKA_VALUE, new Uint8Array([1, 2, 3])]]);
    for (const bad of [packed.subarray(0, packed.length - 1), Uint8Array.of(...packed, 0), Uint8Array.of(9, 0), new Uint8Array()]) {
      expect(() => unpackAttributes(bad)).toThrow(expect.objectContaining({ code: CKR_GENERAL_ERROR }));
    }
  });

  test('private token objects of every value kind come back the same after logout and login', async () => {
    const { p11, session } = await userSession({ store: new MemoryStore() });
    const id = new Uint8Array([0, 255, 128, 1]);
    let key = await generateAes(p11, session, [
      { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true }, { type: CKA_LABEL, value: 'clé ✓ 🔑' },
      { type: CKA_ID, value: id }, { type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: false },
      { type: CKA_ALLOWED_MECHANISMS, value: [CKM_AES_GCM, CKM_AES_KEY_GEN] },
      { type: CKA_UNWRAP_TEMPLATE, value: [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_LABEL, value: 'inner' }] },
    ]);
    await p11.C_Logout(session);
    await expectRv(p11.C_GetAttributeValue(session, key, [{ type: CKA_LABEL }]), CKR_OBJECT_HANDLE_INVALID);
    await p11.C_Login(session, CKU_USER, USER_PIN);
    const found = await findAll(p11, session, [{ type: CKA_ID, value: id }]);
    expect(found).toHaveLength(1);
    key = found[0] as number;
    expect(await attr(p11, session, key, CKA_LABEL)).toBe('clé ✓ 🔑');
    expect(await attr(p11, session, key, CKA_DECRYPT)).toBe(false);
    expect(await attr(p11, session, key, CKA_ALLOWED_MECHANISMS)).toEqual([CKM_AES_GCM, CKM_AES_KEY_GEN]);
    expect(await attr(p11, session, key, CKA_UNWRAP_TEMPLATE)).toEqual([
      { type: CKA_CLASS, value: CKO_DATA }, { type: CKA_LABEL, value: 'inner' },
    ]);
  });
});
