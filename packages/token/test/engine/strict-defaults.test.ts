import { describe, expect, test } from 'vitest';
import {
  CKA_DECRYPT, CKA_DERIVE, CKA_ENCRYPT, CKA_MODULUS_BITS, CKA_SIGN, CKA_UNWRAP, CKA_VALUE_LEN, CKA_VERIFY,
  CKA_WRAP, CKM_AES_GCM, CKM_AES_KEY_GEN, CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_SHA256_RSA_PKCS,
} from '@vhsm/token';
import { userSession } from './helpers.js';

const ROLES = [CKA_ENCRYPT, CKA_DECRYPT, CKA_SIGN, CKA_VERIFY, CKA_WRAP, CKA_UNWRAP, CKA_DERIVE].map((type) => ({ type }));

describe('strict defaults for a key\'s roles', () => {
  test('a template naming no role gets the roles that conflict with nothing, so it encrypts and signs', async () => {
    const { p11, session } = await userSession({ policy: 'strict' });
    const aes = await p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [{ type: CKA_VALUE_LEN, value: 32 }]);
    expect((await p11.C_GetAttributeValue(session, aes, ROLES)).map((a) => a.value))
      .toEqual([true, true, true, true, false, false, false]);
    const gcm = { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } };
    await p11.C_EncryptInit(session, gcm, aes);
    const ciphertext = await p11.C_Encrypt(session, new Uint8Array([1, 2, 3]));
    await p11.C_DecryptInit(session, gcm, aes);
    expect(await p11.C_Decrypt(session, ciphertext)).toEqual(new Uint8Array([1, 2, 3]));

    const { publicKey, privateKey } = await p11.C_GenerateKeyPair(session, { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
      [{ type: CKA_MODULUS_BITS, value: 1024 }], []);
    await p11.C_SignInit(session, { mechanism: CKM_SHA256_RSA_PKCS }, privateKey);
    const signature = await p11.C_Sign(session, new Uint8Array([4]));
    await p11.C_VerifyInit(session, { mechanism: CKM_SHA256_RSA_PKCS }, publicKey);
    expect(await p11.C_Verify(session, new Uint8Array([4]), signature)).toBe(true);
  });

  test('a template naming any role gets exactly the roles it names, across both halves of a pair', async () => {
    const { p11, session } = await userSession({ policy: 'strict' });
    const kek = await p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [
      { type: CKA_VALUE_LEN, value: 32 }, { type: CKA_WRAP, value: true }, { type: CKA_UNWRAP, value: true },
    ]);
    expect((await p11.C_GetAttributeValue(session, kek, ROLES)).map((a) => a.value))
      .toEqual([false, false, false, false, true, true, false]);
    // The public half asks to wrap: the private half must not get decrypt by default (A2).
    const pair = await p11.C_GenerateKeyPair(session, { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
      [{ type: CKA_MODULUS_BITS, value: 1024 }, { type: CKA_WRAP, value: true }], []);
    const [decrypt] = await p11.C_GetAttributeValue(session, pair.privateKey, [{ type: CKA_DECRYPT }]);
    expect(decrypt?.value).toBe(false);
  });
});
