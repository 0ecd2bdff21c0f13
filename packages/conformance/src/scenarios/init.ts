/** Chapter: general purpose functions (C_Initialize, C_Finalize, C_GetInfo). */
import type { Scenario } from '../suite.js';

export const init: Scenario[] = [
  {
    chapter: 'init',
    name: 'initialize, initialize again, finalize, finalize again',
    async run(t) {
      await t.call('C_GetInfo', [], 'none', 'before C_Initialize');
      await t.call('C_Initialize', []);
      await t.call('C_Initialize', [], 'none', 'again');
      const info = await t.call('C_GetInfo', []);
      t.note('cryptokiVersion.major >= 2', (info?.cryptokiVersion.major ?? 0) >= 2);
      await t.call('C_Finalize', []);
      await t.call('C_Finalize', [], 'none', 'again');
      await t.call('C_GetSlotList', [true], 'none', 'after C_Finalize');
      await t.call('C_Initialize', [], 'none', 'after C_Finalize');
    },
  },
];
