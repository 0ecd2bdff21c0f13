/** Chapter: key derivation. */
import {
  CKA_CLASS,
  CKA_DERIVE,
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_EXTRACTABLE,
  CKA_KEY_TYPE,
  CKA_SENSITIVE,
  CKA_VALUE,
  CKA_VALUE_LEN,
  CKA_VERIFY,
  CKD_NULL,
  CKK_GENERIC_SECRET,
  CKM_EC_KEY_PAIR_GEN,
  CKM_ECDH1_DERIVE,
  CKO_SECRET_KEY,
} from '@vhsm/pkcs11';
import { P256, ecPoint } from './material.js';
import type { Scenario } from '../suite.js';

const DERIVED = [
  { type: CKA_CLASS, value: CKO_SECRET_KEY },
  { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET },
  { type: CKA_VALUE_LEN, value: 32 },
  { type: CKA_SENSITIVE, value: false },
  { type: CKA_EXTRACTABLE, value: true },
];

export const derive: Scenario[] = [
  {
    chapter: 'derive',
    name: 'ECDH1 P-256 agrees with WebCrypto',
    async run(t) {
      const { session } = await t.userSession();
      const pair = await t.call('C_GenerateKeyPair', [session, { mechanism: CKM_EC_KEY_PAIR_GEN },
        [{ type: CKA_EC_PARAMS, value: P256 }, { type: CKA_VERIFY, value: true }], [{ type: CKA_DERIVE, value: true }]]);
      const web = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
      const webPoint = new Uint8Array(await crypto.subtle.exportKey('raw', web.publicKey));
      const secret = await t.call('C_DeriveKey', [session, { mechanism: CKM_ECDH1_DERIVE, parameter: { kdf: CKD_NULL, publicData: webPoint } }, pair?.privateKey ?? -1, DERIVED], 'handle');
      const value = await t.call('C_GetAttributeValue', [session, secret ?? -1, [{ type: CKA_VALUE }, { type: CKA_VALUE_LEN }]]);
      const point = await t.p11.C_GetAttributeValue(session, pair?.publicKey ?? -1, [{ type: CKA_EC_POINT }]);
      const mine = await crypto.subtle.importKey('raw', ecPoint(point), { name: 'ECDH', namedCurve: 'P-256' }, false, []);
      const expected = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: mine }, web.privateKey, 256));
      const got = value?.[0]?.value as Uint8Array | undefined;
      t.note('same secret as WebCrypto', got !== undefined && got.length === 32 && got.every((b, i) => b === expected[i]));
      await t.call('C_DeriveKey', [session, { mechanism: CKM_ECDH1_DERIVE, parameter: { kdf: CKD_NULL, publicData: webPoint.subarray(1) } }, pair?.privateKey ?? -1, DERIVED], 'none', 'malformed public point');
      await t.call('C_DeriveKey', [session, { mechanism: CKM_ECDH1_DERIVE, parameter: { kdf: CKD_NULL, publicData: webPoint } }, pair?.publicKey ?? -1, DERIVED], 'none', 'from the public key');
    },
  },
];
