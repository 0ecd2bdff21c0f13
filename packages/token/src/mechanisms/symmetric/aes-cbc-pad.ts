/**
 * CKM_AES_CBC_PAD: WebCrypto AES-CBC (PKCS#7 padding), also for wrap/unwrap. Multi-part emits whole
 * blocks as they come and keeps the chaining block; decryption holds back the last block, which
 * carries the padding, until final.
 */
import {
  CKF_DECRYPT,
  CKF_ENCRYPT,
  CKF_UNWRAP,
  CKF_WRAP,
  CKM_AES_CBC_PAD,
  CKR_ENCRYPTED_DATA_INVALID,
  CKR_ENCRYPTED_DATA_LEN_RANGE,
  CKR_FUNCTION_FAILED,
} from '@vhsm/pkcs11';
import { ckr } from '../../errors.js';
import type { MechanismProvider } from '../types.js';
import { AES_KEY_TYPES, AES_MAX_BYTES, AES_MIN_BYTES, requestedClass } from './aes.js';
import { AesBlocks } from './blocks.js';
import { unwrapAs, wrappableKey } from './keys.js';
import { AES_BLOCK, abytes, concat, mapFailure, own } from './util.js';

export function checkIv(parameter: unknown): Uint8Array<ArrayBuffer> {
  return own(abytes(parameter, 'iv', { lengths: [AES_BLOCK] }));
}

export const aesCbcPad: MechanismProvider<Uint8Array<ArrayBuffer>> = {
  mechanism: CKM_AES_CBC_PAD,
  info: { minKeySize: AES_MIN_BYTES, maxKeySize: AES_MAX_BYTES, flags: CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP },
  keyTypes: AES_KEY_TYPES,
  async probe(crypto) {
    const key = await crypto.subtle.generateKey({ name: 'AES-CBC', length: 128 }, false, ['encrypt']);
    await crypto.subtle.encrypt({ name: 'AES-CBC', iv: new Uint8Array(16) }, key, new Uint8Array(1));
    return true;
  },
  check: checkIv,
  async encrypt(key, iv, crypto) {
    const k = await key.cryptoKey({ name: 'AES-CBC' }, ['encrypt', 'decrypt']);
    const blocks = new AesBlocks(crypto, k);
    let chain: Uint8Array = iv;
    let pending: Uint8Array = new Uint8Array(0);
    return {
      async update(data) {
        const all = concat(pending, data);
        const whole = all.length - (all.length % AES_BLOCK);
        const out = await blocks.cbcEncrypt(chain, all.subarray(0, whole));
        if (whole > 0) chain = out.slice(whole - AES_BLOCK);
        pending = all.slice(whole);
        return out;
      },
      async final() {
        const last = await mapFailure(CKR_FUNCTION_FAILED, 'AES-CBC encryption failed', () =>
          crypto.subtle.encrypt({ name: 'AES-CBC', iv: own(chain) }, k, own(pending)),
        );
        pending = new Uint8Array(0);
        return new Uint8Array(last);
      },
    };
  },
  async decrypt(key, iv, crypto) {
    const k = await key.cryptoKey({ name: 'AES-CBC' }, ['encrypt', 'decrypt']);
    const blocks = new AesBlocks(crypto, k);
    let chain: Uint8Array = iv;
    let pending: Uint8Array = new Uint8Array(0);
    return {
      async update(data) {
        const all = concat(pending, data);
        // Keep at least one block back: it may be the padding block.
        const whole = Math.max(0, all.length - (all.length % AES_BLOCK || AES_BLOCK));
        const out = await blocks.cbcDecrypt(chain, all.subarray(0, whole));
        if (whole > 0) chain = all.slice(whole - AES_BLOCK, whole);
        pending = all.slice(whole);
        return out;
      },
      async final() {
        if (pending.length !== AES_BLOCK) {
          throw ckr(CKR_ENCRYPTED_DATA_LEN_RANGE, 'data: not a positive multiple of 16 bytes');
        }
        const last = await mapFailure(CKR_ENCRYPTED_DATA_INVALID, 'data: invalid padding', () =>
          crypto.subtle.decrypt({ name: 'AES-CBC', iv: own(chain) }, k, own(pending)),
        );
        pending = new Uint8Array(0);
        return new Uint8Array(last);
      },
    };
  },
  async wrap(wrappingKey, key, iv, crypto) {
    const wk = await wrappingKey.cryptoKey({ name: 'AES-CBC' }, ['wrapKey']);
    const target = await wrappableKey(key);
    return new Uint8Array(
      await mapFailure(CKR_FUNCTION_FAILED, 'AES-CBC wrapping failed', () =>
        crypto.subtle.wrapKey(target.format, target.key, wk, { name: 'AES-CBC', iv }),
      ),
    );
  },
  async unwrap(unwrappingKey, wrapped, request, iv, crypto) {
    const uk = await unwrappingKey.cryptoKey({ name: 'AES-CBC' }, ['unwrapKey']);
    return unwrapAs(request, requestedClass(request), (format, algorithm, usages) =>
      crypto.subtle.unwrapKey(format, own(wrapped), uk, { name: 'AES-CBC', iv }, algorithm, true, usages),
    );
  },
};
