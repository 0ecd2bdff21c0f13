/** Chapter: encryption and decryption with imported keys (deterministic: compared byte for byte). */
import { CKA_DECRYPT, CKA_ENCRYPT, CKG_MGF1_SHA1, CKK_GENERIC_SECRET, CKM_AES_CBC, CKM_AES_CBC_PAD, CKM_AES_CTR, CKM_AES_ECB, CKM_AES_GCM, CKM_RSA_PKCS_OAEP, CKM_SHA_1 } from '@vhsm/pkcs11';
import { RSA_JWK } from './keys.js';
import { aesKey, bytes, rsaPrivate, secretKey } from './material.js';
import type { Scenario } from '../suite.js';

const PLAIN = bytes(100, 4);

export const cipher: Scenario[] = [
  {
    chapter: 'cipher',
    name: 'AES-GCM',
    async run(t) {
      const { session } = await t.userSession();
      const k = (await t.call('C_CreateObject', [session, aesKey()], 'handle')) ?? -1;
      const gcm = { mechanism: CKM_AES_GCM, parameter: { iv: bytes(12, 5), aad: bytes(16, 6) } };
      await t.call('C_EncryptInit', [session, gcm, k]);
      const sealed = (await t.call('C_Encrypt', [session, PLAIN], 'value')) ?? new Uint8Array(0);
      await t.call('C_DecryptInit', [session, gcm, k]);
      await t.call('C_Decrypt', [session, sealed], 'value');
      const tampered = sealed.slice();
      tampered[0] = (tampered[0] ?? 0) ^ 1;
      await t.call('C_DecryptInit', [session, gcm, k]);
      await t.call('C_Decrypt', [session, tampered], 'none', 'tampered');
      await t.call('C_EncryptInit', [session, { mechanism: CKM_AES_GCM, parameter: { iv: bytes(12, 5), tagBits: 96 } }, k], 'none', '96-bit tag');
      await t.call('C_Encrypt', [session, PLAIN], 'value', '96-bit tag');
    },
  },
  {
    chapter: 'cipher',
    name: 'AES-CBC-PAD single- and multi-part',
    async run(t) {
      const { session } = await t.userSession();
      const k = (await t.call('C_CreateObject', [session, aesKey()], 'handle')) ?? -1;
      const cbc = { mechanism: CKM_AES_CBC_PAD, parameter: bytes(16, 7) };
      await t.call('C_EncryptInit', [session, cbc, k]);
      const sealed = (await t.call('C_Encrypt', [session, PLAIN], 'value')) ?? new Uint8Array(0);
      await t.call('C_EncryptInit', [session, cbc, k]);
      await t.call('C_EncryptUpdate', [session, PLAIN.subarray(0, 33)], 'value');
      await t.call('C_EncryptUpdate', [session, PLAIN.subarray(33)], 'value');
      await t.call('C_EncryptFinal', [session], 'value');
      await t.call('C_DecryptInit', [session, cbc, k]);
      await t.call('C_Decrypt', [session, sealed], 'value');
      await t.call('C_DecryptInit', [session, cbc, k]);
      await t.call('C_Decrypt', [session, sealed.subarray(0, 40)], 'none', 'not a whole block');
      await t.call('C_EncryptInit', [session, { mechanism: CKM_AES_CBC_PAD, parameter: bytes(8, 7) }, k], 'none', '8-byte IV');
    },
  },
  {
    chapter: 'cipher',
    name: 'AES-CTR',
    async run(t) {
      const { session } = await t.userSession();
      const k = (await t.call('C_CreateObject', [session, aesKey()], 'handle')) ?? -1;
      await t.call('C_EncryptInit', [session, { mechanism: CKM_AES_CTR, parameter: { counterBits: 64, cb: bytes(16, 8) } }, k]);
      await t.call('C_Encrypt', [session, PLAIN], 'value');
    },
  },
  {
    chapter: 'cipher',
    name: 'AES-ECB and AES-CBC without padding',
    async run(t) {
      const { session } = await t.userSession();
      const k = (await t.call('C_CreateObject', [session, aesKey()], 'handle')) ?? -1;
      const blocks = PLAIN.subarray(0, 96);
      for (const [name, m] of [['ECB', { mechanism: CKM_AES_ECB }], ['CBC', { mechanism: CKM_AES_CBC, parameter: bytes(16, 7) }]] as const) {
        await t.call('C_EncryptInit', [session, m, k], 'none', name);
        const sealed = (await t.call('C_Encrypt', [session, blocks], 'value', name)) ?? new Uint8Array(0);
        await t.call('C_DecryptInit', [session, m, k], 'none', name);
        await t.call('C_DecryptUpdate', [session, sealed.subarray(0, 40)], 'value', name);
        await t.call('C_DecryptUpdate', [session, sealed.subarray(40)], 'value', name);
        await t.call('C_DecryptFinal', [session], 'value', name);
        await t.call('C_EncryptInit', [session, m, k], 'none', name);
        await t.call('C_Encrypt', [session, PLAIN.subarray(0, 20)], 'none', `${name} not a whole block`);
      }
    },
  },
  {
    chapter: 'cipher',
    name: 'operation state errors',
    async run(t) {
      const { session } = await t.userSession();
      const k = (await t.call('C_CreateObject', [session, aesKey()], 'handle')) ?? -1;
      const noEncrypt = (await t.call('C_CreateObject', [session, aesKey([{ type: CKA_ENCRYPT, value: false }])], 'handle')) ?? -1;
      const cbc = { mechanism: CKM_AES_CBC_PAD, parameter: bytes(16, 7) };
      await t.call('C_Encrypt', [session, PLAIN], 'none', 'not initialised');
      await t.call('C_EncryptInit', [session, cbc, noEncrypt], 'none', 'key without CKA_ENCRYPT');
      await t.call('C_EncryptInit', [session, cbc, k]);
      await t.call('C_EncryptInit', [session, cbc, k], 'none', 'already active');
      await t.call('C_Encrypt', [session, PLAIN], 'length');
      await t.call('C_Encrypt', [session, PLAIN], 'none', 'after the operation ended');
      await t.call('C_EncryptInit', [session, cbc, 0x7fff_fff0], 'none', 'unknown key');
      await t.call('C_EncryptInit', [session, { mechanism: 0x7fff_0000 }, k], 'none', 'unknown mechanism');
    },
  },
  {
    chapter: 'cipher',
    name: 'RSA-OAEP (SHA-1) round trip',
    async run(t) {
      const { session } = await t.userSession();
      const priv = (await t.call('C_CreateObject', [session, rsaPrivate([{ type: CKA_DECRYPT, value: true }])], 'handle')) ?? -1;
      const { n, e } = RSA_JWK;
      const pub = await crypto.subtle.importKey('jwk', { kty: 'RSA', n, e } as JsonWebKey, { name: 'RSA-OAEP', hash: 'SHA-1' }, false, ['encrypt']);
      const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'RSA-OAEP' }, pub, bytes(32, 9)));
      await t.call('C_DecryptInit', [session, { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA_1, mgf: CKG_MGF1_SHA1 } }, priv]);
      await t.call('C_Decrypt', [session, sealed], 'value');
    },
  },
  {
    chapter: 'cipher',
    name: 'key types and data lengths',
    async run(t) {
      const { session } = await t.userSession();
      const k = (await t.call('C_CreateObject', [session, aesKey()], 'handle')) ?? -1;
      const generic = (await t.call('C_CreateObject', [session, secretKey(CKK_GENERIC_SECRET, bytes(32, 1), [{ type: CKA_ENCRYPT, value: true }])], 'handle')) ?? -1;
      await t.call('C_EncryptInit', [session, { mechanism: CKM_AES_GCM, parameter: { iv: bytes(12, 5) } }, generic], 'none', 'GCM with a generic secret');
      await t.call('C_DecryptInit', [session, { mechanism: CKM_AES_GCM, parameter: { iv: bytes(12, 5) } }, k]);
      await t.call('C_Decrypt', [session, bytes(8, 1)], 'none', 'GCM input shorter than the tag');
      await t.call('C_DecryptInit', [session, { mechanism: CKM_AES_ECB }, k]);
      await t.call('C_Decrypt', [session, bytes(20, 1)], 'none', 'ECB, 20 bytes');
      await t.call('C_EncryptInit', [session, { mechanism: CKM_AES_CBC_PAD, parameter: bytes(16, 7) }, k]);
      await t.call('C_Encrypt', [session, new Uint8Array(0)], 'value', 'CBC-PAD of nothing');
    },
  },
];
