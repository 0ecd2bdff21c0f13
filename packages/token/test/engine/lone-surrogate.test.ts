import { describe, test } from 'vitest';
import { CKA_CLASS, CKA_LABEL, CKO_DATA, CKR_ATTRIBUTE_VALUE_INVALID } from '@vhsm/token';
import { expectRv, userSession } from './helpers.js';

describe('strings that have no UTF-8 form', () => {
  // Regression: a lone surrogate in CKA_LABEL came back as U+FFFD after a store round trip.
  test('a label with a lone surrogate is CKR_ATTRIBUTE_VALUE_INVALID', async () => {
    const { p11, session } = await userSession();
    await expectRv(p11.C_CreateObject(session, [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_LABEL, value: 'pay\ud800roll' }]),
      CKR_ATTRIBUTE_VALUE_INVALID);
  });
});
