/**
 * CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384, CKM_SHA512 digests. WebCrypto digests in one shot, so
 * multi-part buffers; SHA-224, absent from WebCrypto, streams through the small JS implementation.
 */
import { CKF_DIGEST, CKM_SHA224, CKM_SHA256, CKM_SHA384, CKM_SHA512, CKM_SHA_1, CKR_FUNCTION_FAILED } from '@vhsm/pkcs11';
import type { DigestOperation, MechanismProvider } from '../types.js';
import { Sha224 } from './sha224.js';
import { Buffered, anone, mapFailure } from './util.js';

const INFO = { minKeySize: 0, maxKeySize: 0, flags: CKF_DIGEST };

function webCryptoDigest(mechanism: number, hash: string): MechanismProvider<undefined> {
  return {
    mechanism,
    info: INFO,
    async probe(crypto) {
      await crypto.subtle.digest(hash, new Uint8Array(0));
      return true;
    },
    check: (parameter) => anone(parameter, `${hash} digest parameter`),
    async digest(_parameter, crypto): Promise<DigestOperation> {
      const input = new Buffered();
      return {
        update: async (data) => input.push(data),
        final: async () =>
          new Uint8Array(
            await mapFailure(CKR_FUNCTION_FAILED, `${hash} digest failed`, () => crypto.subtle.digest(hash, input.take())),
          ),
      };
    },
  };
}

export const sha224Digest: MechanismProvider<undefined> = {
  mechanism: CKM_SHA224,
  info: INFO,
  check: (parameter) => anone(parameter, 'SHA-224 digest parameter'),
  async digest(): Promise<DigestOperation> {
    const h = new Sha224();
    return {
      update: async (data) => {
        h.update(data);
      },
      final: async () => h.digest(),
    };
  },
};

export const digestProviders: MechanismProvider<undefined>[] = [
  webCryptoDigest(CKM_SHA_1, 'SHA-1'),
  sha224Digest,
  webCryptoDigest(CKM_SHA256, 'SHA-256'),
  webCryptoDigest(CKM_SHA384, 'SHA-384'),
  webCryptoDigest(CKM_SHA512, 'SHA-512'),
];
