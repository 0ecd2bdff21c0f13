import { describe, expect, test } from 'vitest';
import {
  CKA_DECRYPT, CKA_ENCRYPT, CKA_MODULUS_BITS, CKG_MGF1_SHA256, CKM_RSA_PKCS_KEY_PAIR_GEN,
  CKM_RSA_PKCS_OAEP, CKM_SHA256, CKR_FUNCTION_NOT_SUPPORTED, CKR_OPERATION_NOT_INITIALIZED,
} from '@vhsm/token';
import { expectRv, userSession } from './helpers.js';

describe('single-part mechanisms', () => {
  // §5.8: "A call to C_EncryptUpdate which results in an error terminates the current encryption
  // operation" (SoftHSM2 resets the operation too), so each refusal needs a new C_EncryptInit.
  test('RSA-OAEP refuses Update and Final, which end the operation; the one-shot call works', async () => {
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await p11.C_GenerateKeyPair(session, { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
      [{ type: CKA_MODULUS_BITS, value: 1024 }, { type: CKA_ENCRYPT, value: true }],
      [{ type: CKA_DECRYPT, value: true }]);
    const oaep = { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 } };
    await p11.C_EncryptInit(session, oaep, publicKey);
    await expectRv(p11.C_EncryptUpdate(session, new Uint8Array([1, 2, 3])), CKR_FUNCTION_NOT_SUPPORTED);
    await expectRv(p11.C_EncryptFinal(session), CKR_OPERATION_NOT_INITIALIZED);
    await p11.C_EncryptInit(session, oaep, publicKey);
    await expectRv(p11.C_EncryptFinal(session), CKR_FUNCTION_NOT_SUPPORTED);
    await expectRv(p11.C_Encrypt(session, new Uint8Array([1, 2, 3])), CKR_OPERATION_NOT_INITIALIZED);
    await p11.C_EncryptInit(session, oaep, publicKey);
    const ciphertext = await p11.C_Encrypt(session, new Uint8Array([1, 2, 3]));
    await p11.C_DecryptInit(session, oaep, privateKey);
    expect(await p11.C_Decrypt(session, ciphertext)).toEqual(new Uint8Array([1, 2, 3]));
  });
});
