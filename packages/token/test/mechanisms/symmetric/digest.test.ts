import { createHash } from 'node:crypto';
import { CKM_SHA224, CKM_SHA256, CKM_SHA384, CKM_SHA512, CKM_SHA_1, CKR_MECHANISM_PARAM_INVALID } from '@vhsm/pkcs11';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { digestProviders } from '../../../src/mechanisms/symmetric/digest.js';
import { Sha224, sha224 } from '../../../src/mechanisms/symmetric/sha224.js';
import type { DigestOperation } from '../../../src/mechanisms/types.js';
import { implementations, rvOf, toHex, utf8 } from './fixture.js';

const ABC = utf8('abc');
const TWO_BLOCK = utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');

// FIPS 180 examples ("abc", the 448-bit message, and the empty string).
const vectors: Record<number, [Uint8Array, string][]> = {
  [CKM_SHA_1]: [
    [ABC, 'a9993e364706816aba3e25717850c26c9cd0d89d'],
    [TWO_BLOCK, '84983e441c3bd26ebaae4aa1f95129e5e54670f1'],
  ],
  [CKM_SHA224]: [
    [ABC, '23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7'],
    [TWO_BLOCK, '75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525'],
    [new Uint8Array(0), 'd14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f'],
  ],
  [CKM_SHA256]: [
    [ABC, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [TWO_BLOCK, '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ],
  [CKM_SHA384]: [
    [
      ABC,
      'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
    ],
  ],
  [CKM_SHA512]: [
    [
      ABC,
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    ],
  ],
};

const NODE_NAMES: Record<number, string> = {
  [CKM_SHA_1]: 'sha1',
  [CKM_SHA224]: 'sha224',
  [CKM_SHA256]: 'sha256',
  [CKM_SHA384]: 'sha384',
  [CKM_SHA512]: 'sha512',
};

async function digestOf(op: DigestOperation, ...chunks: Uint8Array[]): Promise<string> {
  for (const c of chunks) await op.update(c);
  return toHex(await op.final());
}

describe('SHA-224 in JS', () => {
  test('FIPS 180-4 one-million-a example', () => {
    const h = new Sha224();
    const chunk = new Uint8Array(1000).fill(0x61);
    for (let i = 0; i < 1000; i++) h.update(chunk);
    expect(toHex(h.digest())).toBe('20794655980c91d8bbb4c1ea97618a4bf03f42581948b2ee4ee7ad67');
  });

  test('agrees with node:crypto on every length around the block and padding boundaries', () => {
    for (let n = 0; n <= 200; n++) {
      const data = new Uint8Array(n).map((_, i) => (i * 31 + n) & 0xff);
      expect(toHex(sha224(data))).toBe(createHash('sha224').update(data).digest('hex'));
    }
  });

  test('any split of any message gives the one-shot digest (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 5 }), (data, cuts) => {
        const h = new Sha224();
        let prev = 0;
        for (const c of [...cuts.map((x) => Math.min(x, data.length)).sort((a, b) => a - b), data.length]) {
          h.update(data.subarray(prev, c));
          prev = c;
        }
        return toHex(h.digest()) === createHash('sha224').update(data).digest('hex');
      }),
    );
  });
});

describe.each(implementations)('digests on %s WebCrypto', (_name, crypto) => {
  test.each(digestProviders.map((p) => [p.mechanism, p] as const))('mechanism %i', async (mechanism, provider) => {
    expect(await (provider.probe?.(crypto) ?? true)).toBe(true);
    for (const [data, expected] of vectors[mechanism] ?? []) {
      expect(await digestOf(await provider.digest!(undefined, crypto), data)).toBe(expected);
      expect(await digestOf(await provider.digest!(undefined, crypto), data.subarray(0, 1), data.subarray(1))).toBe(
        expected,
      );
    }
    const long = crypto.getRandomValues(new Uint8Array(1000));
    const name = NODE_NAMES[mechanism] ?? '';
    expect(await digestOf(await provider.digest!(undefined, crypto), long.subarray(0, 333), long.subarray(333))).toBe(
      createHash(name).update(long).digest('hex'),
    );
    expect(await rvOf(() => provider.check(new Uint8Array(3)))).toBe(CKR_MECHANISM_PARAM_INVALID);
  });
});
