import { describe, expect, it } from 'vitest';
import * as pkcs11 from '../src/index.js';
import { ATTRIBUTE_KIND_TABLE, type AttributeKind, attributeKind } from '../src/index.js';

const constants = pkcs11 as unknown as Record<string, number>;

// The data type of each attribute in the PKCS#11 v3.0 base and mechanism specs.
const EXPECTED: Record<AttributeKind, string[]> = {
  bool: [
    'CKA_TOKEN', 'CKA_PRIVATE', 'CKA_TRUSTED', 'CKA_SENSITIVE', 'CKA_ENCRYPT', 'CKA_DECRYPT',
    'CKA_WRAP', 'CKA_UNWRAP', 'CKA_SIGN', 'CKA_SIGN_RECOVER', 'CKA_VERIFY', 'CKA_VERIFY_RECOVER',
    'CKA_DERIVE', 'CKA_EXTRACTABLE', 'CKA_LOCAL', 'CKA_NEVER_EXTRACTABLE', 'CKA_ALWAYS_SENSITIVE',
    'CKA_MODIFIABLE', 'CKA_COPYABLE', 'CKA_DESTROYABLE', 'CKA_SECONDARY_AUTH',
    'CKA_ALWAYS_AUTHENTICATE', 'CKA_WRAP_WITH_TRUSTED', 'CKA_OTP_USER_FRIENDLY_MODE',
    'CKA_RESET_ON_INIT', 'CKA_HAS_RESET', 'CKA_COLOR',
  ],
  ulong: [
    'CKA_CLASS', 'CKA_KEY_TYPE', 'CKA_CERTIFICATE_TYPE', 'CKA_VALUE_LEN', 'CKA_VALUE_BITS',
    'CKA_MODULUS_BITS', 'CKA_KEY_GEN_MECHANISM', 'CKA_CERTIFICATE_CATEGORY',
    'CKA_JAVA_MIDP_SECURITY_DOMAIN', 'CKA_NAME_HASH_ALGORITHM', 'CKA_PROFILE_ID',
    'CKA_MECHANISM_TYPE', 'CKA_PRIME_BITS', 'CKA_SUBPRIME_BITS', 'CKA_SUB_PRIME_BITS',
    'CKA_HW_FEATURE_TYPE', 'CKA_AUTH_PIN_FLAGS', 'CKA_OTP_FORMAT', 'CKA_OTP_LENGTH',
    'CKA_OTP_TIME_INTERVAL', 'CKA_OTP_CHALLENGE_REQUIREMENT', 'CKA_OTP_TIME_REQUIREMENT',
    'CKA_OTP_COUNTER_REQUIREMENT', 'CKA_OTP_PIN_REQUIREMENT', 'CKA_PIXEL_X', 'CKA_PIXEL_Y',
    'CKA_RESOLUTION', 'CKA_CHAR_ROWS', 'CKA_CHAR_COLUMNS', 'CKA_BITS_PER_PIXEL',
  ],
  string: [
    'CKA_LABEL', 'CKA_APPLICATION', 'CKA_URL', 'CKA_UNIQUE_ID', 'CKA_CHAR_SETS',
    'CKA_ENCODING_METHODS', 'CKA_MIME_TYPES', 'CKA_OTP_TIME', 'CKA_OTP_USER_IDENTIFIER',
    'CKA_OTP_SERVICE_IDENTIFIER', 'CKA_OTP_SERVICE_LOGO_TYPE',
  ],
  bytes: [
    'CKA_VALUE', 'CKA_OBJECT_ID', 'CKA_ISSUER', 'CKA_SERIAL_NUMBER', 'CKA_AC_ISSUER', 'CKA_OWNER',
    'CKA_ATTR_TYPES', 'CKA_HASH_OF_SUBJECT_PUBLIC_KEY', 'CKA_HASH_OF_ISSUER_PUBLIC_KEY',
    'CKA_CHECK_VALUE', 'CKA_SUBJECT', 'CKA_ID', 'CKA_MODULUS', 'CKA_PUBLIC_EXPONENT',
    'CKA_PRIVATE_EXPONENT', 'CKA_PRIME_1', 'CKA_PRIME_2', 'CKA_EXPONENT_1', 'CKA_EXPONENT_2',
    'CKA_COEFFICIENT', 'CKA_PUBLIC_KEY_INFO', 'CKA_PRIME', 'CKA_SUBPRIME', 'CKA_BASE',
    'CKA_EC_PARAMS', 'CKA_ECDSA_PARAMS', 'CKA_EC_POINT', 'CKA_OTP_COUNTER', 'CKA_OTP_SERVICE_LOGO',
    'CKA_GOSTR3410_PARAMS', 'CKA_GOSTR3411_PARAMS', 'CKA_GOST28147_PARAMS',
    'CKA_REQUIRED_CMS_ATTRIBUTES', 'CKA_DEFAULT_CMS_ATTRIBUTES', 'CKA_SUPPORTED_CMS_ATTRIBUTES',
  ],
  date: ['CKA_START_DATE', 'CKA_END_DATE'],
  attributes: ['CKA_WRAP_TEMPLATE', 'CKA_UNWRAP_TEMPLATE', 'CKA_DERIVE_TEMPLATE'],
  mechanisms: ['CKA_ALLOWED_MECHANISMS'],
};

describe('attributeKind', () => {
  it.each(Object.entries(EXPECTED).flatMap(([kind, names]) => names.map((name) => [name, kind])))(
    '%s is %s',
    (name, kind) => {
      expect(constants[name], name).toBeTypeOf('number');
      expect(attributeKind(constants[name] as number)).toBe(kind);
    },
  );

  it('covers every CKA_ of the header with an explicit entry', () => {
    const listed = new Set(Object.values(ATTRIBUTE_KIND_TABLE).flat());
    const attributes = Object.keys(constants).filter((name) => name.startsWith('CKA_') && name !== 'CKA_VENDOR_DEFINED');
    expect(attributes.length).toBeGreaterThan(100);
    expect(attributes.filter((name) => !listed.has(constants[name] as never))).toEqual([]);
    expect(attributes.sort()).toEqual(Object.values(EXPECTED).flat().sort());
  });

  it('gives each attribute exactly one kind', () => {
    const all = Object.values(ATTRIBUTE_KIND_TABLE).flat();
    expect(new Set(all).size).toBe(all.length);
  });

  it('treats vendor-defined and unknown types as bytes', () => {
    expect(attributeKind(0x80000000)).toBe('bytes');
    expect(attributeKind(0x80000123)).toBe('bytes');
    expect(attributeKind(0x00000999)).toBe('bytes');
  });
});
