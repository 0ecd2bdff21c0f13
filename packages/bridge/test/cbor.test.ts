import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '../src/index.js';
import type { CborValue } from '../src/index.js';

const hex = (h: string) => Uint8Array.from(h.match(/../g)!.map((b) => Number.parseInt(b, 16)));

describe('CBOR (CTAP2 canonical)', () => {
  // RFC 8949 appendix A.
  it.each<[CborValue, string]>([
    [0, '00'], [23, '17'], [24, '1818'], [100, '1864'], [1000, '1903e8'], [1000000, '1a000f4240'],
    [1000000000000, '1b000000e8d4a51000'], [-1, '20'], [-10, '29'], [-100, '3863'], [-1000, '3903e7'],
    [hex('01020304'), '4401020304'], ['a', '6161'], ['IETF', '6449455446'], ['ü', '62c3bc'],
    [[1, 2, 3], '83010203'], [[1, [2, 3], [4, 5]], '8301820203820405'], [new Map([[1, 2], [3, 4]]), 'a201020304'],
    [true, 'f5'], [false, 'f4'], [null, 'f6'],
  ])('%o encodes as %s and decodes back', (value, encoded) => {
    expect(encodeCbor(value)).toEqual(hex(encoded));
    expect(decodeCbor(hex(encoded))).toEqual(value);
  });

  it('sorts map keys shortest encoding first, then bytewise', () => {
    const map = new Map<string | number, CborValue>([['aa', 1], ['b', 2], [10, 3], [-1, 4]]);
    expect(encodeCbor(map)).toEqual(hex('a4' + '0a03' + '2004' + '616202' + '62616101'));
  });

  it.each([
    ['a non-shortest integer', '1817'],
    ['a non-shortest length', '5800'],
    ['keys out of order', 'a203040102'],
    ['a duplicate key', 'a201020103'],
    ['an indefinite-length array', '9f01ff'],
    ['trailing bytes', '0000'],
    ['a truncated string', '4401'],
    ['a float', 'f93c00'],
    ['a tag', 'c11a514b67b0'],
    ['invalid UTF-8', '61ff'],
  ])('refuses %s', (_why, encoded) => {
    expect(() => decodeCbor(hex(encoded))).toThrow(/CBOR from the authenticator/);
  });

  it('round-trips any value made of the CTAP2 types', () => {
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.uint8Array(),
        fc.array(tie('tree'), { maxLength: 4 }),
        fc.uniqueArray(fc.tuple(fc.oneof(fc.integer(), fc.string()), tie('tree')), { maxLength: 4, selector: ([k]) => k })
          .map((entries) => new Map(entries as [number | string, CborValue][]))),
    }));
    fc.assert(fc.property(tree, (value) => {
      const encoded = encodeCbor(value as CborValue);
      expect(decodeCbor(encoded)).toEqual(value);
      // Canonical: encoding the decoded value gives the same bytes.
      expect(encodeCbor(decodeCbor(encoded))).toEqual(encoded);
    }));
  });
});
