/** Chapter: signing and verification (deterministic ones compared byte for byte, the rest by verification). */
import {
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_SIGN,
  CKA_VERIFY,
  CKG_MGF1_SHA256,
  CKK_GENERIC_SECRET,
  CKM_EC_KEY_PAIR_GEN,
  CKM_EDDSA,
  CKM_SHA1_RSA_PKCS,
  CKM_SHA256,
  CKM_SHA256_HMAC,
  CKM_SHA256_RSA_PKCS,
  CKM_SHA256_RSA_PKCS_PSS,
  CKM_SHA384_HMAC,
  CKM_SHA384_RSA_PKCS,
  CKM_SHA512_HMAC,
  CKM_SHA512_RSA_PKCS,
  CKM_SHA_1_HMAC,
} from '@vhsm/pkcs11';
import { P256, bytes, ecPoint, ecdsaSha256, ed25519Private, ed25519Public, hmacKey, rsaPrivate, rsaPublic, secretKey } from './material.js';
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
      const priv = (await t.call('C_CreateObject', [session, rsaPrivate([{ type: CKA_SIGN, value: true }])], 'handle')) ?? -1;
      const pub = (await t.call('C_CreateObject', [session, rsaPublic([{ type: CKA_VERIFY, value: true }])], 'handle')) ?? -1;
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
    name: 'HMAC-SHA-1/384/512 one-shot, key length',
    async run(t) {
      const { session } = await t.userSession();
      // A key as long as the largest block, so SoftHSM2's minimum (the digest length) holds too.
      const k = (await t.call('C_CreateObject', [session, secretKey(CKK_GENERIC_SECRET, bytes(64, 14), [{ type: CKA_SIGN, value: true }])], 'handle')) ?? -1;
      for (const [name, m] of [['SHA-1', CKM_SHA_1_HMAC], ['SHA-384', CKM_SHA384_HMAC], ['SHA-512', CKM_SHA512_HMAC]] as const) {
        await t.call('C_SignInit', [session, { mechanism: m }, k], 'none', name);
        await t.call('C_Sign', [session, MESSAGE], 'value', name);
      }
      const short = (await t.call('C_CreateObject', [session, hmacKey()], 'handle')) ?? -1;
      await t.call('C_SignInit', [session, { mechanism: CKM_SHA512_HMAC }, short], 'none', 'SHA-512, 32-byte key');
    },
  },
  {
    chapter: 'sign',
    name: 'RSA PKCS#1 v1.5 with SHA-1/384/512, multi-part',
    async run(t) {
      const { session } = await t.userSession();
      const priv = (await t.call('C_CreateObject', [session, rsaPrivate([{ type: CKA_SIGN, value: true }])], 'handle')) ?? -1;
      for (const [name, m] of [['SHA-1', CKM_SHA1_RSA_PKCS], ['SHA-384', CKM_SHA384_RSA_PKCS], ['SHA-512', CKM_SHA512_RSA_PKCS]] as const) {
        await t.call('C_SignInit', [session, { mechanism: m }, priv], 'none', name);
        await t.call('C_SignUpdate', [session, MESSAGE.subarray(0, 20)], 'none', name);
        await t.call('C_SignUpdate', [session, MESSAGE.subarray(20)], 'none', name);
        await t.call('C_SignFinal', [session], 'value', name);
      }
    },
  },
  {
    chapter: 'sign',
    name: 'ECDSA P-256 with SHA-256',
    async run(t) {
      const { slot, session } = await t.userSession();
      const pair = await t.call('C_GenerateKeyPair', [session, { mechanism: CKM_EC_KEY_PAIR_GEN },
        [{ type: CKA_EC_PARAMS, value: P256 }, { type: CKA_VERIFY, value: true }], [{ type: CKA_SIGN, value: true }]]);
      // Each backend's own mechanism for the same operation (see ecdsaSha256).
      const { mechanism, input } = await ecdsaSha256(t.p11, slot, MESSAGE);
      await t.call('C_SignInit', [session, mechanism, pair?.privateKey ?? -1]);
      const sig = (await t.call('C_Sign', [session, input], 'length')) ?? new Uint8Array(0);
      await t.call('C_VerifyInit', [session, mechanism, pair?.publicKey ?? -1]);
      await t.call('C_Verify', [session, input, sig], 'value');
      const bad = sig.slice();
      bad[5] = (bad[5] ?? 0) ^ 1;
      await t.call('C_VerifyInit', [session, mechanism, pair?.publicKey ?? -1]);
      await t.call('C_Verify', [session, input, bad], 'value', 'tampered');
      await t.call('C_VerifyInit', [session, mechanism, pair?.publicKey ?? -1]);
      await t.call('C_Verify', [session, input, sig.subarray(0, 63)], 'value', 'short signature');
      // The same signature checked by WebCrypto: r||s over SHA-256.
      const point = await t.p11.C_GetAttributeValue(session, pair?.publicKey ?? -1, [{ type: CKA_EC_POINT }]);
      const key = await crypto.subtle.importKey('raw', ecPoint(point), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      t.note('WebCrypto verifies the signature', await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, new Uint8Array(sig), MESSAGE));
    },
  },
  {
    chapter: 'sign',
    name: 'Ed25519 with an imported key (RFC 8032: deterministic)',
    async run(t) {
      const { session } = await t.userSession();
      const priv = (await t.call('C_CreateObject', [session, ed25519Private([{ type: CKA_SIGN, value: true }])], 'handle')) ?? -1;
      const pub = (await t.call('C_CreateObject', [session, ed25519Public([{ type: CKA_VERIFY, value: true }])], 'handle')) ?? -1;
      await t.call('C_SignInit', [session, { mechanism: CKM_EDDSA }, priv]);
      const sig = (await t.call('C_Sign', [session, MESSAGE], 'value')) ?? new Uint8Array(0);
      await t.call('C_VerifyInit', [session, { mechanism: CKM_EDDSA }, pub]);
      await t.call('C_Verify', [session, MESSAGE, sig], 'value');
      await t.call('C_VerifyInit', [session, { mechanism: CKM_EDDSA }, pub]);
      await t.call('C_Verify', [session, MESSAGE.subarray(1), sig], 'value', 'other message');
    },
  },
  {
    chapter: 'sign',
    name: 'key, mechanism and state mismatches',
    async run(t) {
      const { session } = await t.userSession();
      const mac = (await t.call('C_CreateObject', [session, hmacKey()], 'handle')) ?? -1;
      const noSign = (await t.call('C_CreateObject', [session, secretKey(CKK_GENERIC_SECRET, bytes(32, 2), [{ type: CKA_SIGN, value: false }, { type: CKA_VERIFY, value: true }])], 'handle')) ?? -1;
      const pair = await t.call('C_GenerateKeyPair', [session, { mechanism: CKM_EC_KEY_PAIR_GEN },
        [{ type: CKA_EC_PARAMS, value: P256 }, { type: CKA_VERIFY, value: true }], [{ type: CKA_SIGN, value: true }]]);
      await t.call('C_SignInit', [session, { mechanism: CKM_SHA256_HMAC }, noSign], 'none', 'key without CKA_SIGN');
      await t.call('C_SignFinal', [session], 'none', 'not initialised');
      await t.call('C_SignInit', [session, { mechanism: CKM_SHA256_HMAC }, mac]);
      await t.call('C_SignUpdate', [session, MESSAGE]);
      await t.call('C_Sign', [session, MESSAGE], 'none', 'after C_SignUpdate');
      await t.call('C_SignFinal', [session], 'value', 'after the refused C_Sign');
      await t.call('C_VerifyInit', [session, { mechanism: CKM_SHA256_HMAC }, mac]);
      await t.call('C_VerifyUpdate', [session, MESSAGE]);
      await t.call('C_VerifyFinal', [session, new Uint8Array(31)], 'value', 'MAC of 31 bytes');
      // Last: SoftHSM2 accepts this init, and the operation it leaves active would change what follows.
      await t.call('C_SignInit', [session, { mechanism: CKM_SHA256_RSA_PKCS }, pair?.privateKey ?? -1], 'none', 'RSA mechanism, EC key');
    },
  },
];
