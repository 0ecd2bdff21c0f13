/** Chapter: slot and token management. */
import {
  CKF_ENCRYPT,
  CKF_DECRYPT,
  CKF_LOGIN_REQUIRED,
  CKF_RNG,
  CKF_SIGN,
  CKF_TOKEN_INITIALIZED,
  CKF_USER_PIN_INITIALIZED,
  CKF_VERIFY,
  CKM_AES_GCM,
  CKM_ECDSA,
  CKM_ECDSA_SHA256,
  CKM_SHA256,
} from '@vhsm/pkcs11';
import type { Scenario } from '../suite.js';

const TOKEN_FLAGS = CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED;

export const slot: Scenario[] = [
  {
    chapter: 'slot',
    name: 'token info after initialisation',
    async run(t) {
      const slotId = await t.initToken();
      const info = await t.call('C_GetTokenInfo', [slotId]);
      t.note('label', info?.label);
      t.note('flags & (RNG|LOGIN_REQUIRED|USER_PIN_INITIALIZED|TOKEN_INITIALIZED)', (info?.flags ?? 0) & TOKEN_FLAGS);
      t.note('minPinLen <= 4', (info?.minPinLen ?? 99) <= 4);
      await t.call('C_GetSlotInfo', [slotId], 'none');
    },
  },
  {
    chapter: 'slot',
    name: 'unknown slot',
    async run(t) {
      await t.call('C_Initialize', []);
      const bad = 0x7fff_fff0;
      await t.call('C_GetSlotInfo', [bad]);
      await t.call('C_GetTokenInfo', [bad]);
      await t.call('C_GetMechanismList', [bad]);
      await t.call('C_OpenSession', [bad, 4]);
    },
  },
  {
    chapter: 'slot',
    name: 'mechanism list and info',
    async run(t) {
      const slotId = await t.initToken();
      const list = (await t.call('C_GetMechanismList', [slotId])) ?? [];
      for (const [name, m, flags] of [
        ['CKM_AES_GCM', CKM_AES_GCM, CKF_ENCRYPT | CKF_DECRYPT],
        ['CKM_ECDSA', CKM_ECDSA, CKF_SIGN | CKF_VERIFY],
        ['CKM_ECDSA_SHA256', CKM_ECDSA_SHA256, CKF_SIGN | CKF_VERIFY],
        ['CKM_SHA256', CKM_SHA256, 0],
      ] as const) {
        t.note(`${name} listed`, list.includes(m));
        const info = await t.call('C_GetMechanismInfo', [slotId, m], 'none', name);
        t.note(`${name} flags`, (info?.flags ?? 0) & flags);
      }
      await t.call('C_GetMechanismInfo', [slotId, 0x7fff_0000], 'none', 'unknown');
    },
  },
];
