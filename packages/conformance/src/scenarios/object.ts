/** Chapter: object management (the shape of SoftHSM2's ObjectTests). */
import {
  CKA_APPLICATION,
  CKA_CLASS,
  CKA_COPYABLE,
  CKA_DESTROYABLE,
  CKA_KEY_TYPE,
  CKA_EXTRACTABLE,
  CKA_LABEL,
  CKA_MODIFIABLE,
  CKA_PRIVATE,
  CKA_SENSITIVE,
  CKA_TOKEN,
  CKA_VALUE,
  CKF_RW_SESSION,
  CKF_SERIAL_SESSION,
  CKK_AES,
  CKO_DATA,
  CKO_SECRET_KEY,
  CKU_USER,
} from '@vhsm/pkcs11';
import { USER_PIN } from '../context.js';
import { aesKey, bytes, secretKey } from './material.js';
import type { Scenario } from '../suite.js';

export const object: Scenario[] = [
  {
    chapter: 'object',
    name: 'data object lifecycle',
    async run(t) {
      const { session } = await t.userSession();
      const data = (await t.call('C_CreateObject', [session, [
        { type: CKA_CLASS, value: CKO_DATA },
        { type: CKA_LABEL, value: 'one' },
        { type: CKA_APPLICATION, value: 'conformance' },
        { type: CKA_VALUE, value: bytes(8, 3) },
      ]], 'handle')) ?? -1;
      await t.call('C_GetAttributeValue', [session, data, [
        { type: CKA_CLASS }, { type: CKA_LABEL }, { type: CKA_VALUE }, { type: CKA_TOKEN }, { type: CKA_PRIVATE }, { type: CKA_MODIFIABLE },
      ]], 'value');
      await t.call('C_SetAttributeValue', [session, data, [{ type: CKA_LABEL, value: 'two' }]]);
      await t.call('C_GetAttributeValue', [session, data, [{ type: CKA_LABEL }]], 'value', 'after set');
      const copy = (await t.call('C_CopyObject', [session, data, [{ type: CKA_LABEL, value: 'three' }]], 'handle')) ?? -1;
      await t.call('C_FindObjectsInit', [session, [{ type: CKA_CLASS, value: CKO_DATA }]]);
      const found = (await t.call('C_FindObjects', [session, 10])) ?? [];
      t.note('found both', [data, copy].every((h) => found.includes(h)) && found.length === 2);
      await t.call('C_FindObjects', [session, 10], 'handles', 'exhausted');
      await t.call('C_FindObjectsFinal', [session]);
      await t.call('C_FindObjects', [session, 10], 'none', 'after final');
      await t.call('C_DestroyObject', [session, copy]);
      await t.call('C_DestroyObject', [session, copy], 'none', 'again');
      await t.call('C_GetAttributeValue', [session, copy, [{ type: CKA_LABEL }]], 'none', 'destroyed');
    },
  },
  {
    chapter: 'object',
    name: 'attribute errors',
    async run(t) {
      const { session } = await t.userSession();
      const key = (await t.call('C_CreateObject', [session, aesKey([{ type: CKA_SENSITIVE, value: true }])], 'handle')) ?? -1;
      await t.call('C_GetAttributeValue', [session, key, [{ type: CKA_VALUE }]], 'none', 'sensitive');
      await t.call('C_GetAttributeValue', [session, key, [{ type: 0x7fff_0001 }]], 'none', 'unknown type');
      await t.call('C_SetAttributeValue', [session, key, [{ type: CKA_SENSITIVE, value: false }]], 'none', 'unset CKA_SENSITIVE');
      await t.call('C_SetAttributeValue', [session, key, [{ type: CKA_EXTRACTABLE, value: false }]], 'none', 'clear CKA_EXTRACTABLE');
      await t.call('C_SetAttributeValue', [session, key, [{ type: CKA_EXTRACTABLE, value: true }]], 'none', 'set CKA_EXTRACTABLE again');
      await t.call('C_SetAttributeValue', [session, key, [{ type: CKA_CLASS, value: CKO_DATA }]], 'none', 'change CKA_CLASS');
      await t.call('C_CreateObject', [session, [{ type: CKA_LABEL, value: 'no class' }]], 'none', 'no CKA_CLASS');
      await t.call('C_CreateObject', [session, [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: 5 }]], 'none', 'CKA_TOKEN not a CK_BBOOL');
    },
  },
  {
    chapter: 'object',
    name: 'access by session state',
    async run(t) {
      const slotId = await t.initToken();
      const ro = (await t.call('C_OpenSession', [slotId, CKF_SERIAL_SESSION], 'session')) ?? -1;
      await t.call('C_CreateObject', [ro, [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }]], 'none', 'token object, R/O public');
      await t.call('C_CreateObject', [ro, [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_PRIVATE, value: true }]], 'none', 'private object, R/O public');
      await t.call('C_CreateObject', [ro, [{ type: CKA_CLASS, value: CKO_DATA }]], 'handle', 'public session object, R/O public');
      const rw = (await t.call('C_OpenSession', [slotId, CKF_SERIAL_SESSION | CKF_RW_SESSION], 'session')) ?? -1;
      await t.call('C_CreateObject', [rw, [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }]], 'handle', 'public token object, R/W public');
    },
  },
  {
    chapter: 'object',
    name: 'CKA_MODIFIABLE, CKA_COPYABLE, CKA_DESTROYABLE false',
    async run(t) {
      const { session } = await t.userSession();
      const dataWithout = (type: number): Promise<number | undefined> =>
        t.call('C_CreateObject', [session, [{ type: CKA_CLASS, value: CKO_DATA }, { type, value: false }]], 'handle');
      const fixed = (await dataWithout(CKA_MODIFIABLE)) ?? -1;
      await t.call('C_SetAttributeValue', [session, fixed, [{ type: CKA_LABEL, value: 'x' }]], 'none', 'not modifiable');
      await t.call('C_CopyObject', [session, fixed, [{ type: CKA_LABEL, value: 'x' }]], 'handle', 'not modifiable, new label');
      const single = (await dataWithout(CKA_COPYABLE)) ?? -1;
      await t.call('C_CopyObject', [session, single, []], 'none', 'not copyable');
      await t.call('C_SetAttributeValue', [session, single, [{ type: CKA_COPYABLE, value: true }]], 'none', 'copyable again');
      const kept = (await dataWithout(CKA_DESTROYABLE)) ?? -1;
      await t.call('C_DestroyObject', [session, kept], 'none', 'not destroyable');
      await t.call('C_GetAttributeValue', [session, kept, [{ type: CKA_LABEL }, { type: 0x7fff_0001 }]], 'none', 'one valid, one unknown');
    },
  },
  {
    chapter: 'object',
    name: 'private objects across logout',
    async run(t) {
      const { slot, session } = await t.userSession();
      const secret = (await t.call('C_CreateObject', [session, [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_PRIVATE, value: true }, { type: CKA_LABEL, value: 'private' }]], 'handle')) ?? -1;
      await t.call('C_CreateObject', [session, [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_PRIVATE, value: false }, { type: CKA_LABEL, value: 'public' }]], 'handle');
      const token = (await t.call('C_CreateObject', [session, [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_PRIVATE, value: true }, { type: CKA_TOKEN, value: true }, { type: CKA_LABEL, value: 'private token' }]], 'handle')) ?? -1;
      await t.call('C_Logout', [session]);
      await t.call('C_FindObjectsInit', [session, [{ type: CKA_CLASS, value: CKO_DATA }]]);
      const found = (await t.call('C_FindObjects', [session, 10])) ?? [];
      await t.call('C_FindObjectsFinal', [session]);
      const labels = [];
      for (const h of found) labels.push((await t.p11.C_GetAttributeValue(session, h, [{ type: CKA_LABEL }]))[0]?.value);
      t.note('visible after logout', labels);
      await t.call('C_GetAttributeValue', [session, secret, [{ type: CKA_LABEL }]], 'none', 'private session object');
      await t.call('C_GetAttributeValue', [session, token, [{ type: CKA_LABEL }]], 'none', 'private token object');
      await t.call('C_Login', [session, CKU_USER, USER_PIN]);
      const again = (await t.call('C_OpenSession', [slot, CKF_SERIAL_SESSION], 'session')) ?? -1;
      await t.call('C_FindObjectsInit', [again, [{ type: CKA_LABEL, value: 'private token' }]]);
      await t.call('C_FindObjects', [again, 10], 'handles', 'private token object, logged in again');
    },
  },
  {
    chapter: 'object',
    name: 'secret key templates',
    async run(t) {
      const { session } = await t.userSession();
      await t.call('C_CreateObject', [session, [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }]], 'none', 'AES without CKA_VALUE');
      await t.call('C_CreateObject', [session, [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_VALUE, value: bytes(16, 1) }]], 'none', 'without CKA_KEY_TYPE');
      await t.call('C_CreateObject', [session, secretKey(CKK_AES, bytes(15, 1))], 'none', 'AES of 15 bytes');
      await t.call('C_CreateObject', [session, [{ type: CKA_CLASS, value: 0x7fff_0000 }]], 'none', 'unknown CKA_CLASS');
      await t.call('C_CreateObject', [session, secretKey(0x7fff_0000, bytes(16, 1))], 'none', 'unknown CKA_KEY_TYPE');
      const k = (await t.call('C_CreateObject', [session, secretKey(CKK_AES, bytes(16, 1))], 'handle')) ?? -1;
      await t.call('C_GetAttributeValue', [session, k, [{ type: CKA_SENSITIVE }, { type: CKA_EXTRACTABLE }, { type: CKA_MODIFIABLE }, { type: CKA_COPYABLE }, { type: CKA_DESTROYABLE }]], 'value', 'defaults');
    },
  },
];
