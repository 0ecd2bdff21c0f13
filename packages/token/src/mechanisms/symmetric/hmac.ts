/**
 * CKM_SHA_1_HMAC, CKM_SHA256_HMAC, CKM_SHA384_HMAC, CKM_SHA512_HMAC sign/verify on WebCrypto HMAC
 * (verify is WebCrypto's, which compares in constant time). Multi-part buffers: WebCrypto HMAC is
 * one-shot. CKM_SHA224_HMAC is absent: WebCrypto has no SHA-224 and the key cannot leave it.
 */
import {
  CKF_SIGN,
  CKF_VERIFY,
  CKK_GENERIC_SECRET,
  CKK_SHA256_HMAC,
  CKK_SHA384_HMAC,
  CKK_SHA512_HMAC,
  CKK_SHA_1_HMAC,
  CKM_SHA256_HMAC,
  CKM_SHA384_HMAC,
  CKM_SHA512_HMAC,
  CKM_SHA_1_HMAC,
  CKR_FUNCTION_FAILED,
} from '@vhsm/pkcs11';
import { own } from '../../bytes.js';
import type { MechanismProvider, SignOperation, VerifyOperation } from '../types.js';
import { GENERIC_MAX_BYTES } from './keys.js';
import { Buffered, anone, mapFailure } from './util.js';

function hmac(mechanism: number, keyType: number, hash: string): MechanismProvider<undefined> {
  const algorithm: HmacImportParams = { name: 'HMAC', hash };
  return {
    mechanism,
    info: { minKeySize: 1, maxKeySize: GENERIC_MAX_BYTES, flags: CKF_SIGN | CKF_VERIFY },
    keyTypes: [CKK_GENERIC_SECRET, keyType],
    async probe(crypto) {
      const key = await crypto.subtle.importKey('raw', new Uint8Array(32), algorithm, false, ['sign']);
      await crypto.subtle.sign('HMAC', key, new Uint8Array(1));
      return true;
    },
    check: (parameter) => anone(parameter, `HMAC ${hash} parameter`),
    async sign(key, _parameter, crypto): Promise<SignOperation> {
      const k = await key.cryptoKey(algorithm, ['sign']);
      const input = new Buffered();
      return {
        update: async (data) => input.push(data),
        final: async () =>
          new Uint8Array(
            await mapFailure(CKR_FUNCTION_FAILED, `HMAC ${hash} failed`, () => crypto.subtle.sign('HMAC', k, input.take())),
          ),
      };
    },
    async verify(key, _parameter, crypto): Promise<VerifyOperation> {
      const k = await key.cryptoKey(algorithm, ['verify']);
      const input = new Buffered();
      return {
        update: async (data) => input.push(data),
        // A signature of the wrong length simply does not verify (CKR_SIGNATURE_LEN_RANGE → false).
        final: async (signature) =>
          mapFailure(CKR_FUNCTION_FAILED, `HMAC ${hash} verification failed`, () =>
            crypto.subtle.verify('HMAC', k, own(signature), input.take()),
          ),
      };
    },
  };
}

export const hmacProviders: MechanismProvider<undefined>[] = [
  hmac(CKM_SHA_1_HMAC, CKK_SHA_1_HMAC, 'SHA-1'),
  hmac(CKM_SHA256_HMAC, CKK_SHA256_HMAC, 'SHA-256'),
  hmac(CKM_SHA384_HMAC, CKK_SHA384_HMAC, 'SHA-384'),
  hmac(CKM_SHA512_HMAC, CKK_SHA512_HMAC, 'SHA-512'),
];
