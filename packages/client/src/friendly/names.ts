/**
 * Friendly names for the enumerations a caller meets: object classes, key types and token flags.
 * One table each, read both ways (name → code when encoding, code → name when decoding).
 */
import {
  CKF_CLOCK_ON_TOKEN, CKF_DUAL_CRYPTO_OPERATIONS, CKF_ERROR_STATE, CKF_LOGIN_REQUIRED,
  CKF_PROTECTED_AUTHENTICATION_PATH, CKF_RESTORE_KEY_NOT_NEEDED, CKF_RNG, CKF_SECONDARY_AUTHENTICATION,
  CKF_SO_PIN_COUNT_LOW, CKF_SO_PIN_FINAL_TRY, CKF_SO_PIN_LOCKED, CKF_SO_PIN_TO_BE_CHANGED, CKF_TOKEN_INITIALIZED,
  CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_INITIALIZED, CKF_USER_PIN_LOCKED,
  CKF_USER_PIN_TO_BE_CHANGED, CKF_WRITE_PROTECTED, CKK_AES, CKK_CHACHA20, CKK_EC, CKK_EC_EDWARDS,
  CKK_EC_MONTGOMERY, CKK_GENERIC_SECRET, CKK_HKDF, CKK_RSA, CKO_CERTIFICATE, CKO_DATA, CKO_DOMAIN_PARAMETERS,
  CKO_HW_FEATURE, CKO_MECHANISM, CKO_OTP_KEY, CKO_PRIVATE_KEY, CKO_PROFILE, CKO_PUBLIC_KEY, CKO_SECRET_KEY,
} from '@vhsm/pkcs11';

export const OBJECT_CLASSES = {
  data: CKO_DATA,
  certificate: CKO_CERTIFICATE,
  'public-key': CKO_PUBLIC_KEY,
  'private-key': CKO_PRIVATE_KEY,
  'secret-key': CKO_SECRET_KEY,
  'hw-feature': CKO_HW_FEATURE,
  'domain-parameters': CKO_DOMAIN_PARAMETERS,
  mechanism: CKO_MECHANISM,
  'otp-key': CKO_OTP_KEY,
  profile: CKO_PROFILE,
} as const;
export type ObjectClassName = keyof typeof OBJECT_CLASSES;

export const KEY_TYPES = {
  AES: CKK_AES,
  RSA: CKK_RSA,
  EC: CKK_EC,
  'EC-Edwards': CKK_EC_EDWARDS,
  'EC-Montgomery': CKK_EC_MONTGOMERY,
  'generic-secret': CKK_GENERIC_SECRET,
  HKDF: CKK_HKDF,
  ChaCha20: CKK_CHACHA20,
} as const;
export type KeyTypeName = keyof typeof KEY_TYPES;

/** CK_TOKEN_INFO flags by name. */
export const TOKEN_FLAGS = {
  rng: CKF_RNG,
  writeProtected: CKF_WRITE_PROTECTED,
  loginRequired: CKF_LOGIN_REQUIRED,
  userPinInitialized: CKF_USER_PIN_INITIALIZED,
  restoreKeyNotNeeded: CKF_RESTORE_KEY_NOT_NEEDED,
  clockOnToken: CKF_CLOCK_ON_TOKEN,
  protectedAuthenticationPath: CKF_PROTECTED_AUTHENTICATION_PATH,
  dualCryptoOperations: CKF_DUAL_CRYPTO_OPERATIONS,
  tokenInitialized: CKF_TOKEN_INITIALIZED,
  secondaryAuthentication: CKF_SECONDARY_AUTHENTICATION,
  userPinCountLow: CKF_USER_PIN_COUNT_LOW,
  userPinFinalTry: CKF_USER_PIN_FINAL_TRY,
  userPinLocked: CKF_USER_PIN_LOCKED,
  userPinToBeChanged: CKF_USER_PIN_TO_BE_CHANGED,
  soPinCountLow: CKF_SO_PIN_COUNT_LOW,
  soPinFinalTry: CKF_SO_PIN_FINAL_TRY,
  soPinLocked: CKF_SO_PIN_LOCKED,
  soPinToBeChanged: CKF_SO_PIN_TO_BE_CHANGED,
  errorState: CKF_ERROR_STATE,
} as const;
export type TokenFlags = { readonly [N in keyof typeof TOKEN_FLAGS]: boolean };

export function decodeFlags(bits: number): TokenFlags {
  return Object.fromEntries(
    Object.entries(TOKEN_FLAGS).map(([name, bit]) => [name, (bits & bit) !== 0]),
  ) as unknown as TokenFlags;
}

/** The name of `code` in `table`, or the code itself when the table has no name for it. */
export function nameOf<T extends Readonly<Record<string, number>>>(table: T, code: number): keyof T | number {
  for (const [name, value] of Object.entries(table)) if (value === code) return name;
  return code;
}
