/**
 * CKM_AES_CBC (no padding; data a multiple of 16 bytes), emulated exactly from WebCrypto AES-CBC on
 * the non-extractable key. Wrap/unwrap too, for keys whose encoding is a whole number of blocks:
 * PKCS#11 zero-pads other lengths, which WebCrypto (PKCS#7 only) cannot reproduce.
 */
import {
  CKF_DECRYPT,
  CKF_ENCRYPT,
  CKF_UNWRAP,
  CKF_WRAP,
  CKM_AES_CBC,
  CKR_DATA_LEN_RANGE,
  CKR_ENCRYPTED_DATA_LEN_RANGE,
  CKR_FUNCTION_FAILED,
  CKR_KEY_SIZE_RANGE,
  CKR_WRAPPED_KEY_INVALID,
} from '@vhsm/pkcs11';
import { concat } from '../../bytes.js';
import { ckr } from '../../errors.js';
import type { MechanismProvider } from '../types.js';
import { AES_KEY_TYPES, AES_MAX_BYTES, AES_MIN_BYTES, requestedClass } from './aes.js';
import { checkIv } from './aes-cbc-pad.js';
import { AesBlocks, CbcStream, FULL_PAD } from './blocks.js';
import { unwrapAs, wrappableKey } from './keys.js';
import { AES_BLOCK, mapFailure } from './util.js';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export const aesCbc: MechanismProvider<Uint8Array<ArrayBuffer>> = {
  mechanism: CKM_AES_CBC,
  info: { minKeySize: AES_MIN_BYTES, maxKeySize: AES_MAX_BYTES, flags: CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP },
  keyTypes: AES_KEY_TYPES,
  async probe(crypto) {
    const key = await crypto.subtle.generateKey({ name: 'AES-CBC', length: 128 }, false, ['encrypt', 'decrypt']);
    const blocks = new AesBlocks(crypto, key);
    const iv = new Uint8Array(16);
    const ct = await blocks.cbcEncrypt(iv, FULL_PAD);
    return sameBytes(await blocks.cbcDecrypt(iv, ct), FULL_PAD);
  },
  check: checkIv,
  async encrypt(key, iv, crypto) {
    const stream = new CbcStream(new AesBlocks(crypto, await key.cryptoKey({ name: 'AES-CBC' }, ['encrypt', 'decrypt'])), iv, 'encrypt');
    return {
      update: (data) => stream.update(data),
      async final() {
        if (stream.pending.length !== 0) throw ckr(CKR_DATA_LEN_RANGE, 'data: not a multiple of 16 bytes');
        return new Uint8Array(0);
      },
    };
  },
  async decrypt(key, iv, crypto) {
    const stream = new CbcStream(new AesBlocks(crypto, await key.cryptoKey({ name: 'AES-CBC' }, ['encrypt', 'decrypt'])), iv, 'decrypt');
    return {
      update: (data) => stream.update(data),
      async final() {
        if (stream.pending.length !== 0) throw ckr(CKR_ENCRYPTED_DATA_LEN_RANGE, 'data: not a multiple of 16 bytes');
        return new Uint8Array(0);
      },
    };
  },
  async wrap(wrappingKey, key, iv, crypto) {
    const wk = await wrappingKey.cryptoKey({ name: 'AES-CBC' }, ['wrapKey', 'encrypt', 'decrypt']);
    const target = await wrappableKey(key);
    const padded = new Uint8Array(
      await mapFailure(CKR_FUNCTION_FAILED, 'AES-CBC wrapping failed', () =>
        crypto.subtle.wrapKey(target.format, target.key, wk, { name: 'AES-CBC', iv }),
      ),
    );
    // The encoding was whole blocks exactly when WebCrypto appended a full padding block, E(0x10…10 ⊕ Cn-1).
    const body = padded.subarray(0, padded.length - AES_BLOCK);
    const chain = body.length > 0 ? body.subarray(body.length - AES_BLOCK) : iv;
    const fullPad = await new AesBlocks(crypto, wk).cbcEncrypt(chain, FULL_PAD);
    if (body.length === 0 || !sameBytes(fullPad, padded.subarray(body.length))) {
      throw ckr(CKR_KEY_SIZE_RANGE, 'key: its encoding is not a multiple of 16 bytes (CKM_AES_CBC_PAD can wrap it)');
    }
    return body.slice();
  },
  async unwrap(unwrappingKey, wrapped, request, iv, crypto) {
    const uk = await unwrappingKey.cryptoKey({ name: 'AES-CBC' }, ['unwrapKey', 'encrypt']);
    if (wrapped.length === 0 || wrapped.length % AES_BLOCK !== 0) {
      throw ckr(CKR_WRAPPED_KEY_INVALID, 'wrapped key: cannot be unwrapped');
    }
    // Append the block that decrypts to a full PKCS#7 pad, so WebCrypto's unwrap strips exactly it.
    const padBlock = await new AesBlocks(crypto, uk).cbcEncrypt(wrapped.subarray(wrapped.length - AES_BLOCK), FULL_PAD);
    const data = concat([wrapped, padBlock]);
    return unwrapAs(request, requestedClass(request), (format, algorithm, usages) =>
      crypto.subtle.unwrapKey(format, data, uk, { name: 'AES-CBC', iv }, algorithm, true, usages),
    );
  },
};
