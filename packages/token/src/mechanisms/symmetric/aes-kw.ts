/**
 * CKM_AES_KEY_WRAP: RFC 3394 with its default IV, through WebCrypto AES-KW. Besides wrap/unwrap it
 * encrypts/decrypts data exactly: the caller's data goes through wrapKey/unwrapKey as a raw HMAC
 * key (data the caller supplied or may read anyway, so no key material enters JavaScript).
 */
import {
  CKF_DECRYPT,
  CKF_ENCRYPT,
  CKF_UNWRAP,
  CKF_WRAP,
  CKM_AES_KEY_WRAP,
  CKR_DATA_LEN_RANGE,
  CKR_ENCRYPTED_DATA_INVALID,
  CKR_ENCRYPTED_DATA_LEN_RANGE,
  CKR_FUNCTION_FAILED,
  CKR_KEY_SIZE_RANGE,
  CKR_MECHANISM_PARAM_INVALID,
  CKR_WRAPPED_KEY_LEN_RANGE,
} from '@vhsm/pkcs11';
import { own } from '../../bytes.js';
import { ckr } from '../../errors.js';
import type { MechanismProvider } from '../types.js';
import { AES_KEY_TYPES, AES_MAX_BYTES, AES_MIN_BYTES, requestedClass } from './aes.js';
import { unwrapAs, wrappableKey } from './keys.js';
import { abytes, mapFailure, oneShot } from './util.js';

const DEFAULT_IV = 0xa6;
const SEMIBLOCK = 8;
const DATA_CARRIER: HmacImportParams = { name: 'HMAC', hash: 'SHA-256' };

/** No parameter, or RFC 3394's default IV A6A6A6A6A6A6A6A6 (WebCrypto has no other). */
export function checkKwParams(parameter: unknown): undefined {
  if (parameter === undefined || parameter === null) return undefined;
  const iv = abytes(parameter, 'iv', { lengths: [0, SEMIBLOCK] });
  if (iv.some((b) => b !== DEFAULT_IV)) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, 'iv: only the RFC 3394 default IV is supported');
  }
  return undefined;
}

export const aesKeyWrap: MechanismProvider<undefined> = {
  singlePart: true,
  mechanism: CKM_AES_KEY_WRAP,
  info: { minKeySize: AES_MIN_BYTES, maxKeySize: AES_MAX_BYTES, flags: CKF_WRAP | CKF_UNWRAP | CKF_ENCRYPT | CKF_DECRYPT },
  keyTypes: AES_KEY_TYPES,
  async probe(crypto) {
    const kek = await crypto.subtle.generateKey({ name: 'AES-KW', length: 128 }, false, ['wrapKey']);
    const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 128 }, true, ['encrypt']);
    await crypto.subtle.wrapKey('raw', key, kek, 'AES-KW');
    return true;
  },
  check: checkKwParams,
  async encrypt(key, _parameter, crypto) {
    const kek = await key.cryptoKey({ name: 'AES-KW' }, ['wrapKey']);
    return oneShot(async (data) => {
      if (data.length < 2 * SEMIBLOCK || data.length % SEMIBLOCK !== 0) {
        throw ckr(CKR_DATA_LEN_RANGE, `data: expected a multiple of 8 bytes, at least 16, got ${data.length}`);
      }
      return new Uint8Array(
        await mapFailure(CKR_FUNCTION_FAILED, 'AES-KW encryption failed', async () => {
          const carrier = await crypto.subtle.importKey('raw', data, DATA_CARRIER, true, ['sign']);
          return crypto.subtle.wrapKey('raw', carrier, kek, 'AES-KW');
        }),
      );
    });
  },
  async decrypt(key, _parameter, crypto) {
    const kek = await key.cryptoKey({ name: 'AES-KW' }, ['unwrapKey']);
    return oneShot(async (data) => {
      if (data.length < 3 * SEMIBLOCK || data.length % SEMIBLOCK !== 0) {
        throw ckr(CKR_ENCRYPTED_DATA_LEN_RANGE, `data: expected a multiple of 8 bytes, at least 24, got ${data.length}`);
      }
      const carrier = await mapFailure(CKR_ENCRYPTED_DATA_INVALID, 'data: integrity check failed', () =>
        crypto.subtle.unwrapKey('raw', data, kek, 'AES-KW', DATA_CARRIER, true, ['sign']),
      );
      return new Uint8Array(
        await mapFailure(CKR_FUNCTION_FAILED, 'AES-KW decryption failed', () => crypto.subtle.exportKey('raw', carrier)),
      );
    });
  },
  async wrap(wrappingKey, key, _parameter, crypto) {
    const kek = await wrappingKey.cryptoKey({ name: 'AES-KW' }, ['wrapKey']);
    const target = await wrappableKey(key);
    // RFC 3394 takes whole 8-byte semiblocks only; WebCrypto refuses anything else.
    return new Uint8Array(
      await mapFailure(CKR_KEY_SIZE_RANGE, 'key: its encoding is not a multiple of 8 bytes (at least 16)', () =>
        crypto.subtle.wrapKey(target.format, target.key, kek, 'AES-KW'),
      ),
    );
  },
  async unwrap(unwrappingKey, wrapped, request, _parameter, crypto) {
    const kek = await unwrappingKey.cryptoKey({ name: 'AES-KW' }, ['unwrapKey']);
    // The length is public: refusing it says nothing about the contents, so it has its own code.
    if (wrapped.length < 3 * SEMIBLOCK || wrapped.length % SEMIBLOCK !== 0) {
      throw ckr(CKR_WRAPPED_KEY_LEN_RANGE, `wrapped key: RFC 3394 output is 24 bytes or more, in 8-byte steps; got ${wrapped.length}`);
    }
    return unwrapAs(request, requestedClass(request), (format, algorithm, usages) =>
      crypto.subtle.unwrapKey(format, own(wrapped), kek, 'AES-KW', algorithm, true, usages),
    );
  },
};
