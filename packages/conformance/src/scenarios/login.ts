/** Chapter: login, logout and PINs (the shape of SoftHSM2's UserTests). */
import { CKF_RW_SESSION, CKF_SERIAL_SESSION, CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED, CKU_SO, CKU_USER } from '@vhsm/pkcs11';
import { SO_PIN, TOKEN_LABEL, USER_PIN } from '../context.js';
import type { Scenario } from '../suite.js';

export const login: Scenario[] = [
  {
    chapter: 'login',
    name: 'user login outcomes',
    async run(t) {
      const slotId = await t.initToken();
      const s = (await t.call('C_OpenSession', [slotId, CKF_SERIAL_SESSION], 'session')) ?? -1;
      await t.call('C_Logout', [s], 'none', 'not logged in');
      await t.call('C_Login', [s, CKU_USER, '00000000'], 'none', 'wrong PIN');
      await t.call('C_Login', [s, CKU_USER, USER_PIN], 'none', 'right PIN');
      await t.call('C_Login', [s, CKU_USER, USER_PIN], 'none', 'again');
      const info = await t.call('C_GetSessionInfo', [s]);
      t.note('state', info?.state);
      await t.call('C_Logout', [s]);
      t.note('state after logout', (await t.call('C_GetSessionInfo', [s]))?.state);
      await t.call('C_Login', [s, 7, USER_PIN], 'none', 'unknown user type');
    },
  },
  {
    chapter: 'login',
    name: 'SO login with a read-only session open',
    async run(t) {
      const slotId = await t.initToken();
      const ro = (await t.call('C_OpenSession', [slotId, CKF_SERIAL_SESSION], 'session')) ?? -1;
      await t.call('C_Login', [ro, CKU_SO, SO_PIN], 'none', 'SO in R/O session');
      await t.call('C_CloseSession', [ro]);
      const rw = (await t.call('C_OpenSession', [slotId, CKF_SERIAL_SESSION | CKF_RW_SESSION], 'session')) ?? -1;
      await t.call('C_Login', [rw, CKU_SO, SO_PIN], 'none', 'SO in R/W session');
      await t.call('C_Login', [rw, CKU_USER, USER_PIN], 'none', 'user while SO');
      t.note('state', (await t.call('C_GetSessionInfo', [rw]))?.state);
      await t.call('C_OpenSession', [slotId, CKF_SERIAL_SESSION], 'session', 'R/O while SO');
    },
  },
  {
    chapter: 'login',
    name: 'change the user PIN',
    async run(t) {
      const slotId = await t.initToken();
      const s = (await t.call('C_OpenSession', [slotId, CKF_SERIAL_SESSION | CKF_RW_SESSION], 'session')) ?? -1;
      await t.call('C_Login', [s, CKU_USER, USER_PIN]);
      await t.call('C_SetPIN', [s, '00000000', '11112222'], 'none', 'wrong old PIN');
      await t.call('C_SetPIN', [s, USER_PIN, '11112222']);
      await t.call('C_Logout', [s]);
      await t.call('C_Login', [s, CKU_USER, USER_PIN], 'none', 'old PIN');
      await t.call('C_Login', [s, CKU_USER, '11112222'], 'none', 'new PIN');
    },
  },
  {
    chapter: 'login',
    name: 'ten wrong user PINs in a row',
    async run(t) {
      const slotId = await t.initToken();
      const s = (await t.call('C_OpenSession', [slotId, CKF_SERIAL_SESSION], 'session')) ?? -1;
      const pinFlags = CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED;
      await t.call('C_Login', [s, CKU_USER, '00000000'], 'none', 'wrong PIN 1');
      t.note('PIN flags after 1', ((await t.p11.C_GetTokenInfo(slotId)).flags & pinFlags));
      // Attempts 2 to 9 only count; the table shows the tenth.
      for (let i = 2; i < 10; i++) await t.p11.C_Login(s, CKU_USER, '00000000').catch(() => undefined);
      await t.call('C_Login', [s, CKU_USER, '00000000'], 'none', 'wrong PIN 10');
      await t.call('C_Login', [s, CKU_USER, USER_PIN], 'none', 'right PIN after 10 wrong');
      t.note('PIN flags after 10', ((await t.p11.C_GetTokenInfo(slotId)).flags & pinFlags));
    },
  },
  {
    chapter: 'login',
    name: 'PIN and token management errors',
    async run(t) {
      await t.call('C_Initialize', []);
      const blank = await t.blankSlot();
      await t.call('C_InitToken', [blank, '12', TOKEN_LABEL], 'none', 'SO PIN of 2 characters');
      await t.call('C_InitToken', [blank, SO_PIN, TOKEN_LABEL]);
      const slotId = await t.labelledSlot();
      const s = (await t.call('C_OpenSession', [slotId, CKF_SERIAL_SESSION | CKF_RW_SESSION], 'session')) ?? -1;
      await t.call('C_Login', [s, CKU_USER, USER_PIN], 'none', 'user PIN not initialised');
      await t.call('C_InitPIN', [s, USER_PIN], 'none', 'not logged in');
      await t.call('C_Login', [s, CKU_SO, '00000000'], 'none', 'SO, wrong PIN');
      await t.call('C_Login', [s, CKU_SO, SO_PIN], 'none', 'SO');
      await t.call('C_InitPIN', [s, '12'], 'none', 'PIN of 2 characters');
      await t.call('C_InitPIN', [s, USER_PIN]);
      await t.call('C_InitToken', [slotId, SO_PIN, TOKEN_LABEL], 'none', 'with a session open');
      await t.call('C_Logout', [s]);
      const ro = (await t.call('C_OpenSession', [slotId, CKF_SERIAL_SESSION], 'session')) ?? -1;
      await t.call('C_Login', [ro, CKU_USER, USER_PIN], 'none', 'user in R/O session');
      await t.call('C_SetPIN', [ro, USER_PIN, '11112222'], 'none', 'in a R/O session');
      await t.call('C_SetPIN', [s, USER_PIN, '12'], 'none', 'new PIN of 2 characters');
    },
  },
];
