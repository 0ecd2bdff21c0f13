/** What every AES provider shares: key types, sizes, how to read the template's class. */
import { CKA_CLASS, CKK_AES, CKO_SECRET_KEY } from '@vhsm/pkcs11';
import type { KeyRequest } from '../types.js';

export const AES_KEY_TYPES = [CKK_AES] as const;
export const AES_MIN_BYTES = 16;
export const AES_MAX_BYTES = 32;

/** The class of the key an unwrap creates, read from the template (secret key when absent). */
export function requestedClass(request: KeyRequest): number {
  const v = request.attributes.get(CKA_CLASS);
  return typeof v === 'number' ? v : CKO_SECRET_KEY;
}
