import { describe, expect, test } from 'vitest';
import {
  CKA_CLASS, CKA_DECRYPT, CKA_ENCRYPT, CKA_KEY_TYPE, CKA_LABEL, CKA_TOKEN, CKA_VALUE_LEN, CKK_AES,
  CKM_AES_GCM, CKM_AES_KEY_GEN, CKO_SECRET_KEY,
} from '@vhsm/token';
import { userSession } from './helpers.js';

describe('smoke', () => {
  test('generate an AES token key and round-trip GCM', async () => {
    const { p11, session } = await userSession();
    const key = await p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [
      { type: CKA_VALUE_LEN, value: 32 }, { type: CKA_TOKEN, value: true }, { type: CKA_LABEL, value: 'k' },
      { type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: true },
    ]);
    const iv = new Uint8Array(12).fill(7);
    await p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv } }, key);
    const ct = await p11.C_Encrypt(session, new TextEncoder().encode('hello'));
    expect(ct.length).toBe(5 + 16);
    await p11.C_DecryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv } }, key);
    const pt = await p11.C_Decrypt(session, ct);
    expect(new TextDecoder().decode(pt)).toBe('hello');
    const attrs = await p11.C_GetAttributeValue(session, key, [{ type: CKA_CLASS }, { type: CKA_KEY_TYPE }, { type: CKA_LABEL }]);
    expect(attrs.map((a) => a.value)).toEqual([CKO_SECRET_KEY, CKK_AES, 'k']);
  });
});
