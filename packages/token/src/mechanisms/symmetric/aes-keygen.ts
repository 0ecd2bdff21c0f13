/** CKM_AES_KEY_GEN: random AES keys of 16, 24 or 32 bytes, generated inside WebCrypto. */
import { CKF_GENERATE, CKK_AES, CKM_AES_KEY_GEN, CKR_TEMPLATE_INCONSISTENT } from '@vhsm/pkcs11';
import { ckr } from '../../errors.js';
import type { MechanismProvider } from '../types.js';
import { AES_MAX_BYTES, AES_MIN_BYTES } from './aes.js';
import { generateSecret, requiredSecretLength } from './keys.js';
import { anone } from './util.js';

export const aesKeyGen: MechanismProvider<undefined> = {
  mechanism: CKM_AES_KEY_GEN,
  info: { minKeySize: AES_MIN_BYTES, maxKeySize: AES_MAX_BYTES, flags: CKF_GENERATE },
  async probe(crypto) {
    await crypto.subtle.generateKey({ name: 'AES-GCM', length: 128 }, true, ['encrypt']);
    return true;
  },
  check: (parameter) => anone(parameter, 'CKM_AES_KEY_GEN parameter'),
  async generateKey(request, _parameter, crypto) {
    if (request.keyType !== CKK_AES) {
      throw ckr(CKR_TEMPLATE_INCONSISTENT, 'CKA_KEY_TYPE: CKM_AES_KEY_GEN makes CKK_AES keys');
    }
    // AES-192 is missing from some runtimes (Chromium): generateSecret answers CKR_KEY_SIZE_RANGE there.
    return generateSecret(crypto, CKK_AES, requiredSecretLength(request), CKM_AES_KEY_GEN);
  },
};
