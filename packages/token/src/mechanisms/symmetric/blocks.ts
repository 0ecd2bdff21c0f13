/**
 * Exact AES block primitives built from WebCrypto AES-CBC (which always pads) on a non-extractable
 * key: raw CBC without padding and ECB. Encrypting whole blocks with PKCS#7 yields the raw CBC blocks
 * plus one padding block we drop; to decrypt whole blocks we append the block that makes the padding
 * valid, E(0x10…10 ⊕ Cn), so WebCrypto strips exactly it.
 */
import { CKR_FUNCTION_FAILED } from '@vhsm/pkcs11';
import { AES_BLOCK, concat, mapFailure } from './util.js';

const ZERO_IV = new Uint8Array(AES_BLOCK);
export const FULL_PAD = new Uint8Array(AES_BLOCK).fill(AES_BLOCK);
// Bounds how many single-block encryptions ECB keeps in flight at once.
const ECB_BATCH = 256;

export class AesBlocks {
  constructor(
    private readonly crypto: Crypto,
    /** AES-CBC key with usages encrypt and decrypt. */
    private readonly key: CryptoKey,
  ) {}

  /** CBC encryption of whole blocks, no padding. */
  async cbcEncrypt(iv: Uint8Array, data: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
    if (data.length === 0) return new Uint8Array(0);
    const out = await mapFailure(CKR_FUNCTION_FAILED, 'AES block encryption failed', () =>
      this.crypto.subtle.encrypt({ name: 'AES-CBC', iv: new Uint8Array(iv) }, this.key, new Uint8Array(data)),
    );
    return new Uint8Array(out, 0, data.length);
  }

  /** CBC decryption of whole blocks, no padding. */
  async cbcDecrypt(iv: Uint8Array, data: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
    if (data.length === 0) return new Uint8Array(0);
    const last = data.subarray(data.length - AES_BLOCK);
    const padBlock = await this.cbcEncrypt(last, FULL_PAD);
    const out = await mapFailure(CKR_FUNCTION_FAILED, 'AES block decryption failed', () =>
      this.crypto.subtle.decrypt({ name: 'AES-CBC', iv: new Uint8Array(iv) }, this.key, concat(data, padBlock)),
    );
    return new Uint8Array(out);
  }

  /** ECB encryption: one single-block CBC encryption under a zero IV per block. */
  async ecbEncrypt(data: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
    const out = new Uint8Array(data.length);
    for (let start = 0; start < data.length; start += ECB_BATCH * AES_BLOCK) {
      const end = Math.min(data.length, start + ECB_BATCH * AES_BLOCK);
      const jobs: Promise<void>[] = [];
      for (let o = start; o < end; o += AES_BLOCK) {
        jobs.push(this.cbcEncrypt(ZERO_IV, data.subarray(o, o + AES_BLOCK)).then((c) => out.set(c, o)));
      }
      await Promise.all(jobs);
    }
    return out;
  }

  /** ECB decryption: CBC-decrypt under a zero IV, then undo the chaining XOR with the previous block. */
  async ecbDecrypt(data: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
    const out = await this.cbcDecrypt(ZERO_IV, data);
    for (let i = AES_BLOCK; i < out.length; i++) out[i] = (out[i] ?? 0) ^ (data[i - AES_BLOCK] ?? 0);
    return out;
  }
}
