/**
 * Exact AES block primitives built from WebCrypto AES-CBC (which always pads) on a non-extractable
 * key: raw CBC without padding and ECB. Encrypting whole blocks with PKCS#7 yields the raw CBC blocks
 * plus one padding block we drop; to decrypt whole blocks we append the block that makes the padding
 * valid, E(0x10…10 ⊕ Cn), so WebCrypto strips exactly it.
 */
import { CKR_FUNCTION_FAILED } from '@vhsm/pkcs11';
import { concat } from '../../bytes.js';
import { AES_BLOCK, mapFailure } from './util.js';

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
      this.crypto.subtle.decrypt({ name: 'AES-CBC', iv: new Uint8Array(iv) }, this.key, concat([data, padBlock])),
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

/**
 * Raw CBC over a stream of updates: whole blocks go through as they come and the chaining block is
 * kept. What waits for final is in `pending`: the partial block and, when `holdLastBlock` (padded
 * decryption), the last whole block, which carries the padding.
 */
export class CbcStream {
  chain: Uint8Array;
  pending: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly blocks: AesBlocks,
    iv: Uint8Array,
    private readonly direction: 'encrypt' | 'decrypt',
    private readonly holdLastBlock = false,
  ) {
    this.chain = iv;
  }

  async update(data: Uint8Array): Promise<Uint8Array> {
    const all = concat([this.pending, data]);
    const partial = all.length % AES_BLOCK;
    const whole = this.holdLastBlock ? Math.max(0, all.length - (partial || AES_BLOCK)) : all.length - partial;
    const body = all.subarray(0, whole);
    const out = this.direction === 'encrypt' ? await this.blocks.cbcEncrypt(this.chain, body) : await this.blocks.cbcDecrypt(this.chain, body);
    // The next block chains on the last ciphertext block: the output's when encrypting, the input's when decrypting.
    if (whole > 0) this.chain = (this.direction === 'encrypt' ? out : all).slice(whole - AES_BLOCK, whole);
    this.pending = all.slice(whole);
    return out;
  }
}
