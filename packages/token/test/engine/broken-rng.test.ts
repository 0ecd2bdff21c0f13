import { describe, test } from 'vitest';
import { CKA_CLASS, CKA_TOKEN, CKO_DATA, CKR_FUNCTION_FAILED, CKU_USER } from '@vhsm/token';
import { expectRv, readyToken, USER_PIN } from './helpers.js';

describe('a random number generator that repeats itself', () => {
  // Regression: object ids are random; a constant RNG used to make the second C_CreateObject spin forever.
  test('creating a second token object fails with CKR_FUNCTION_FAILED instead of hanging', async () => {
    let constant = false;
    const crypto: Crypto = {
      subtle: globalThis.crypto.subtle,
      randomUUID: () => globalThis.crypto.randomUUID(),
      getRandomValues: <T extends ArrayBufferView | null>(array: T): T => {
        if (constant && array) new Uint8Array(array.buffer, array.byteOffset, array.byteLength).fill(7);
        else if (array) globalThis.crypto.getRandomValues(array as unknown as Uint8Array<ArrayBuffer>);
        return array;
      },
    };
    const { p11, session } = await readyToken({ crypto });
    await p11.C_Login(session, CKU_USER, USER_PIN);
    constant = true;
    const template = [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }];
    await p11.C_CreateObject(session, template);
    await expectRv(p11.C_CreateObject(session, template), CKR_FUNCTION_FAILED);
  });
});
