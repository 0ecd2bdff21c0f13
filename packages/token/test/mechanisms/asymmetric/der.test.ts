import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  DerError,
  TAG_BIT_STRING,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  bitString,
  decodeBitString,
  decodeExact,
  decodeLength,
  decodeOid,
  decodeSequence,
  decodeTlv,
  decodeUnsignedInteger,
  encodeLength,
  integer,
  octetString,
  oid,
  printableString,
  sequence,
  smallInteger,
} from '../../../src/mechanisms/asymmetric/der.js';
import { hex, unhex } from './fixture.js';

describe('lengths', () => {
  test.each([
    [0, '00'],
    [127, '7f'],
    [128, '8180'],
    [255, '81ff'],
    [256, '820100'],
    [65536, '83010000'],
  ])('%i encodes as %s and back', (n, expected) => {
    expect(hex(encodeLength(n))).toBe(expected);
    expect(decodeLength(unhex(expected), 0)).toEqual({ length: n, next: expected.length / 2 });
  });

  test.each([
    ['80', 'indefinite'],
    ['8100', 'not minimal'],
    ['817f', 'not minimal'],
    ['820010', 'not minimal'],
    ['82ff', 'truncated'],
    ['', 'truncated'],
    ['850100000000', 'too many'],
  ])('rejects %s (%s)', (input, reason) => {
    expect(() => decodeLength(unhex(input), 0)).toThrow(reason);
  });

  test('round trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        expect(decodeLength(encodeLength(n), 0).length).toBe(n);
      }),
    );
  });
});

describe('OIDs', () => {
  test.each([
    ['1.2.840.10045.3.1.7', '06082a8648ce3d030107'], // P-256
    ['1.3.132.0.34', '06052b81040022'], // P-384
    ['1.3.132.0.35', '06052b81040023'], // P-521
    ['1.3.101.112', '06032b6570'], // Ed25519
    ['1.2.840.10045.2.1', '06072a8648ce3d0201'], // id-ecPublicKey
    ['2.999.3', '0603883703'], // X.690 example: first arc 2 with a large second arc
  ])('%s', (dotted, der) => {
    expect(hex(oid(dotted))).toBe(der);
    expect(decodeOid(decodeExact(unhex(der), TAG_OID))).toBe(dotted);
  });

  test('rejects non-minimal and truncated arcs', () => {
    expect(() => decodeOid(unhex('2a8086'))).toThrow(DerError);
    expect(() => decodeOid(unhex('2a86'))).toThrow('truncated');
    expect(() => decodeOid(new Uint8Array())).toThrow('empty');
    expect(() => oid('3.1')).toThrow(DerError);
    expect(() => oid('1.40')).toThrow(DerError);
    expect(() => oid('1.x')).toThrow(DerError);
  });

  test('round trip', () => {
    const arcs = fc.tuple(
      fc.integer({ min: 0, max: 1 }),
      fc.integer({ min: 0, max: 39 }),
      fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { maxLength: 8 }),
    );
    fc.assert(
      fc.property(arcs, ([a, b, rest]) => {
        const dotted = [a, b, ...rest].join('.');
        expect(decodeOid(decodeExact(oid(dotted), TAG_OID))).toBe(dotted);
      }),
    );
  });
});

describe('INTEGER', () => {
  test.each([
    ['', '020100'],
    ['00', '020100'],
    ['7f', '02017f'],
    ['80', '02020080'],
    ['000080', '02020080'],
    ['010001', '0203010001'],
  ])('magnitude %s', (magnitude, der) => {
    expect(hex(integer(unhex(magnitude)))).toBe(der);
  });

  test('small integers', () => {
    expect(hex(smallInteger(0))).toBe('020100');
    expect(hex(smallInteger(1))).toBe('020101');
    expect(hex(smallInteger(65537))).toBe('0203010001');
  });

  test('decoding rejects negative and non-minimal values', () => {
    expect(() => decodeUnsignedInteger(unhex('80'))).toThrow('negative');
    expect(() => decodeUnsignedInteger(unhex('007f'))).toThrow('not minimal');
    expect(() => decodeUnsignedInteger(new Uint8Array())).toThrow('empty');
  });

  test('round trip of unsigned magnitudes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 600 }), (bytes) => {
        const der = integer(bytes);
        const magnitude = decodeUnsignedInteger(decodeExact(der, TAG_INTEGER));
        expect(BigInt(`0x${hex(magnitude)}`)).toBe(BigInt(`0x${hex(bytes)}`));
      }),
    );
  });
});

describe('strings and sequences', () => {
  test('OCTET STRING and BIT STRING round trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expect(decodeExact(octetString(bytes), TAG_OCTET_STRING)).toEqual(bytes);
        expect(decodeBitString(decodeExact(bitString(bytes), TAG_BIT_STRING))).toEqual(bytes);
      }),
    );
  });

  test('BIT STRING with unused bits is refused', () => {
    expect(() => decodeBitString(unhex('01ff'))).toThrow('unused bits');
  });

  test('PrintableString', () => {
    expect(hex(printableString('edwards25519'))).toBe(`130c${hex(new TextEncoder().encode('edwards25519'))}`);
    expect(() => printableString('é')).toThrow(DerError);
  });

  test('SEQUENCE of mixed elements decodes to its children', () => {
    const der = sequence(smallInteger(1), octetString(unhex('aabb')), oid('1.3.101.112'));
    expect(hex(der)).toBe('300c020101' + '0402aabb' + '06032b6570');
    const items = decodeSequence(decodeExact(der, TAG_SEQUENCE));
    expect(items.map((i) => i.tag)).toEqual([TAG_INTEGER, TAG_OCTET_STRING, TAG_OID]);
    expect(hex(items[1]!.value)).toBe('aabb');
  });

  test('long content uses the long length form', () => {
    const der = octetString(new Uint8Array(300));
    expect(hex(der.subarray(0, 4))).toBe('0482012c');
    expect(decodeTlv(der).end).toBe(304);
  });

  test('decodeExact refuses trailing bytes, wrong tags and overruns', () => {
    expect(() => decodeExact(unhex('040100ff'), TAG_OCTET_STRING)).toThrow('trailing');
    expect(() => decodeExact(unhex('040100'), TAG_INTEGER)).toThrow('expected tag');
    expect(() => decodeExact(unhex('0405aabb'), TAG_OCTET_STRING)).toThrow('needs 5 bytes');
    expect(() => decodeTlv(unhex('1f0100'))).toThrow('multi-byte');
  });
});
