/** Hash choices shared by the KDFs, and the derive step into a new extractable secret key. */
import { CKR_TEMPLATE_INCONSISTENT } from '@vhsm/pkcs11';
import { ckr } from '../../errors.js';
import type { KeyRequest, NewKeyMaterial } from '../types.js';
import { requiredSecretLength, secretCarrier, secretTarget, valueLenAttributes } from './keys.js';
import { mapFailure } from './util.js';

export const HASH_BYTES: Record<string, number> = { 'SHA-1': 20, 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 };

/**
 * deriveKey into the secret key the template asks for (CKA_KEY_TYPE, CKA_VALUE_LEN), extractable so
 * the engine can seal it. `maxBytes` is the KDF's own output limit.
 */
export async function deriveSecret(
  crypto: Crypto,
  request: KeyRequest,
  algorithm: HkdfParams | Pbkdf2Params,
  base: CryptoKey,
  maxBytes: number,
  generatedBy?: number,
): Promise<NewKeyMaterial> {
  const len = requiredSecretLength(request);
  if (len > maxBytes) {
    throw ckr(CKR_TEMPLATE_INCONSISTENT, `CKA_VALUE_LEN: at most ${maxBytes} bytes from this KDF, got ${len}`);
  }
  const key = await mapFailure(CKR_TEMPLATE_INCONSISTENT, `CKA_VALUE_LEN: ${len} bytes cannot be derived here`, () =>
    crypto.subtle.deriveKey(algorithm, base, secretTarget(request.keyType, len), true, secretCarrier(request.keyType).usages),
  );
  return { key, format: 'raw', attributes: valueLenAttributes(key, generatedBy) };
}
