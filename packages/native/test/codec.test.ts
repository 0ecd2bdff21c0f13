import { describe, expect, test } from 'vitest';
import pkcs11js from 'pkcs11js';
import {
  CKA_ALLOWED_MECHANISMS,
  CKA_CLASS,
  CKA_ID,
  CKA_LABEL,
  CKA_START_DATE,
  CKA_TOKEN,
  CKA_VALUE_LEN,
  CKA_WRAP_TEMPLATE,
  CK_UNAVAILABLE_INFORMATION,
  CKM_AES_CBC_PAD,
  CKM_AES_CTR,
  CKM_AES_GCM,
  CKM_ECDH1_DERIVE,
  CKM_RSA_PKCS_OAEP,
  CKM_RSA_PKCS_PSS,
  CKM_SHA256,
  CKD_NULL,
  CKG_MGF1_SHA256,
  CKR_ARGUMENTS_BAD,
  CKR_ATTRIBUTE_TYPE_INVALID,
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_FUNCTION_NOT_SUPPORTED,
  CKR_GENERAL_ERROR,
  CKR_MECHANISM_INVALID,
  CKR_MECHANISM_PARAM_INVALID,
  CKR_PIN_INCORRECT,
  CKZ_DATA_SPECIFIED,
  Pkcs11Error,
} from '@vhsm/pkcs11';
import {
  decodeHandle,
  decodeValue,
  encodeHandle,
  encodeMechanism,
  encodeUlong,
  encodeTemplate,
  toBuffer,
  toPkcs11Error,
} from '../src/codec.js';

function rejectsWith(fn: () => unknown, code: number): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(Pkcs11Error);
  expect((error as Pkcs11Error).code).toBe(code);
}

describe('handles', () => {
  test('are 8-byte little-endian CK_ULONGs both ways', () => {
    const b = encodeHandle(0x0102_0304_0506, 'C_X', 'session');
    expect([...b]).toEqual([6, 5, 4, 3, 2, 1, 0, 0]);
    expect(decodeHandle(b)).toBe(0x0102_0304_0506);
  });

  test.each([-1, 1.5, Number.NaN, '1', undefined, 2 ** 53])('%s is CKR_ARGUMENTS_BAD', (h) => {
    rejectsWith(() => encodeHandle(h, 'C_X', 'session'), CKR_ARGUMENTS_BAD);
  });
});

describe('templates', () => {
  test('encode each value from its JavaScript type', () => {
    const [bool, ulong, str, bytes, empty] = encodeTemplate(
      [
        { type: CKA_TOKEN, value: true },
        { type: CKA_VALUE_LEN, value: 2 ** 40 + 5 },
        { type: CKA_LABEL, value: 'é' },
        { type: CKA_ID, value: new Uint8Array([1, 2]) },
        { type: CKA_CLASS },
      ],
      'C_X',
      true,
    );
    expect(bool).toEqual({ type: CKA_TOKEN, value: Buffer.from([1]) });
    expect(ulong).toEqual({ type: CKA_VALUE_LEN, value: Buffer.from([5, 0, 0, 0, 0, 1, 0, 0]) });
    expect(str).toEqual({ type: CKA_LABEL, value: Buffer.from([0xc3, 0xa9]) });
    expect(bytes).toEqual({ type: CKA_ID, value: Buffer.from([1, 2]) });
    expect(empty).toEqual({ type: CKA_CLASS });
  });

  test('encode a mechanism list as consecutive CK_ULONGs', () => {
    const [attr] = encodeTemplate([{ type: CKA_ALLOWED_MECHANISMS, value: [CKM_AES_GCM, 0x1_0000_0001] }], 'C_X', true);
    expect(attr?.value).toEqual(Buffer.concat([encodeUlong(CKM_AES_GCM), Buffer.from([1, 0, 0, 0, 1, 0, 0, 0])]));
  });

  test('copy byte values', () => {
    const id = new Uint8Array([7]);
    const [attr] = encodeTemplate([{ type: CKA_ID, value: id }], 'C_X', true);
    id[0] = 8;
    expect(attr?.value).toEqual(Buffer.from([7]));
  });

  test('pass an empty date as a missing value, which pkcs11js sends as an empty one', () => {
    expect(encodeTemplate([{ type: CKA_START_DATE, value: new Uint8Array(0) }], 'C_X', true)).toEqual([
      { type: CKA_START_DATE },
    ]);
  });

  test('drop values when only types are asked for', () => {
    expect(encodeTemplate([{ type: CKA_TOKEN, value: true }], 'C_X', false)).toEqual([{ type: CKA_TOKEN }]);
  });

  test('reject malformed templates with precise codes', () => {
    rejectsWith(() => encodeTemplate({}, 'C_X', true), CKR_ARGUMENTS_BAD);
    rejectsWith(() => encodeTemplate([null], 'C_X', true), CKR_ARGUMENTS_BAD);
    rejectsWith(() => encodeTemplate([{ type: '1' }], 'C_X', true), CKR_ARGUMENTS_BAD);
    rejectsWith(() => encodeTemplate([{ type: 2 ** 33 }], 'C_X', true), CKR_ATTRIBUTE_TYPE_INVALID);
    rejectsWith(() => encodeTemplate([{ type: CKA_VALUE_LEN, value: -1 }], 'C_X', true), CKR_ATTRIBUTE_VALUE_INVALID);
    rejectsWith(() => encodeTemplate([{ type: CKA_ID, value: {} }], 'C_X', true), CKR_ARGUMENTS_BAD);
    rejectsWith(
      () => encodeTemplate([{ type: CKA_WRAP_TEMPLATE, value: [{ type: CKA_TOKEN, value: true }] }], 'C_X', true),
      CKR_FUNCTION_NOT_SUPPORTED,
    );
  });
});

describe('attribute values', () => {
  test('are typed by the attribute kind', () => {
    expect(decodeValue(CKA_TOKEN, Buffer.from([1]))).toBe(true);
    expect(decodeValue(CKA_TOKEN, Buffer.from([0]))).toBe(false);
    expect(decodeValue(CKA_VALUE_LEN, Buffer.from([32, 0, 0, 0, 0, 0, 0, 0]))).toBe(32);
    expect(decodeValue(CKA_LABEL, Buffer.from('key one'))).toBe('key one');
    expect(decodeValue(CKA_ALLOWED_MECHANISMS, Buffer.concat([encodeUlong(CKM_AES_GCM), encodeUlong(CKM_SHA256)]))).toEqual([
      CKM_AES_GCM,
      CKM_SHA256,
    ]);
    expect(decodeValue(CKA_VALUE_LEN, Buffer.alloc(8, 0xff))).toBe(CK_UNAVAILABLE_INFORMATION);
    const id = decodeValue(CKA_ID, Buffer.from([1, 2, 3]));
    expect(id).toEqual(new Uint8Array([1, 2, 3]));
    expect(Buffer.isBuffer(id)).toBe(false);
  });

  test('keep bytes a module returned in a malformed size, so a difference shows', () => {
    expect(decodeValue(CKA_TOKEN, Buffer.from([1, 0]))).toEqual(new Uint8Array([1, 0]));
    expect(decodeValue(CKA_CLASS, Buffer.from([1, 0, 0, 0]))).toEqual(new Uint8Array([1, 0, 0, 0]));
  });
});

describe('mechanisms', () => {
  test('GCM becomes CK_GCM_PARAMS with ulIvBits and a 128-bit tag by default', () => {
    const iv = new Uint8Array(12).fill(1);
    expect(encodeMechanism({ mechanism: CKM_AES_GCM, parameter: { iv } }, 'C_X')).toEqual({
      mechanism: CKM_AES_GCM,
      parameter: { type: pkcs11js.CK_PARAMS_AES_GCM_v240, iv: Buffer.from(iv), ivBits: 96, tagBits: 128 },
    });
    const aad = new Uint8Array([9]);
    expect(encodeMechanism({ mechanism: CKM_AES_GCM, parameter: { iv, aad, tagBits: 96 } }, 'C_X').parameter).toMatchObject({
      aad: Buffer.from(aad),
      tagBits: 96,
    });
  });

  test('an IV is raw bytes', () => {
    expect(encodeMechanism({ mechanism: CKM_AES_CBC_PAD, parameter: new Uint8Array([1, 2]) }, 'C_X')).toEqual({
      mechanism: CKM_AES_CBC_PAD,
      parameter: Buffer.from([1, 2]),
    });
  });

  test('CTR is laid out as CK_AES_CTR_PARAMS: ulCounterBits then cb[16]', () => {
    const cb = new Uint8Array(16).fill(0xaa);
    const { parameter } = encodeMechanism({ mechanism: CKM_AES_CTR, parameter: { counterBits: 64, cb } }, 'C_X');
    expect(parameter).toEqual(Buffer.concat([Buffer.from([64, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(cb)]));
    rejectsWith(
      () => encodeMechanism({ mechanism: CKM_AES_CTR, parameter: { counterBits: 64, cb: new Uint8Array(8) } }, 'C_X'),
      CKR_MECHANISM_PARAM_INVALID,
    );
  });

  test('OAEP, PSS and ECDH1 become pkcs11js parameter objects', () => {
    expect(encodeMechanism({ mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 } }, 'C_X')).toEqual({
      mechanism: CKM_RSA_PKCS_OAEP,
      parameter: { type: pkcs11js.CK_PARAMS_RSA_OAEP, hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, source: CKZ_DATA_SPECIFIED },
    });
    expect(
      encodeMechanism({ mechanism: CKM_RSA_PKCS_PSS, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, saltLen: 32 } }, 'C_X'),
    ).toEqual({
      mechanism: CKM_RSA_PKCS_PSS,
      parameter: { type: pkcs11js.CK_PARAMS_RSA_PSS, hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, saltLen: 32 },
    });
    const publicData = new Uint8Array([4, 1, 2]);
    expect(encodeMechanism({ mechanism: CKM_ECDH1_DERIVE, parameter: { kdf: CKD_NULL, publicData } }, 'C_X')).toEqual({
      mechanism: CKM_ECDH1_DERIVE,
      parameter: { type: pkcs11js.CK_PARAMS_EC_DH, kdf: CKD_NULL, publicData: Buffer.from(publicData) },
    });
  });

  test('malformed mechanisms get precise codes', () => {
    rejectsWith(() => encodeMechanism(null, 'C_X'), CKR_ARGUMENTS_BAD);
    rejectsWith(() => encodeMechanism({ mechanism: 'aes' }, 'C_X'), CKR_ARGUMENTS_BAD);
    rejectsWith(() => encodeMechanism({ mechanism: 2 ** 40 }, 'C_X'), CKR_MECHANISM_INVALID);
    rejectsWith(() => encodeMechanism({ mechanism: CKM_AES_GCM, parameter: { iv: 'x' } }, 'C_X'), CKR_MECHANISM_PARAM_INVALID);
    rejectsWith(() => encodeMechanism({ mechanism: CKM_AES_GCM, parameter: { nonce: 1 } }, 'C_X'), CKR_MECHANISM_PARAM_INVALID);
    rejectsWith(() => encodeMechanism({ mechanism: CKM_AES_GCM, parameter: 'iv' }, 'C_X'), CKR_MECHANISM_PARAM_INVALID);
  });
});

describe('errors', () => {
  test("pkcs11js's CK_RV errors keep their code and take our method name", () => {
    const e = toPkcs11Error(new Error(`CKR_PIN_INCORRECT:${CKR_PIN_INCORRECT}`), 'C_Login');
    expect(e).toBeInstanceOf(Pkcs11Error);
    expect(e.code).toBe(CKR_PIN_INCORRECT);
    expect(e.method).toBe('C_Login');
    expect(e.message.startsWith('CKR_PIN_INCORRECT')).toBe(true);
  });

  test('vendor-defined codes survive', () => {
    expect(toPkcs11Error(new Error('CKR_VENDOR_DEFINED:2147483905'), 'C_Sign').code).toBe(0x8000_0101);
  });

  test("pkcs11js's argument TypeErrors are CKR_ARGUMENTS_BAD, anything else CKR_GENERAL_ERROR", () => {
    expect(toPkcs11Error(new TypeError('Argument 1 has wrong type'), 'C_X').code).toBe(CKR_ARGUMENTS_BAD);
    expect(toPkcs11Error(new Error('dlopen failed'), 'C_X').code).toBe(CKR_GENERAL_ERROR);
    expect(toPkcs11Error('boom', 'C_X').code).toBe(CKR_GENERAL_ERROR);
  });

  test('a Pkcs11Error passes through unchanged', () => {
    const e = new Pkcs11Error(CKR_PIN_INCORRECT, 'C_Login');
    expect(toPkcs11Error(e, 'C_Other')).toBe(e);
  });

  test('toBuffer views a Uint8Array and refuses anything else', () => {
    const bytes = new Uint8Array([0, 1, 2, 3]).subarray(1, 3);
    expect([...toBuffer(bytes, 'C_X', 'data')]).toEqual([1, 2]);
    rejectsWith(() => toBuffer([1, 2], 'C_X', 'data'), CKR_ARGUMENTS_BAD);
  });
});
