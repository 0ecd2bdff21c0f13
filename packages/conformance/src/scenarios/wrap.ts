/** Chapter: key wrapping, including the wrap/decrypt conflicts pkcs11test's tookan cases probe. */
import {
  CKA_CLASS,
  CKA_DECRYPT,
  CKA_EXTRACTABLE,
  CKA_KEY_TYPE,
  CKA_SENSITIVE,
  CKA_UNWRAP,
  CKA_VALUE,
  CKA_VALUE_LEN,
  CKA_WRAP,
  CKA_WRAP_WITH_TRUSTED,
  CKK_AES,
  CKM_AES_KEY_WRAP,
  CKO_SECRET_KEY,
} from '@vhsm/pkcs11';
import { bytes, secretKey } from './material.js';
import type { Scenario } from '../suite.js';

const KEK = bytes(32, 12);
const TARGET = bytes(16, 13);
const UNWRAPPED = [
  { type: CKA_CLASS, value: CKO_SECRET_KEY },
  { type: CKA_KEY_TYPE, value: CKK_AES },
  { type: CKA_SENSITIVE, value: false },
  { type: CKA_EXTRACTABLE, value: true },
];

export const wrap: Scenario[] = [
  {
    chapter: 'wrap',
    name: 'AES key wrap (RFC 3394) of an imported key',
    async run(t) {
      const { session } = await t.userSession();
      const kek = (await t.call('C_CreateObject', [session, secretKey(CKK_AES, KEK, [{ type: CKA_WRAP, value: true }, { type: CKA_UNWRAP, value: true }])], 'handle')) ?? -1;
      const target = (await t.call('C_CreateObject', [session, secretKey(CKK_AES, TARGET, [{ type: CKA_EXTRACTABLE, value: true }])], 'handle')) ?? -1;
      const wrapped = (await t.call('C_WrapKey', [session, { mechanism: CKM_AES_KEY_WRAP }, kek, target], 'value')) ?? new Uint8Array(0);
      const back = (await t.call('C_UnwrapKey', [session, { mechanism: CKM_AES_KEY_WRAP }, kek, wrapped, UNWRAPPED], 'handle')) ?? -1;
      await t.call('C_GetAttributeValue', [session, back, [{ type: CKA_VALUE }, { type: CKA_VALUE_LEN }]], 'value');
      await t.call('C_UnwrapKey', [session, { mechanism: CKM_AES_KEY_WRAP }, kek, wrapped.subarray(1), UNWRAPPED], 'none', 'truncated');
    },
  },
  {
    chapter: 'wrap',
    name: 'wrapping refusals',
    async run(t) {
      const { session } = await t.userSession();
      const kek = (await t.call('C_CreateObject', [session, secretKey(CKK_AES, KEK, [{ type: CKA_WRAP, value: true }, { type: CKA_UNWRAP, value: false }])], 'handle')) ?? -1;
      const noWrap = (await t.call('C_CreateObject', [session, secretKey(CKK_AES, KEK, [{ type: CKA_WRAP, value: false }])], 'handle')) ?? -1;
      const locked = (await t.call('C_CreateObject', [session, secretKey(CKK_AES, TARGET, [{ type: CKA_EXTRACTABLE, value: false }])], 'handle')) ?? -1;
      const open = (await t.call('C_CreateObject', [session, secretKey(CKK_AES, TARGET, [{ type: CKA_EXTRACTABLE, value: true }])], 'handle')) ?? -1;
      await t.call('C_WrapKey', [session, { mechanism: CKM_AES_KEY_WRAP }, kek, locked], 'none', 'unextractable key');
      await t.call('C_WrapKey', [session, { mechanism: CKM_AES_KEY_WRAP }, noWrap, open], 'none', 'KEK without CKA_WRAP');
      await t.call('C_UnwrapKey', [session, { mechanism: CKM_AES_KEY_WRAP }, kek, bytes(24, 1), UNWRAPPED], 'none', 'KEK without CKA_UNWRAP');
    },
  },
  {
    chapter: 'wrap',
    name: 'tookan: wrap with a key that can also decrypt',
    async run(t) {
      // Clulow's attack: wrap a sensitive key under a wrap+decrypt key, then decrypt the blob.
      const { session } = await t.userSession();
      const both = (await t.call('C_CreateObject', [session, secretKey(CKK_AES, KEK, [{ type: CKA_WRAP, value: true }, { type: CKA_DECRYPT, value: true }])], 'handle')) ?? -1;
      const secret = (await t.call('C_CreateObject', [session, secretKey(CKK_AES, TARGET, [{ type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: true }])], 'handle')) ?? -1;
      // RFC 3394 both ways: C_Decrypt with CKM_AES_KEY_WRAP undoes C_WrapKey's output.
      const wrapped = await t.call('C_WrapKey', [session, { mechanism: CKM_AES_KEY_WRAP }, both, secret], 'length');
      await t.call('C_DecryptInit', [session, { mechanism: CKM_AES_KEY_WRAP }, both]);
      const plain = await t.call('C_Decrypt', [session, wrapped ?? new Uint8Array(16)], 'length');
      t.note('the sensitive key came out in clear', plain !== undefined && plain.length === TARGET.length && plain.every((b, i) => b === TARGET[i]));
    },
  },
  {
    chapter: 'wrap',
    name: 'tookan: unwrap a sensitive key again as a readable one',
    async run(t) {
      // The re-import attack: wrap a sensitive key, unwrap the blob with CKA_SENSITIVE false, read it.
      const { session } = await t.userSession();
      const kek = (await t.call('C_CreateObject', [session, secretKey(CKK_AES, KEK, [{ type: CKA_WRAP, value: true }, { type: CKA_UNWRAP, value: true }])], 'handle')) ?? -1;
      const secret = (await t.call('C_CreateObject', [session, secretKey(CKK_AES, TARGET, [{ type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: true }])], 'handle')) ?? -1;
      await t.call('C_GetAttributeValue', [session, secret, [{ type: CKA_VALUE }]], 'none', 'sensitive');
      const wrapped = (await t.call('C_WrapKey', [session, { mechanism: CKM_AES_KEY_WRAP }, kek, secret], 'value')) ?? new Uint8Array(0);
      const copy = (await t.call('C_UnwrapKey', [session, { mechanism: CKM_AES_KEY_WRAP }, kek, wrapped, UNWRAPPED], 'handle')) ?? -1;
      const value = await t.call('C_GetAttributeValue', [session, copy, [{ type: CKA_VALUE }, { type: CKA_SENSITIVE }]], 'value', 'the copy');
      const got = value?.[0]?.value;
      t.note('the sensitive key came out in clear', got instanceof Uint8Array && got.length === TARGET.length && got.every((b, i) => b === TARGET[i]));
    },
  },
  {
    chapter: 'wrap',
    name: 'CKA_WRAP_WITH_TRUSTED without a trusted wrapping key',
    async run(t) {
      const { session } = await t.userSession();
      const kek = (await t.call('C_CreateObject', [session, secretKey(CKK_AES, KEK, [{ type: CKA_WRAP, value: true }])], 'handle')) ?? -1;
      const guarded = (await t.call('C_CreateObject', [session, secretKey(CKK_AES, TARGET, [{ type: CKA_EXTRACTABLE, value: true }, { type: CKA_WRAP_WITH_TRUSTED, value: true }])], 'handle')) ?? -1;
      await t.call('C_WrapKey', [session, { mechanism: CKM_AES_KEY_WRAP }, kek, guarded], 'none', 'by an untrusted key');
      await t.call('C_SetAttributeValue', [session, guarded, [{ type: CKA_WRAP_WITH_TRUSTED, value: false }]], 'none', 'clear CKA_WRAP_WITH_TRUSTED');
      await t.call('C_GetAttributeValue', [session, guarded, [{ type: CKA_WRAP_WITH_TRUSTED }]], 'value');
    },
  },
];
