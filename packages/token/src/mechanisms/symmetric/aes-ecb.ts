/**
 * CKM_AES_ECB (data a multiple of 16 bytes), emulated exactly from WebCrypto AES-CBC single-block
 * operations on the non-extractable key. No wrap/unwrap: ECB over a multi-block key value cannot be
 * had from WebCrypto's chained wrapKey without the key's bytes.
 */
import {
  CKF_DECRYPT,
  CKF_ENCRYPT,
  CKM_AES_ECB,
  CKR_DATA_LEN_RANGE,
  CKR_ENCRYPTED_DATA_LEN_RANGE,
} from '@vhsm/pkcs11';
import { concat } from '../../bytes.js';
import { ckr } from '../../errors.js';
import type { CipherOperation, MechanismProvider } from '../types.js';
import { AES_KEY_TYPES, AES_MAX_BYTES, AES_MIN_BYTES } from './aes.js';
import { AesBlocks } from './blocks.js';
import { AES_BLOCK, anone } from './util.js';

function ecbOperation(run: (data: Uint8Array) => Promise<Uint8Array>, lengthError: number): CipherOperation {
  let pending: Uint8Array = new Uint8Array(0);
  return {
    async update(data) {
      const all = concat([pending, data]);
      const whole = all.length - (all.length % AES_BLOCK);
      pending = all.slice(whole);
      return run(all.subarray(0, whole));
    },
    async final() {
      if (pending.length !== 0) throw ckr(lengthError, 'data: not a multiple of 16 bytes');
      return new Uint8Array(0);
    },
  };
}

export const aesEcb: MechanismProvider<undefined> = {
  mechanism: CKM_AES_ECB,
  info: { minKeySize: AES_MIN_BYTES, maxKeySize: AES_MAX_BYTES, flags: CKF_ENCRYPT | CKF_DECRYPT },
  keyTypes: AES_KEY_TYPES,
  async probe(crypto) {
    const key = await crypto.subtle.generateKey({ name: 'AES-CBC', length: 128 }, false, ['encrypt', 'decrypt']);
    const blocks = new AesBlocks(crypto, key);
    const data = new Uint8Array(32).fill(7);
    const back = await blocks.ecbDecrypt(await blocks.ecbEncrypt(data));
    return back.every((b) => b === 7);
  },
  check: (parameter) => anone(parameter, 'CKM_AES_ECB parameter'),
  async encrypt(key, _parameter, crypto) {
    const blocks = new AesBlocks(crypto, await key.cryptoKey({ name: 'AES-CBC' }, ['encrypt', 'decrypt']));
    return ecbOperation((d) => blocks.ecbEncrypt(d), CKR_DATA_LEN_RANGE);
  },
  async decrypt(key, _parameter, crypto) {
    const blocks = new AesBlocks(crypto, await key.cryptoKey({ name: 'AES-CBC' }, ['encrypt', 'decrypt']));
    return ecbOperation((d) => blocks.ecbDecrypt(d), CKR_ENCRYPTED_DATA_LEN_RANGE);
  },
};
