import { describe, expect, test } from 'vitest';
import { CKA_LABEL, CKA_VALUE } from '@vhsm/pkcs11';
import { REDACTED, redactArgs, redactResult } from '../src/index.js';

describe('trace redaction', () => {
  test('results show byte strings by length only and hide key-material attributes', () => {
    const decrypted = new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
    expect(redactResult(decrypted)).toBe('<4 bytes>');
    expect(redactResult([{ type: CKA_VALUE, value: decrypted }, { type: CKA_LABEL, value: 'k' }]))
      .toEqual([{ type: CKA_VALUE, value: REDACTED }, { type: CKA_LABEL, value: 'k' }]);
  });

  test('arguments keep a short preview of public bytes but never a PIN', () => {
    expect(redactArgs('C_Login', [1, 1, '123456'])).toEqual([1, 1, REDACTED]);
    expect(redactArgs('C_Digest', [1, new Uint8Array([1, 2])])).toEqual([1, '<2 bytes 0102>']);
  });
});
