import { describe, expect, it } from 'vitest';
import {
  CKR_ATTRIBUTE_SENSITIVE, CKR_GENERAL_ERROR, CKR_PIN_INCORRECT, CKR_USER_NOT_LOGGED_IN,
  Pkcs11Error, isPkcs11Error,
} from '../src/index.js';

describe('Pkcs11Error', () => {
  it('carries the CK_RV, the method and a message starting with the CKR_ name', () => {
    const error = new Pkcs11Error(CKR_USER_NOT_LOGGED_IN, 'C_Sign');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('Pkcs11Error');
    expect(error.code).toBe(0x101);
    expect(error.method).toBe('C_Sign');
    expect(error.message).toBe('CKR_USER_NOT_LOGGED_IN');
    expect(String(error)).toBe('Pkcs11Error: CKR_USER_NOT_LOGGED_IN');
  });

  it('appends the detail after the name', () => {
    const error = new Pkcs11Error(CKR_ATTRIBUTE_SENSITIVE, 'C_GetAttributeValue', 'CKA_VALUE');
    expect(error.message).toBe('CKR_ATTRIBUTE_SENSITIVE: CKA_VALUE');
    expect(new Pkcs11Error(CKR_PIN_INCORRECT, 'C_Login', '').message).toBe('CKR_PIN_INCORRECT');
  });

  it('names unknown codes by number', () => {
    expect(new Pkcs11Error(0x80000001, 'C_Sign').message).toBe('CKR_0x80000001');
  });

  it('serialises to a plain object that survives JSON and structured clone', () => {
    const error = new Pkcs11Error(CKR_PIN_INCORRECT, 'C_Login', '3 tries left');
    const json = error.toJSON();
    expect(json).toEqual({
      name: 'Pkcs11Error',
      code: CKR_PIN_INCORRECT,
      method: 'C_Login',
      message: 'CKR_PIN_INCORRECT: 3 tries left',
    });
    for (const copy of [JSON.parse(JSON.stringify(error)) as unknown, structuredClone(json)]) {
      const rebuilt = Pkcs11Error.fromJSON(copy);
      expect(rebuilt).toBeInstanceOf(Pkcs11Error);
      expect(rebuilt.toJSON()).toEqual(json);
    }
  });

  it('round-trips an error without detail', () => {
    const json = new Pkcs11Error(CKR_USER_NOT_LOGGED_IN, 'C_Sign').toJSON();
    expect(Pkcs11Error.fromJSON(json).message).toBe('CKR_USER_NOT_LOGGED_IN');
  });

  it('puts the CKR_ name in front of a foreign message', () => {
    const rebuilt = Pkcs11Error.fromJSON({ name: 'Pkcs11Error', code: 0xa0, method: 'C_Login', message: 'wrong' });
    expect(rebuilt.message).toBe('CKR_PIN_INCORRECT: wrong');
  });

  const valid = { name: 'Pkcs11Error', code: 0x101, method: 'C_Sign', message: 'CKR_USER_NOT_LOGGED_IN' };
  it.each([
    [null, 'Pkcs11Error.fromJSON', /expected an object, got null/],
    ['CKR_OK', 'Pkcs11Error.fromJSON', /expected an object, got string/],
    [42, 'Pkcs11Error.fromJSON', /expected an object, got number/],
    [{ ...valid, name: 'Error' }, 'C_Sign', /name: expected 'Pkcs11Error', got string/],
    [{ ...valid, code: '257' }, 'C_Sign', /code: expected an integer from 0 to 0xFFFFFFFF, got string/],
    [{ ...valid, code: -1 }, 'C_Sign', /code: expected an integer/],
    [{ ...valid, code: 1.5 }, 'C_Sign', /code: expected an integer/],
    [{ ...valid, code: 2 ** 32 }, 'C_Sign', /code: expected an integer/],
    [{ ...valid, method: 7 }, 'Pkcs11Error.fromJSON', /method: expected a string, got number/],
    [{ ...valid, message: undefined }, 'C_Sign', /message: expected a string, got undefined/],
    [[valid], 'Pkcs11Error.fromJSON', /name: expected 'Pkcs11Error', got undefined/],
  ])('fromJSON rejects %j with CKR_GENERAL_ERROR', (junk, method, message) => {
    let thrown: unknown;
    try {
      Pkcs11Error.fromJSON(junk);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(Pkcs11Error);
    const error = thrown as Pkcs11Error;
    expect(error.code).toBe(CKR_GENERAL_ERROR);
    expect(error.method).toBe(method);
    expect(error.message).toMatch(/^CKR_GENERAL_ERROR: malformed error: /);
    expect(error.message).toMatch(message);
  });
});

describe('isPkcs11Error', () => {
  it('accepts Pkcs11Errors', () => {
    expect(isPkcs11Error(new Pkcs11Error(CKR_PIN_INCORRECT, 'C_Login'))).toBe(true);
  });

  it('accepts an Error of the same shape from another copy of the package', () => {
    const foreign = Object.assign(new Error('CKR_PIN_INCORRECT'), { name: 'Pkcs11Error', code: 0xa0, method: 'C_Login' });
    expect(isPkcs11Error(foreign)).toBe(true);
  });

  it('rejects everything else', () => {
    expect(isPkcs11Error(new Error('CKR_PIN_INCORRECT'))).toBe(false);
    expect(isPkcs11Error(new Pkcs11Error(CKR_PIN_INCORRECT, 'C_Login').toJSON())).toBe(false);
    expect(isPkcs11Error(Object.assign(new Error('x'), { name: 'Pkcs11Error', code: '160', method: 'C_Login' }))).toBe(false);
    expect(isPkcs11Error(undefined)).toBe(false);
  });
});
