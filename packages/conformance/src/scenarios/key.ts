/** Chapter: key generation and the attributes a generated key gets. */
import {
  CKA_ALWAYS_SENSITIVE,
  CKA_CLASS,
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_EXTRACTABLE,
  CKA_KEY_GEN_MECHANISM,
  CKA_KEY_TYPE,
  CKA_LOCAL,
  CKA_MODULUS,
  CKA_MODULUS_BITS,
  CKA_NEVER_EXTRACTABLE,
  CKA_PUBLIC_EXPONENT,
  CKA_SENSITIVE,
  CKA_SIGN,
  CKA_VALUE,
  CKA_VALUE_LEN,
  CKA_VERIFY,
  CKM_AES_KEY_GEN,
  CKM_EC_KEY_PAIR_GEN,
  CKM_GENERIC_SECRET_KEY_GEN,
  CKM_RSA_PKCS_KEY_PAIR_GEN,
  CKO_DATA,
} from '@vhsm/pkcs11';
import { P256 } from './material.js';
import type { Scenario } from '../suite.js';

const GENERATED = [CKA_CLASS, CKA_KEY_TYPE, CKA_LOCAL, CKA_KEY_GEN_MECHANISM].map((type) => ({ type }));

export const key: Scenario[] = [
  {
    chapter: 'key',
    name: 'AES key generation',
    async run(t) {
      const { session } = await t.userSession();
      const k = (await t.call('C_GenerateKey', [session, { mechanism: CKM_AES_KEY_GEN }, [
        { type: CKA_VALUE_LEN, value: 32 },
        { type: CKA_SENSITIVE, value: true },
        { type: CKA_EXTRACTABLE, value: false },
      ]], 'handle')) ?? -1;
      await t.call('C_GetAttributeValue', [session, k, [...GENERATED, { type: CKA_VALUE_LEN }, { type: CKA_ALWAYS_SENSITIVE }, { type: CKA_NEVER_EXTRACTABLE }]], 'value');
      await t.call('C_GenerateKey', [session, { mechanism: CKM_AES_KEY_GEN }, []], 'none', 'no CKA_VALUE_LEN');
      await t.call('C_GenerateKey', [session, { mechanism: CKM_AES_KEY_GEN }, [{ type: CKA_VALUE_LEN, value: 17 }]], 'none', 'CKA_VALUE_LEN 17');
      await t.call('C_GenerateKey', [session, { mechanism: 0x7fff_0000 }, [{ type: CKA_VALUE_LEN, value: 16 }]], 'none', 'unknown mechanism');
    },
  },
  {
    chapter: 'key',
    name: 'EC P-256 key pair generation',
    async run(t) {
      const { session } = await t.userSession();
      const pair = await t.call('C_GenerateKeyPair', [session, { mechanism: CKM_EC_KEY_PAIR_GEN },
        [{ type: CKA_EC_PARAMS, value: P256 }, { type: CKA_VERIFY, value: true }],
        [{ type: CKA_SIGN, value: true }]]);
      const pub = await t.call('C_GetAttributeValue', [session, pair?.publicKey ?? -1, [...GENERATED, { type: CKA_EC_PARAMS }]], 'value', 'public');
      const point = await t.call('C_GetAttributeValue', [session, pair?.publicKey ?? -1, [{ type: CKA_EC_POINT }]]);
      const der = point?.[0]?.value as Uint8Array | undefined;
      t.note('CKA_EC_POINT is a DER OCTET STRING of an uncompressed point', der !== undefined && der.length === 67 && der[0] === 0x04 && der[1] === 0x41 && der[2] === 0x04);
      t.note('public key listed', pub !== undefined);
      await t.call('C_GetAttributeValue', [session, pair?.privateKey ?? -1, [...GENERATED, { type: CKA_SENSITIVE }, { type: CKA_ALWAYS_SENSITIVE }]], 'value', 'private');
      await t.call('C_GenerateKeyPair', [session, { mechanism: CKM_EC_KEY_PAIR_GEN }, [{ type: CKA_VERIFY, value: true }], [{ type: CKA_SIGN, value: true }]], 'none', 'no CKA_EC_PARAMS');
    },
  },
  {
    chapter: 'key',
    name: 'RSA-2048 key pair generation',
    async run(t) {
      const { session } = await t.userSession();
      const pair = await t.call('C_GenerateKeyPair', [session, { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
        [{ type: CKA_MODULUS_BITS, value: 2048 }, { type: CKA_PUBLIC_EXPONENT, value: new Uint8Array([1, 0, 1]) }, { type: CKA_VERIFY, value: true }],
        [{ type: CKA_SIGN, value: true }]]);
      await t.call('C_GetAttributeValue', [session, pair?.publicKey ?? -1, [...GENERATED, { type: CKA_MODULUS_BITS }, { type: CKA_PUBLIC_EXPONENT }]], 'value', 'public');
      const modulus = await t.call('C_GetAttributeValue', [session, pair?.publicKey ?? -1, [{ type: CKA_MODULUS }]]);
      t.note('modulus bytes', (modulus?.[0]?.value as Uint8Array | undefined)?.length);
    },
  },
  {
    chapter: 'key',
    name: 'generation template errors',
    async run(t) {
      const { session } = await t.userSession();
      await t.call('C_GenerateKeyPair', [session, { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN }, [{ type: CKA_VERIFY, value: true }], [{ type: CKA_SIGN, value: true }]], 'none', 'RSA without CKA_MODULUS_BITS');
      await t.call('C_GenerateKeyPair', [session, { mechanism: CKM_EC_KEY_PAIR_GEN }, [{ type: CKA_EC_PARAMS, value: new Uint8Array([0x06, 0x03, 0x2a, 0x03, 0x04]) }], [{ type: CKA_SIGN, value: true }]], 'none', 'EC on an unknown curve');
      await t.call('C_GenerateKeyPair', [session, { mechanism: CKM_EC_KEY_PAIR_GEN }, [{ type: CKA_EC_PARAMS, value: new Uint8Array([0x04, 0x02, 0x01, 0x02]) }], [{ type: CKA_SIGN, value: true }]], 'none', 'EC with CKA_EC_PARAMS not an OID');
      await t.call('C_GenerateKey', [session, { mechanism: CKM_AES_KEY_GEN }, [{ type: CKA_VALUE_LEN, value: 16 }, { type: CKA_CLASS, value: CKO_DATA }]], 'none', 'AES with CKA_CLASS data');
      const g = (await t.call('C_GenerateKey', [session, { mechanism: CKM_GENERIC_SECRET_KEY_GEN }, [{ type: CKA_VALUE_LEN, value: 40 }, { type: CKA_SENSITIVE, value: false }, { type: CKA_EXTRACTABLE, value: true }]], 'handle', 'generic secret')) ?? -1;
      await t.call('C_GetAttributeValue', [session, g, [...GENERATED, { type: CKA_VALUE_LEN }, { type: CKA_ALWAYS_SENSITIVE }, { type: CKA_NEVER_EXTRACTABLE }]], 'value', 'generic secret');
      const v = await t.call('C_GetAttributeValue', [session, g, [{ type: CKA_VALUE }]], 'none', 'generic secret value');
      t.note('generic secret value bytes', (v?.[0]?.value as Uint8Array | undefined)?.length);
    },
  },
];
