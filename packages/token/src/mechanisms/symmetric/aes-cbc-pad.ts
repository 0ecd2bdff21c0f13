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
import { own } from '../../bytes.js';
import { ckr } from '../../errors.js';
import type { MechanismProvider } from '../types.js';
import { AES_KEY_TYPES, AES_MAX_BYTES, AES_MIN_BYTES, requestedClass } from './aes.js';
import { AesBlocks, CbcStream } from './blocks.js';
import { unwrapAs, wrappableKey } from './keys.js';
import { AES_BLOCK, abytes, mapFailure } from './util.js';

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
    const stream = new CbcStream(new AesBlocks(crypto, k), iv, 'encrypt');
    return {
      update: (data) => stream.update(data),
      async final() {
        // WebCrypto pads what is left (possibly nothing) into the last block(s).
        const last = await mapFailure(CKR_FUNCTION_FAILED, 'AES-CBC encryption failed', () =>
          crypto.subtle.encrypt({ name: 'AES-CBC', iv: own(stream.chain) }, k, own(stream.pending)),
        );
        return new Uint8Array(last);
      },
    };
  },
  async decrypt(key, iv, crypto) {
    const k = await key.cryptoKey({ name: 'AES-CBC' }, ['encrypt', 'decrypt']);
    // The last block may be the padding block: it waits for final.
    const stream = new CbcStream(new AesBlocks(crypto, k), iv, 'decrypt', true);
    return {
      update: (data) => stream.update(data),
      async final() {
        if (stream.pending.length !== AES_BLOCK) {
          throw ckr(CKR_ENCRYPTED_DATA_LEN_RANGE, 'data: not a positive multiple of 16 bytes');
        }
        const last = await mapFailure(CKR_ENCRYPTED_DATA_INVALID, 'data: invalid padding', () =>
          crypto.subtle.decrypt({ name: 'AES-CBC', iv: own(stream.chain) }, k, own(stream.pending)),
        );
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
