/**
 * The attribute table: one row per (object class or key type, attribute). It drives every function
 * that creates, copies, changes or reads objects (see rules.ts). Flags follow the footnotes of the
 * spec's attribute tables (PKCS#11 v3.0 §4, "Common footnotes"), named instead of numbered.
 */
import {
  CKA_ALLOWED_MECHANISMS, CKA_ALWAYS_AUTHENTICATE, CKA_ALWAYS_SENSITIVE, CKA_APPLICATION,
  CKA_CERTIFICATE_CATEGORY, CKA_CERTIFICATE_TYPE, CKA_CHECK_VALUE, CKA_CLASS, CKA_COEFFICIENT,
  CKA_COPYABLE, CKA_DECRYPT, CKA_DERIVE, CKA_DERIVE_TEMPLATE, CKA_DESTROYABLE, CKA_EC_PARAMS,
  CKA_EC_POINT, CKA_ENCRYPT, CKA_END_DATE, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_EXTRACTABLE,
  CKA_HASH_OF_ISSUER_PUBLIC_KEY, CKA_HASH_OF_SUBJECT_PUBLIC_KEY, CKA_ID, CKA_ISSUER,
  CKA_JAVA_MIDP_SECURITY_DOMAIN, CKA_KEY_GEN_MECHANISM, CKA_KEY_TYPE, CKA_LABEL, CKA_LOCAL,
  CKA_MODIFIABLE, CKA_MODULUS, CKA_MODULUS_BITS, CKA_NAME_HASH_ALGORITHM, CKA_NEVER_EXTRACTABLE,
  CKA_OBJECT_ID, CKA_PRIME_1, CKA_PRIME_2, CKA_PRIVATE, CKA_PRIVATE_EXPONENT, CKA_PUBLIC_EXPONENT,
  CKA_PUBLIC_KEY_INFO, CKA_SENSITIVE, CKA_SERIAL_NUMBER, CKA_SIGN, CKA_SIGN_RECOVER, CKA_START_DATE,
  CKA_SUBJECT, CKA_TOKEN, CKA_TRUSTED, CKA_UNIQUE_ID, CKA_UNWRAP, CKA_UNWRAP_TEMPLATE, CKA_URL,
  CKA_VALUE, CKA_VALUE_LEN, CKA_VERIFY, CKA_VERIFY_RECOVER, CKA_WRAP, CKA_WRAP_TEMPLATE,
  CKA_WRAP_WITH_TRUSTED, CKK_AES, CKK_EC, CKK_EC_EDWARDS, CKK_GENERIC_SECRET, CKK_RSA,
  CKK_SHA256_HMAC, CKK_SHA384_HMAC, CKK_SHA512_HMAC, CKK_SHA_1_HMAC, CKK_HKDF,
  CKO_CERTIFICATE, CKO_DATA, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY,
} from '@vhsm/pkcs11';
import type { AttributeValue } from '@vhsm/pkcs11';

/** Flags of a row. Numbers in comments are the spec's footnote numbers. */
export const F = {
  /** 1: must be given to C_CreateObject. */
  REQUIRED_ON_CREATE: 1 << 0,
  /** 2: must not be given to C_CreateObject. */
  FORBIDDEN_ON_CREATE: 1 << 1,
  /** 3: must be given to C_GenerateKey / C_GenerateKeyPair. */
  REQUIRED_ON_GENERATE: 1 << 2,
  /** 4: must not be given to C_GenerateKey / C_GenerateKeyPair. */
  FORBIDDEN_ON_GENERATE: 1 << 3,
  /** 5: must be given to C_UnwrapKey. */
  REQUIRED_ON_UNWRAP: 1 << 4,
  /** 6: must not be given to C_UnwrapKey (nor C_DeriveKey: the value comes from the mechanism). */
  FORBIDDEN_ON_UNWRAP: 1 << 5,
  /** 7: never revealed when the key is sensitive or unextractable. */
  SECRET: 1 << 6,
  /** 8: may change with C_SetAttributeValue and C_CopyObject. */
  MODIFIABLE: 1 << 7,
  /** 10: only the SO may set it to true. */
  SO_ONLY_TRUE: 1 << 8,
  /** 11: once true, it stays true. */
  ONLY_TO_TRUE: 1 << 9,
  /** 12: once false, it stays false. */
  ONLY_TO_FALSE: 1 << 10,
  /** 17: may change in C_CopyObject (but not C_SetAttributeValue). */
  COPY_MODIFIABLE: 1 << 11,
  /** Computed by the token (LOCAL, ALWAYS_SENSITIVE, …): no template may carry it. */
  COMPUTED: 1 << 12,
} as const;

const { REQUIRED_ON_CREATE: RC, FORBIDDEN_ON_CREATE: NC, REQUIRED_ON_GENERATE: RG,
  FORBIDDEN_ON_GENERATE: NG, REQUIRED_ON_UNWRAP: RU, FORBIDDEN_ON_UNWRAP: NU, SECRET: S,
  MODIFIABLE: M, SO_ONLY_TRUE: SO, ONLY_TO_TRUE: T, ONLY_TO_FALSE: FF, COPY_MODIFIABLE: CM,
  COMPUTED: C } = F;

/** A default is a value, or a function of the object being built (and which entry point builds it). */
export type DefaultValue = AttributeValue | ((ctx: DefaultContext) => AttributeValue | undefined);
export interface DefaultContext {
  get(type: number): AttributeValue | undefined;
}

export interface AttributeRule {
  type: number;
  flags: number;
  /** Absent: the attribute is left out of the object unless the caller or the mechanism sets it. */
  default?: DefaultValue;
}

/** Where a row applies: an object class, optionally narrowed to key types. */
export interface RuleScope {
  classes: readonly number[];
  keyTypes?: readonly number[];
}

const row = (type: number, flags = 0, def?: DefaultValue): AttributeRule =>
  def === undefined ? { type, flags } : { type, flags, default: def };

const ALL_CLASSES = [CKO_DATA, CKO_CERTIFICATE, CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_SECRET_KEY];
const KEY_CLASSES = [CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_SECRET_KEY];
const SECRET_TYPES = [CKK_AES, CKK_GENERIC_SECRET, CKK_SHA_1_HMAC, CKK_SHA256_HMAC, CKK_SHA384_HMAC,
  CKK_SHA512_HMAC, CKK_HKDF];

/**
 * The table. Order matters only for C_GetAttributeValue listings. Defaults for usage flags are the
 * `spec` policy's (SoftHSM2's); a policy may override defaults (policy/*.ts).
 */
export const ATTRIBUTE_TABLE: readonly { scope: RuleScope; rules: readonly AttributeRule[] }[] = [
  { // Common storage object attributes (§4.4)
    scope: { classes: ALL_CLASSES },
    rules: [
      row(CKA_CLASS, RC),
      row(CKA_TOKEN, CM, false),
      row(CKA_PRIVATE, CM, true),
      row(CKA_MODIFIABLE, CM, true),
      row(CKA_LABEL, M, ''),
      row(CKA_COPYABLE, M | FF, true),
      row(CKA_DESTROYABLE, CM | M, true),
      row(CKA_UNIQUE_ID, NC | NG | NU | C),
    ],
  },
  { // Data objects (§4.5)
    scope: { classes: [CKO_DATA] },
    rules: [
      row(CKA_APPLICATION, M, ''),
      row(CKA_OBJECT_ID, M, new Uint8Array()),
      row(CKA_VALUE, M, new Uint8Array()),
    ],
  },
  { // Certificates (§4.6) and X.509 public key certificates (§4.6.3)
    scope: { classes: [CKO_CERTIFICATE] },
    rules: [
      row(CKA_CERTIFICATE_TYPE, RC),
      row(CKA_TRUSTED, SO, false),
      row(CKA_CERTIFICATE_CATEGORY, 0, 0),
      row(CKA_CHECK_VALUE, C),
      row(CKA_START_DATE, M, new Uint8Array()),
      row(CKA_END_DATE, M, new Uint8Array()),
      row(CKA_PUBLIC_KEY_INFO, 0, new Uint8Array()),
      row(CKA_SUBJECT, RC),
      row(CKA_ID, M, new Uint8Array()),
      row(CKA_ISSUER, M, new Uint8Array()),
      row(CKA_SERIAL_NUMBER, M, new Uint8Array()),
      row(CKA_VALUE, RC),
      row(CKA_URL, 0, ''),
      row(CKA_HASH_OF_SUBJECT_PUBLIC_KEY, 0, new Uint8Array()),
      row(CKA_HASH_OF_ISSUER_PUBLIC_KEY, 0, new Uint8Array()),
      row(CKA_JAVA_MIDP_SECURITY_DOMAIN, 0, 0),
      row(CKA_NAME_HASH_ALGORITHM, 0),
    ],
  },
  { // Common key attributes (§4.7)
    scope: { classes: KEY_CLASSES },
    rules: [
      row(CKA_KEY_TYPE, RC | RU),
      row(CKA_ID, M, new Uint8Array()),
      row(CKA_START_DATE, M, new Uint8Array()),
      row(CKA_END_DATE, M, new Uint8Array()),
      row(CKA_DERIVE, M, false),
      row(CKA_LOCAL, NC | NG | NU | C),
      row(CKA_KEY_GEN_MECHANISM, NC | NG | NU | C),
      row(CKA_ALLOWED_MECHANISMS, 0, []),
    ],
  },
  { // Public keys (§4.8)
    scope: { classes: [CKO_PUBLIC_KEY] },
    rules: [
      row(CKA_SUBJECT, M, new Uint8Array()),
      row(CKA_ENCRYPT, M, true),
      row(CKA_VERIFY, M, true),
      row(CKA_VERIFY_RECOVER, M, true),
      row(CKA_WRAP, M, true),
      row(CKA_TRUSTED, SO, false),
      row(CKA_WRAP_TEMPLATE, 0, []),
      row(CKA_PUBLIC_KEY_INFO, 0, new Uint8Array()),
    ],
  },
  { // Private keys (§4.9)
    scope: { classes: [CKO_PRIVATE_KEY] },
    rules: [
      row(CKA_SUBJECT, M, new Uint8Array()),
      row(CKA_SENSITIVE, M | T, false),
      row(CKA_DECRYPT, M, true),
      row(CKA_SIGN, M, true),
      row(CKA_SIGN_RECOVER, M, true),
      row(CKA_UNWRAP, M, true),
      row(CKA_EXTRACTABLE, M | FF, true),
      row(CKA_ALWAYS_SENSITIVE, NC | NG | NU | C),
      row(CKA_NEVER_EXTRACTABLE, NC | NG | NU | C),
      row(CKA_WRAP_WITH_TRUSTED, M | T, false),
      row(CKA_UNWRAP_TEMPLATE, 0, []),
      row(CKA_DERIVE_TEMPLATE, 0, []),
      row(CKA_ALWAYS_AUTHENTICATE, 0, false),
      row(CKA_PUBLIC_KEY_INFO, 0, new Uint8Array()),
    ],
  },
  { // Secret keys (§4.10)
    scope: { classes: [CKO_SECRET_KEY] },
    rules: [
      row(CKA_SENSITIVE, M | T, false),
      row(CKA_ENCRYPT, M, true),
      row(CKA_DECRYPT, M, true),
      row(CKA_SIGN, M, true),
      row(CKA_VERIFY, M, true),
      row(CKA_WRAP, M, true),
      row(CKA_UNWRAP, M, true),
      row(CKA_EXTRACTABLE, M | FF, true),
      row(CKA_ALWAYS_SENSITIVE, NC | NG | NU | C),
      row(CKA_NEVER_EXTRACTABLE, NC | NG | NU | C),
      row(CKA_CHECK_VALUE, C),
      row(CKA_WRAP_WITH_TRUSTED, M | T, false),
      row(CKA_TRUSTED, SO, false),
      row(CKA_WRAP_TEMPLATE, 0, []),
      row(CKA_UNWRAP_TEMPLATE, 0, []),
      row(CKA_DERIVE_TEMPLATE, 0, []),
    ],
  },
  { // RSA public keys (§6.1.2)
    scope: { classes: [CKO_PUBLIC_KEY], keyTypes: [CKK_RSA] },
    rules: [
      row(CKA_MODULUS, RC | NG | NU),
      row(CKA_MODULUS_BITS, NC | RG | NU),
      row(CKA_PUBLIC_EXPONENT, RC | NU),
    ],
  },
  { // RSA private keys (§6.1.3)
    scope: { classes: [CKO_PRIVATE_KEY], keyTypes: [CKK_RSA] },
    rules: [
      row(CKA_MODULUS, RC | NG | NU),
      row(CKA_PUBLIC_EXPONENT, NG | NU),
      row(CKA_PRIVATE_EXPONENT, RC | NG | NU | S),
      row(CKA_PRIME_1, NG | NU | S),
      row(CKA_PRIME_2, NG | NU | S),
      row(CKA_EXPONENT_1, NG | NU | S),
      row(CKA_EXPONENT_2, NG | NU | S),
      row(CKA_COEFFICIENT, NG | NU | S),
    ],
  },
  { // EC and Edwards public keys (§6.3.3, §6.3.5)
    scope: { classes: [CKO_PUBLIC_KEY], keyTypes: [CKK_EC, CKK_EC_EDWARDS] },
    rules: [
      row(CKA_EC_PARAMS, RC | RG),
      row(CKA_EC_POINT, RC | NG | NU),
    ],
  },
  { // EC and Edwards private keys (§6.3.4, §6.3.6)
    scope: { classes: [CKO_PRIVATE_KEY], keyTypes: [CKK_EC, CKK_EC_EDWARDS] },
    rules: [
      row(CKA_EC_PARAMS, RC | NG | NU),
      row(CKA_VALUE, RC | NG | NU | S),
    ],
  },
  { // Secret keys with a value: AES (§6.10.2), generic secret (§6.8.1), HMAC and HKDF key types
    scope: { classes: [CKO_SECRET_KEY], keyTypes: SECRET_TYPES },
    rules: [
      row(CKA_VALUE, RC | NG | NU | S),
      row(CKA_VALUE_LEN, NC | RG),
    ],
  },
];

