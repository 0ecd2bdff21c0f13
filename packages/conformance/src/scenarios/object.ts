/** Chapter: object management (the shape of SoftHSM2's ObjectTests). */
import {
  CKA_APPLICATION,
  CKA_CLASS,
  CKA_EXTRACTABLE,
  CKA_LABEL,
  CKA_MODIFIABLE,
  CKA_PRIVATE,
  CKA_SENSITIVE,
  CKA_TOKEN,
  CKA_VALUE,
  CKF_RW_SESSION,
  CKF_SERIAL_SESSION,
  CKO_DATA,
} from '@vhsm/pkcs11';
import { aesKey, bytes } from './material.js';
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
      const ro = (await t.call('C_OpenSession', [slotId, CKF_SERIAL_SESSION], 'handle')) ?? -1;
      await t.call('C_CreateObject', [ro, [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }]], 'none', 'token object, R/O public');
      await t.call('C_CreateObject', [ro, [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_PRIVATE, value: true }]], 'none', 'private object, R/O public');
      await t.call('C_CreateObject', [ro, [{ type: CKA_CLASS, value: CKO_DATA }]], 'handle', 'public session object, R/O public');
      const rw = (await t.call('C_OpenSession', [slotId, CKF_SERIAL_SESSION | CKF_RW_SESSION], 'handle')) ?? -1;
      await t.call('C_CreateObject', [rw, [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }]], 'handle', 'public token object, R/W public');
    },
  },
];
