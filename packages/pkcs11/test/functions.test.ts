import { describe, expect, expectTypeOf, it } from 'vitest';
import { FUNCTION_NAMES, type CryptokiApiV3, type FunctionName, isFunctionName } from '../src/index.js';

describe('FUNCTION_NAMES', () => {
  it('lists the 91 functions of PKCS#11 v3.0 without C_GetFunctionList, once each', () => {
    expect(FUNCTION_NAMES).toHaveLength(91);
    expect(new Set(FUNCTION_NAMES).size).toBe(91);
    expect(FUNCTION_NAMES).not.toContain('C_GetFunctionList');
    for (const name of FUNCTION_NAMES) expect(name).toMatch(/^C_[A-Z][A-Za-z]+$/);
  });

  it('names exactly the methods of CryptokiApiV3', () => {
    expectTypeOf<(typeof FUNCTION_NAMES)[number]>().toEqualTypeOf<FunctionName>();
    expectTypeOf<FunctionName>().toEqualTypeOf<keyof CryptokiApiV3>();
  });

  it('includes the contract functions', () => {
    for (const name of ['C_Initialize', 'C_GetAttributeValue', 'C_GenerateKeyPair', 'C_GenerateRandom', 'C_EncryptMessage']) {
      expect(FUNCTION_NAMES).toContain(name);
    }
  });
});

describe('isFunctionName', () => {
  it('accepts function names only', () => {
    expect(isFunctionName('C_Sign')).toBe(true);
    expect(isFunctionName('C_GetFunctionList')).toBe(false);
    expect(isFunctionName('toString')).toBe(false);
    expect(isFunctionName('constructor')).toBe(false);
    expect(isFunctionName(1)).toBe(false);
  });
});
