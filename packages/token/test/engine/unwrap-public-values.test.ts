import { describe, expect, test } from 'vitest';
import {
  CKA_CLASS, CKA_EXTRACTABLE, CKA_KEY_TYPE, CKA_MODULUS, CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT,
  CKA_SENSITIVE, CKA_SIGN, CKA_UNWRAP, CKA_VALUE_LEN, CKA_VERIFY, CKA_WRAP, CKK_RSA, CKM_AES_GCM,
  CKM_AES_KEY_GEN, CKM_RSA_PKCS_KEY_PAIR_GEN, CKO_PRIVATE_KEY,
} from '@vhsm/token';
import { userSession } from './helpers.js';

describe('C_UnwrapKey of an RSA private key', () => {
  // Regression: unwrapping under an AES mechanism used to leave the object without CKA_MODULUS,
  // which every RSA private key object must carry.
  test('under AES-GCM, the new object carries the modulus and exponent of the original', async () => {
    const { p11, session } = await userSession();
    const kek = await p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [
      { type: CKA_VALUE_LEN, value: 32 }, { type: CKA_WRAP, value: true }, { type: CKA_UNWRAP, value: true },
    ]);
    const pair = await p11.C_GenerateKeyPair(session, { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
      [{ type: CKA_MODULUS_BITS, value: 1024 }, { type: CKA_VERIFY, value: true }],
      [{ type: CKA_SIGN, value: true }, { type: CKA_EXTRACTABLE, value: true }, { type: CKA_SENSITIVE, value: true }]);
    const gcm = { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12).fill(1) } };
    const wrapped = await p11.C_WrapKey(session, gcm, kek, pair.privateKey);
    const unwrapped = await p11.C_UnwrapKey(session, gcm, kek, wrapped, [
      { type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_KEY_TYPE, value: CKK_RSA }, { type: CKA_SIGN, value: true },
    ]);
    const want = await p11.C_GetAttributeValue(session, pair.publicKey, [{ type: CKA_MODULUS }, { type: CKA_PUBLIC_EXPONENT }]);
    const got = await p11.C_GetAttributeValue(session, unwrapped, [{ type: CKA_MODULUS }, { type: CKA_PUBLIC_EXPONENT }]);
    expect(got).toEqual(want);
  });
});
