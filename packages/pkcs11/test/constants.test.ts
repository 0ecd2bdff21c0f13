import { describe, expect, it } from 'vitest';
import * as pkcs11 from '../src/index.js';

// Values as printed in the OASIS PKCS#11 v3.0 specification.
const SPEC_VALUES: Record<string, number> = {
  CKA_CLASS: 0x0,
  CKA_TOKEN: 0x1,
  CKA_LABEL: 0x3,
  CKA_UNIQUE_ID: 0x4,
  CKA_VALUE: 0x11,
  CKA_KEY_TYPE: 0x100,
  CKA_ID: 0x102,
  CKA_SENSITIVE: 0x103,
  CKA_EXTRACTABLE: 0x162,
  CKA_EC_PARAMS: 0x180,
  CKA_EC_POINT: 0x181,
  CKA_WRAP_TEMPLATE: 0x40000211,
  CKA_DERIVE_TEMPLATE: 0x40000213,
  CKA_ALLOWED_MECHANISMS: 0x40000600,
  CKA_VENDOR_DEFINED: 0x80000000,
  CKO_SECRET_KEY: 4,
  CKO_PROFILE: 9,
  CKK_AES: 0x1f,
  CKK_EC_EDWARDS: 0x40,
  CKK_HKDF: 0x42,
  CKM_RSA_PKCS_OAEP: 0x9,
  CKM_SHA256_RSA_PKCS_PSS: 0x43,
  CKM_AES_CBC_PAD: 0x1085,
  CKM_AES_CTR: 0x1086,
  CKM_AES_GCM: 0x1087,
  CKM_AES_KEY_WRAP: 0x2109,
  CKM_EC_KEY_PAIR_GEN: 0x1040,
  CKM_ECDSA_SHA256: 0x1044,
  CKM_ECDH1_DERIVE: 0x1050,
  CKM_EDDSA: 0x1057,
  CKM_HKDF_DERIVE: 0x402a,
  CKM_PKCS5_PBKD2: 0x3b0,
  CKR_OK: 0,
  CKR_ACTION_PROHIBITED: 0x1b,
  CKR_ATTRIBUTE_SENSITIVE: 0x11,
  CKR_PIN_INCORRECT: 0xa0,
  CKR_PIN_LOCKED: 0xa4,
  CKR_USER_NOT_LOGGED_IN: 0x101,
  CKR_AEAD_DECRYPT_FAILED: 0x42,
  CKR_TOKEN_RESOURCE_EXCEEDED: 0x201,
  CKF_RW_SESSION: 2,
  CKF_SERIAL_SESSION: 4,
  CKF_TOKEN_INITIALIZED: 0x400,
  CKF_GENERATE_KEY_PAIR: 0x10000,
  CKU_SO: 0,
  CKU_USER: 1,
  CKU_CONTEXT_SPECIFIC: 2,
  CKS_RW_SO_FUNCTIONS: 4,
  CKG_MGF1_SHA256: 2,
  CKG_GENERATE_RANDOM: 3,
  CKD_NULL: 1,
  CKD_SHA256_KDF: 6,
  CKZ_DATA_SPECIFIED: 1,
  CKP_PKCS5_PBKD2_HMAC_SHA256: 4,
  CKH_CLOCK: 2,
  CKC_X_509: 0,
  CKN_SURRENDER: 0,
  CK_UNAVAILABLE_INFORMATION: 0xffffffff,
  CK_EFFECTIVELY_INFINITE: 0,
  CK_INVALID_HANDLE: 0,
  CK_TRUE: 1,
  CK_FALSE: 0,
  CRYPTOKI_VERSION_MAJOR: 3,
  CRYPTOKI_VERSION_MINOR: 0,
};

const numbers = Object.entries(pkcs11 as unknown as Record<string, unknown>).filter((entry): entry is [string, number] => typeof entry[1] === 'number');

describe('constants', () => {
  it.each(Object.entries(SPEC_VALUES))('%s = %d', (name, value) => {
    expect((pkcs11 as unknown as Record<string, unknown>)[name]).toBe(value);
  });

  it('exports deprecated aliases with the value of their replacement', () => {
    expect(pkcs11.CKM_ECDSA_KEY_PAIR_GEN).toBe(pkcs11.CKM_EC_KEY_PAIR_GEN);
    expect(pkcs11.CKK_ECDSA).toBe(pkcs11.CKK_EC);
    expect(pkcs11.CKA_ECDSA_PARAMS).toBe(pkcs11.CKA_EC_PARAMS);
    expect(pkcs11.CKA_SUB_PRIME_BITS).toBe(pkcs11.CKA_SUBPRIME_BITS);
    expect(pkcs11.CKF_EC_NAMEDCURVE).toBe(pkcs11.CKF_EC_OID);
  });

  it('are all unsigned 32-bit integers', () => {
    expect(numbers.length).toBeGreaterThan(850);
    for (const [name, value] of numbers) {
      expect(Number.isInteger(value) && value >= 0 && value <= 0xffffffff, name).toBe(true);
    }
  });
});
