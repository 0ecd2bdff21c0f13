/** CKM_GENERIC_SECRET_KEY_GEN: random generic secrets of CKA_VALUE_LEN bytes, generated inside WebCrypto. */
import {
  CKF_GENERATE,
  CKK_GENERIC_SECRET,
  CKM_GENERIC_SECRET_KEY_GEN,
  CKR_TEMPLATE_INCONSISTENT,
} from '@vhsm/pkcs11';
import { ckr } from '../../errors.js';
import type { MechanismProvider } from '../types.js';
import { GENERIC_MAX_BYTES, generateSecret, requiredSecretLength } from './keys.js';
import { anone } from './util.js';

export const genericSecretKeyGen: MechanismProvider<undefined> = {
  mechanism: CKM_GENERIC_SECRET_KEY_GEN,
  info: { minKeySize: 1, maxKeySize: GENERIC_MAX_BYTES, flags: CKF_GENERATE },
  async probe(crypto) {
    await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 256 }, true, ['sign']);
    return true;
  },
  check: (parameter) => anone(parameter, 'CKM_GENERIC_SECRET_KEY_GEN parameter'),
  async generateKey(request, _parameter, crypto) {
    if (request.keyType !== CKK_GENERIC_SECRET) {
      throw ckr(CKR_TEMPLATE_INCONSISTENT, 'CKA_KEY_TYPE: CKM_GENERIC_SECRET_KEY_GEN makes CKK_GENERIC_SECRET keys');
    }
    return generateSecret(crypto, CKK_GENERIC_SECRET, requiredSecretLength(request), CKM_GENERIC_SECRET_KEY_GEN);
  },
};
