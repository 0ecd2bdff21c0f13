/** Chapter: message digests. */
import { CKM_SHA256, CKM_SHA384, CKM_SHA512, CKM_SHA_1 } from '@vhsm/pkcs11';
import { bytes } from './material.js';
import type { Scenario } from '../suite.js';

export const digest: Scenario[] = [
  {
    chapter: 'digest',
    name: 'SHA-1/256/384/512, single- and multi-part, empty',
    async run(t) {
      const { session } = await t.userSession();
      const data = bytes(200, 11);
      for (const [name, m] of [['SHA-1', CKM_SHA_1], ['SHA-256', CKM_SHA256], ['SHA-384', CKM_SHA384], ['SHA-512', CKM_SHA512]] as const) {
        await t.call('C_DigestInit', [session, { mechanism: m }], 'none', name);
        await t.call('C_Digest', [session, data], 'value', name);
      }
      await t.call('C_DigestInit', [session, { mechanism: CKM_SHA256 }]);
      await t.call('C_DigestUpdate', [session, data.subarray(0, 50)]);
      await t.call('C_DigestUpdate', [session, data.subarray(50)]);
      await t.call('C_DigestFinal', [session], 'value');
      await t.call('C_DigestInit', [session, { mechanism: CKM_SHA256 }]);
      await t.call('C_Digest', [session, new Uint8Array(0)], 'value', 'empty');
      await t.call('C_DigestUpdate', [session, data], 'none', 'not initialised');
      await t.call('C_DigestInit', [session, { mechanism: 0x7fff_0000 }], 'none', 'unknown mechanism');
    },
  },
];
