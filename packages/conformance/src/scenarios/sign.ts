/** Chapter: signing and verification (deterministic ones compared byte for byte, the rest by verification). */
import { CKA_EC_PARAMS, CKA_EC_POINT, CKA_SIGN, CKA_VERIFY, CKM_ECDSA, CKM_EC_KEY_PAIR_GEN, CKM_SHA256_HMAC, CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256 } from '@vhsm/pkcs11';
import { P256, ecPoint, bytes, hmacKey, rsaPrivate, rsaPublic } from './material.js';
import type { Scenario } from '../suite.js';

const MESSAGE = bytes(64, 10);

export const sign: Scenario[] = [
  {
    chapter: 'sign',
    name: 'HMAC-SHA256',
    async run(t) {
      const { session } = await t.userSession();
      const k = (await t.call('C_CreateObject', [session, hmacKey()], 'handle')) ?? -1;
      await t.call('C_SignInit', [session, { mechanism: CKM_SHA256_HMAC }, k]);
      const mac = (await t.call('C_Sign', [session, MESSAGE], 'value')) ?? new Uint8Array(0);
      await t.call('C_SignInit', [session, { mechanism: CKM_SHA256_HMAC }, k]);
      await t.call('C_SignUpdate', [session, MESSAGE.subarray(0, 10)]);
      await t.call('C_SignUpdate', [session, MESSAGE.subarray(10)]);
      await t.call('C_SignFinal', [session], 'value');
      await t.call('C_VerifyInit', [session, { mechanism: CKM_SHA256_HMAC }, k]);
      await t.call('C_Verify', [session, MESSAGE, mac], 'value');
      await t.call('C_VerifyInit', [session, { mechanism: CKM_SHA256_HMAC }, k]);
      await t.call('C_Verify', [session, MESSAGE, mac.map((b) => b ^ 1)], 'value', 'wrong MAC');
    },
  },
  {
    chapter: 'sign',
    name: 'RSA PKCS#1 v1.5 and PSS with an imported key',
    async run(t) {
      const { session } = await t.userSession();
      const priv = (await t.call('C_CreateObject', [session, await rsaPrivate([{ type: CKA_SIGN, value: true }])], 'handle')) ?? -1;
      const pub = (await t.call('C_CreateObject', [session, await rsaPublic([{ type: CKA_VERIFY, value: true }])], 'handle')) ?? -1;
      await t.call('C_SignInit', [session, { mechanism: CKM_SHA256_RSA_PKCS }, priv]);
      const sig = (await t.call('C_Sign', [session, MESSAGE], 'value')) ?? new Uint8Array(0);
      await t.call('C_VerifyInit', [session, { mechanism: CKM_SHA256_RSA_PKCS }, pub]);
      await t.call('C_Verify', [session, MESSAGE, sig], 'value');
      await t.call('C_VerifyInit', [session, { mechanism: CKM_SHA256_RSA_PKCS }, pub]);
      await t.call('C_Verify', [session, MESSAGE, sig.subarray(1)], 'value', 'short signature');
      const pss = { mechanism: CKM_SHA256_RSA_PKCS_PSS, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, saltLen: 32 } };
      await t.call('C_SignInit', [session, pss, priv]);
      const pssSig = (await t.call('C_Sign', [session, MESSAGE], 'length')) ?? new Uint8Array(0);
      await t.call('C_VerifyInit', [session, pss, pub]);
      await t.call('C_Verify', [session, MESSAGE, pssSig], 'value');
      await t.call('C_SignInit', [session, { mechanism: CKM_SHA256_RSA_PKCS }, pub], 'none', 'with the public key');
    },
  },
  {
    chapter: 'sign',
    name: 'ECDSA P-256',
    async run(t) {
      const { session } = await t.userSession();
      const pair = await t.call('C_GenerateKeyPair', [session, { mechanism: CKM_EC_KEY_PAIR_GEN },
        [{ type: CKA_EC_PARAMS, value: P256 }, { type: CKA_VERIFY, value: true }], [{ type: CKA_SIGN, value: true }]]);
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', MESSAGE));
      await t.call('C_SignInit', [session, { mechanism: CKM_ECDSA }, pair?.privateKey ?? -1]);
      const sig = (await t.call('C_Sign', [session, digest], 'length')) ?? new Uint8Array(0);
      await t.call('C_VerifyInit', [session, { mechanism: CKM_ECDSA }, pair?.publicKey ?? -1]);
      await t.call('C_Verify', [session, digest, sig], 'value');
      const bad = sig.slice();
      bad[5] = (bad[5] ?? 0) ^ 1;
      await t.call('C_VerifyInit', [session, { mechanism: CKM_ECDSA }, pair?.publicKey ?? -1]);
      await t.call('C_Verify', [session, digest, bad], 'value', 'tampered');
      // The same signature checked by WebCrypto: r||s over SHA-256.
      const point = await t.p11.C_GetAttributeValue(session, pair?.publicKey ?? -1, [{ type: CKA_EC_POINT }]);
      const raw = ecPoint(point);
      const key = await crypto.subtle.importKey('raw', raw, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      t.note('WebCrypto verifies the signature', await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, new Uint8Array(sig), MESSAGE));
    },
  },
];
