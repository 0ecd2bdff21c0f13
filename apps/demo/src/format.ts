// Turning PKCS#11 numbers, flags and byte strings into text a person can read.
import {
  attributeKind, ckaName, ckkName, ckmName, ckoName, ckrName, isPkcs11Error,
  CKA_CLASS, CKA_KEY_GEN_MECHANISM, CKA_KEY_TYPE, CKA_CERTIFICATE_TYPE, CKA_ALLOWED_MECHANISMS,
  CKF_CLOCK_ON_TOKEN, CKF_DUAL_CRYPTO_OPERATIONS, CKF_ERROR_STATE, CKF_HW_SLOT, CKF_LOGIN_REQUIRED,
  CKF_PROTECTED_AUTHENTICATION_PATH, CKF_REMOVABLE_DEVICE, CKF_RESTORE_KEY_NOT_NEEDED, CKF_RNG, CKF_RW_SESSION,
  CKF_SECONDARY_AUTHENTICATION, CKF_SERIAL_SESSION, CKF_SO_PIN_COUNT_LOW, CKF_SO_PIN_FINAL_TRY, CKF_SO_PIN_LOCKED,
  CKF_SO_PIN_TO_BE_CHANGED, CKF_TOKEN_INITIALIZED, CKF_TOKEN_PRESENT, CKF_USER_PIN_COUNT_LOW,
  CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_INITIALIZED, CKF_USER_PIN_LOCKED, CKF_USER_PIN_TO_BE_CHANGED,
  CKF_WRITE_PROTECTED, CKF_ENCRYPT, CKF_DECRYPT, CKF_DIGEST, CKF_SIGN, CKF_VERIFY, CKF_GENERATE,
  CKF_GENERATE_KEY_PAIR, CKF_WRAP, CKF_UNWRAP, CKF_DERIVE, CKR_GENERAL_ERROR,
} from '@vhsm/pkcs11';
import type { AttributeValue } from '@vhsm/pkcs11';

export type FlagTable = readonly (readonly [number, string])[];

export const SLOT_FLAGS: FlagTable = [
  [CKF_TOKEN_PRESENT, 'TOKEN_PRESENT'], [CKF_REMOVABLE_DEVICE, 'REMOVABLE_DEVICE'], [CKF_HW_SLOT, 'HW_SLOT'],
];
export const TOKEN_FLAGS: FlagTable = [
  [CKF_RNG, 'RNG'], [CKF_WRITE_PROTECTED, 'WRITE_PROTECTED'], [CKF_LOGIN_REQUIRED, 'LOGIN_REQUIRED'],
  [CKF_USER_PIN_INITIALIZED, 'USER_PIN_INITIALIZED'], [CKF_RESTORE_KEY_NOT_NEEDED, 'RESTORE_KEY_NOT_NEEDED'],
  [CKF_CLOCK_ON_TOKEN, 'CLOCK_ON_TOKEN'], [CKF_PROTECTED_AUTHENTICATION_PATH, 'PROTECTED_AUTHENTICATION_PATH'],
  [CKF_DUAL_CRYPTO_OPERATIONS, 'DUAL_CRYPTO_OPERATIONS'], [CKF_TOKEN_INITIALIZED, 'TOKEN_INITIALIZED'],
  [CKF_SECONDARY_AUTHENTICATION, 'SECONDARY_AUTHENTICATION'], [CKF_USER_PIN_COUNT_LOW, 'USER_PIN_COUNT_LOW'],
  [CKF_USER_PIN_FINAL_TRY, 'USER_PIN_FINAL_TRY'], [CKF_USER_PIN_LOCKED, 'USER_PIN_LOCKED'],
  [CKF_USER_PIN_TO_BE_CHANGED, 'USER_PIN_TO_BE_CHANGED'], [CKF_SO_PIN_COUNT_LOW, 'SO_PIN_COUNT_LOW'],
  [CKF_SO_PIN_FINAL_TRY, 'SO_PIN_FINAL_TRY'], [CKF_SO_PIN_LOCKED, 'SO_PIN_LOCKED'],
  [CKF_SO_PIN_TO_BE_CHANGED, 'SO_PIN_TO_BE_CHANGED'], [CKF_ERROR_STATE, 'ERROR_STATE'],
];
export const SESSION_FLAGS: FlagTable = [[CKF_RW_SESSION, 'RW'], [CKF_SERIAL_SESSION, 'SERIAL']];
export const MECHANISM_FLAGS: FlagTable = [
  [CKF_ENCRYPT, 'encrypt'], [CKF_DECRYPT, 'decrypt'], [CKF_DIGEST, 'digest'], [CKF_SIGN, 'sign'], [CKF_VERIFY, 'verify'],
  [CKF_GENERATE, 'generate'], [CKF_GENERATE_KEY_PAIR, 'generate pair'], [CKF_WRAP, 'wrap'], [CKF_UNWRAP, 'unwrap'],
  [CKF_DERIVE, 'derive'],
];

/** Names of the set bits, `CKF_` prefix omitted. */
export function flagNames(flags: number, table: FlagTable): string[] {
  return table.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error('expected an even number of hex digits');
  return Uint8Array.from(clean.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

export function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function pem(label: string, der: Uint8Array): string {
  const lines = base64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----`;
}

/** An attribute value as text: names for class, key type and mechanisms; hex for bytes. */
export function formatAttribute(type: number, value: AttributeValue | undefined): string {
  if (value === undefined) return '';
  if (type === CKA_CLASS && typeof value === 'number') return ckoName(value);
  if (type === CKA_KEY_TYPE && typeof value === 'number') return ckkName(value);
  if (type === CKA_KEY_GEN_MECHANISM && typeof value === 'number') return ckmName(value);
  if (type === CKA_CERTIFICATE_TYPE && typeof value === 'number') return value === 0 ? 'CKC_X_509' : String(value);
  if (type === CKA_ALLOWED_MECHANISMS && Array.isArray(value)) return (value as number[]).map(ckmName).join(', ') || '(any)';
  if (value instanceof Uint8Array) {
    if (attributeKind(type) === 'date') return new TextDecoder().decode(value) || '(empty)';
    return value.length === 0 ? '(empty)' : hex(value);
  }
  if (Array.isArray(value)) {
    return value.length === 0 ? '(none)' : value.map((a) => (typeof a === 'number' ? ckmName(a) : `${ckaName(a.type)}=${formatAttribute(a.type, a.value)}`)).join(', ');
  }
  if (typeof value === 'number') return `${value} (0x${value.toString(16)})`;
  return String(value);
}

/** The CK_RV name of a failure, or the message of anything else. */
export function rvOf(error: unknown): string {
  if (isPkcs11Error(error)) return ckrName(error.code);
  return error instanceof Error ? error.message : String(error);
}

export function codeOf(error: unknown): number {
  return isPkcs11Error(error) ? error.code : CKR_GENERAL_ERROR;
}

