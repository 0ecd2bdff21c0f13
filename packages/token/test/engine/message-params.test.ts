import { describe, expect, test } from 'vitest';
import {
  CKA_DECRYPT, CKA_ENCRYPT, CKA_VALUE_LEN, CKG_GENERATE_RANDOM, CKM_AES_GCM, CKM_AES_KEY_GEN,
  CKR_MECHANISM_PARAM_INVALID,
} from '@vhsm/token';
import type { GcmMessageParams } from '@vhsm/token';
import { expectRv, userSession } from './helpers.js';

describe('message-based GCM parameters', () => {
  // Regression: out-of-range ivFixedBits escaped as CKR_GENERAL_ERROR (a RangeError), junk was accepted.
  test('every malformed per-message parameter is CKR_MECHANISM_PARAM_INVALID', async () => {
    const { p11, session } = await userSession();
    const key = await p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [
      { type: CKA_VALUE_LEN, value: 32 }, { type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: true },
    ]);
    await p11.C_MessageEncryptInit(session, { mechanism: CKM_AES_GCM }, key);
    const iv = new Uint8Array(12);
    const bad: unknown[] = [
      { iv, tagBits: 128, ivGenerator: CKG_GENERATE_RANDOM, ivFixedBits: 200 },
      { iv, tagBits: 128, ivGenerator: CKG_GENERATE_RANDOM, ivFixedBits: -8 },
      { iv, tagBits: 128, ivGenerator: CKG_GENERATE_RANDOM, ivFixedBits: 4 },
      { iv, tagBits: 128, ivGenerator: CKG_GENERATE_RANDOM, ivFixedBits: 'x' },
      { iv, tagBits: 128, ivGenerator: 'x' },
      { iv: new Uint8Array(1 << 20), tagBits: 128 },
      { iv: new Uint8Array(8), tagBits: 128 },
      { iv, tagBits: 64 },
    ];
    for (const parameter of bad) {
      await expectRv(p11.C_EncryptMessage(session, parameter as GcmMessageParams, new Uint8Array(), new Uint8Array(4)), CKR_MECHANISM_PARAM_INVALID);
    }
    // The operation survives bad parameters, and a generated IV keeps its fixed prefix.
    const prefix = new Uint8Array([1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
    const { parameter } = await p11.C_EncryptMessage(session,
      { iv: prefix, tagBits: 128, ivGenerator: CKG_GENERATE_RANDOM, ivFixedBits: 32 }, new Uint8Array(), new Uint8Array(4));
    expect((parameter as GcmMessageParams).iv.subarray(0, 4)).toEqual(prefix.subarray(0, 4));
  });
});
