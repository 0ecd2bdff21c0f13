/**
 * A CKA_KEY_TYPE no key class knows is a bad value of a valid attribute: CKR_ATTRIBUTE_VALUE_INVALID,
 * as SoftHSM2 answers too (found by the conformance suite). Before, the engine looked the rest of the
 * template up under that key type and reported CKA_VALUE as CKR_ATTRIBUTE_TYPE_INVALID.
 */
import { describe, test } from 'vitest';
import {
  CKA_CLASS, CKA_KEY_TYPE, CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_TOKEN, CKA_VALUE, CKK_AES, CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY, CKO_SECRET_KEY, CKR_ATTRIBUTE_VALUE_INVALID,
} from '@vhsm/token';
import { expectRv, userSession } from './helpers.js';

const UNKNOWN = 0x7fff_0000;

describe('C_CreateObject with an unknown CKA_KEY_TYPE', () => {
  test.each([
    ['secret key', [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_VALUE, value: new Uint8Array(16) }]],
    ['public key', [{ type: CKA_CLASS, value: CKO_PUBLIC_KEY }, { type: CKA_MODULUS, value: new Uint8Array(256).fill(0xc5) }, { type: CKA_PUBLIC_EXPONENT, value: new Uint8Array([1, 0, 1]) }]],
    ['private key', [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_VALUE, value: new Uint8Array(32).fill(1) }]],
    ['unknown key type, nothing else', [{ type: CKA_CLASS, value: CKO_SECRET_KEY }]],
  ])('%s: CKR_ATTRIBUTE_VALUE_INVALID', async (_, template) => {
    const { p11, session } = await userSession();
    await expectRv(p11.C_CreateObject(session, [...template, { type: CKA_TOKEN, value: false }, { type: CKA_KEY_TYPE, value: UNKNOWN }]), CKR_ATTRIBUTE_VALUE_INVALID);
  });

  test('a known key type is still checked against the rest of the template', async () => {
    const { p11, session } = await userSession();
    // AES keys are 16, 24 or 32 bytes.
    await expectRv(p11.C_CreateObject(session, [
      { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE, value: new Uint8Array(15) },
    ]), CKR_ATTRIBUTE_VALUE_INVALID);
  });
});
