/** Chapter: session management. */
import { CKF_RW_SESSION, CKF_SERIAL_SESSION } from '@vhsm/pkcs11';
import type { Scenario } from '../suite.js';

export const session: Scenario[] = [
  {
    chapter: 'session',
    name: 'open, inspect, close',
    async run(t) {
      const slotId = await t.initToken();
      const ro = await t.call('C_OpenSession', [slotId, CKF_SERIAL_SESSION], 'session', 'R/O');
      const rw = await t.call('C_OpenSession', [slotId, CKF_SERIAL_SESSION | CKF_RW_SESSION], 'session', 'R/W');
      const roInfo = await t.call('C_GetSessionInfo', [ro ?? -1]);
      t.note('R/O state, flags', [roInfo?.state, roInfo?.flags]);
      const rwInfo = await t.call('C_GetSessionInfo', [rw ?? -1]);
      t.note('R/W state, flags', [rwInfo?.state, rwInfo?.flags, rwInfo?.slotID === slotId]);
      await t.call('C_CloseSession', [ro ?? -1]);
      await t.call('C_CloseSession', [ro ?? -1], 'none', 'again');
      await t.call('C_GetSessionInfo', [ro ?? -1], 'none', 'closed');
      await t.call('C_CloseAllSessions', [slotId]);
      await t.call('C_GetSessionInfo', [rw ?? -1], 'none', 'after C_CloseAllSessions');
    },
  },
  {
    chapter: 'session',
    name: 'flags without CKF_SERIAL_SESSION',
    async run(t) {
      const slotId = await t.initToken();
      await t.call('C_OpenSession', [slotId, CKF_RW_SESSION]);
      await t.call('C_OpenSession', [slotId, 0]);
    },
  },
  {
    chapter: 'session',
    name: 'unknown session handle',
    async run(t) {
      await t.initToken();
      await t.call('C_GetSessionInfo', [0x7fff_fff0]);
      await t.call('C_CloseSession', [0x7fff_fff0]);
      await t.call('C_Logout', [0x7fff_fff0]);
    },
  },
];
