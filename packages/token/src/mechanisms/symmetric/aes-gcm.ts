/**
 * CKM_AES_GCM: encrypt/decrypt (output ciphertext‖tag, as WebCrypto and PKCS#11) and wrap/unwrap.
 * WebCrypto has no streaming GCM, so multi-part buffers and does the work in final.
 */
import {
  CKF_DECRYPT,
  CKF_ENCRYPT,
  CKF_UNWRAP,
  CKF_WRAP,
  CKM_AES_GCM,
  CKR_ENCRYPTED_DATA_INVALID,
  CKR_ENCRYPTED_DATA_LEN_RANGE,
  CKR_FUNCTION_FAILED,
  CKR_MECHANISM_PARAM_INVALID,
  CKR_WRAPPED_KEY_INVALID,
} from '@vhsm/pkcs11';
import { own } from '../../bytes.js';
import { ckr } from '../../errors.js';
import type { MechanismProvider } from '../types.js';
import { AES_KEY_TYPES, AES_MAX_BYTES, AES_MIN_BYTES, requestedClass } from './aes.js';
import { unwrapAs, wrappableKey } from './keys.js';
import { abytes, anumber, aobject, mapFailure, oneShot } from './util.js';

/** Tag lengths WebCrypto accepts (PKCS#11 allows any 0..128; the others cannot be honoured). */
export const GCM_TAG_BITS = [32, 64, 96, 104, 112, 120, 128] as const;

export interface GcmCheckedParams {
  webcrypto: AesGcmParams;
  tagBytes: number;
}

/**
 * IVs shorter than 96 bits are refused everywhere: Node's WebCrypto cannot do them (others can), and
 * one answer on every runtime beats a mechanism whose IV rules change with the platform.
 */
export const GCM_MIN_IV_BYTES = 12;

/** Longer IVs buy nothing (they are hashed down to 96 bits) and some runtimes fail on huge ones. */
export const GCM_MAX_IV_BYTES = 256;

export function checkGcmParams(parameter: unknown): GcmCheckedParams {
  const p = aobject(parameter, 'CK_GCM_PARAMS');
  const iv = abytes(p['iv'], 'iv', { min: GCM_MIN_IV_BYTES, max: GCM_MAX_IV_BYTES });
  const aad = p['aad'] === undefined || p['aad'] === null ? undefined : abytes(p['aad'], 'aad');
  const tagBits = p['tagBits'] === undefined ? 128 : anumber(p['tagBits'], 'tagBits');
  if (!(GCM_TAG_BITS as readonly number[]).includes(tagBits)) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `tagBits: expected one of ${GCM_TAG_BITS.join(', ')}, got ${tagBits}`);
  }
  const webcrypto: AesGcmParams = { name: 'AES-GCM', iv: own(iv), tagLength: tagBits };
  if (aad !== undefined) webcrypto.additionalData = own(aad);
  return { webcrypto, tagBytes: tagBits / 8 };
}

export const aesGcm: MechanismProvider<GcmCheckedParams> = {
  mechanism: CKM_AES_GCM,
  info: { minKeySize: AES_MIN_BYTES, maxKeySize: AES_MAX_BYTES, flags: CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP },
  keyTypes: AES_KEY_TYPES,
  async probe(crypto) {
    const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 128 }, false, ['encrypt']);
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, key, new Uint8Array(1));
    return true;
  },
  check: checkGcmParams,
  async encrypt(key, parameter, crypto) {
    const k = await key.cryptoKey({ name: 'AES-GCM' }, ['encrypt']);
    return oneShot(async (data) =>
      new Uint8Array(
        await mapFailure(CKR_FUNCTION_FAILED, 'AES-GCM encryption failed', () => crypto.subtle.encrypt(parameter.webcrypto, k, data)),
      ));
  },
  async decrypt(key, parameter, crypto) {
    const k = await key.cryptoKey({ name: 'AES-GCM' }, ['decrypt']);
    return oneShot(async (data) => {
      if (data.length < parameter.tagBytes) {
        throw ckr(CKR_ENCRYPTED_DATA_LEN_RANGE, `data: shorter than the ${parameter.tagBytes}-byte tag`);
      }
      return new Uint8Array(
        await mapFailure(CKR_ENCRYPTED_DATA_INVALID, 'data: authentication tag does not match', () =>
          crypto.subtle.decrypt(parameter.webcrypto, k, data),
        ),
      );
    });
  },
  async wrap(wrappingKey, key, parameter, crypto) {
    const wk = await wrappingKey.cryptoKey({ name: 'AES-GCM' }, ['wrapKey']);
    const target = await wrappableKey(key);
    return new Uint8Array(
      await mapFailure(CKR_FUNCTION_FAILED, 'AES-GCM wrapping failed', () =>
        crypto.subtle.wrapKey(target.format, target.key, wk, parameter.webcrypto),
      ),
    );
  },
  async unwrap(unwrappingKey, wrapped, request, parameter, crypto) {
    const uk = await unwrappingKey.cryptoKey({ name: 'AES-GCM' }, ['unwrapKey']);
    if (wrapped.length < parameter.tagBytes) throw ckr(CKR_WRAPPED_KEY_INVALID, 'wrapped key: cannot be unwrapped');
    return unwrapAs(request, requestedClass(request), (format, algorithm, usages) =>
      crypto.subtle.unwrapKey(format, own(wrapped), uk, parameter.webcrypto, algorithm, true, usages),
    );
  },
};
