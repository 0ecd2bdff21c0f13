import { describe, expect, test } from 'vitest';
import { CKR_GENERAL_ERROR } from '@vhsm/token';
import { unpackAttributes } from '../../src/attribute-codec.js';

// Format 2 as written by packAttributes: 0x02, a count, then (type, tag, value) triples.
const FORMAT = 2;
const NESTED = 0x07;

describe('corrupt sealed attributes (format 2) are CK_RVs, never a crash or a misread', () => {
  test('a template inside a template, a number past 2^53, and text that is not UTF-8', () => {
    const deep = Uint8Array.of(FORMAT, 1, 0x10, NESTED, 1, 0x11, NESTED, 0);
    const huge = Uint8Array.of(FORMAT, 1, ...Array(8).fill(0xff), 0x7f, 0x00);
    const notUtf8 = Uint8Array.of(FORMAT, 1, 3, 0x04, 2, 0xc3, 0x28);
    for (const bad of [deep, huge, notUtf8]) {
      expect(() => unpackAttributes(bad)).toThrow(expect.objectContaining({ code: CKR_GENERAL_ERROR }));
    }
  });
});
