/** Chapter: random number generation. */
import type { Scenario } from '../suite.js';

export const rng: Scenario[] = [
  {
    chapter: 'rng',
    name: 'C_GenerateRandom',
    async run(t) {
      const { session } = await t.userSession();
      const a = await t.call('C_GenerateRandom', [session, 32], 'length');
      const b = await t.call('C_GenerateRandom', [session, 32], 'length');
      t.note('two outputs differ', a !== undefined && b !== undefined && a.some((x, i) => x !== b[i]));
      await t.call('C_GenerateRandom', [session, 0], 'length', '0 bytes');
      await t.call('C_GenerateRandom', [0x7fff_fff0, 8], 'none', 'unknown session');
    },
  },
];
