import { describe, expect, it } from 'vitest';
import {
  HeaderParseError,
  buildNameTable,
  evaluateExpression,
  parseDefines,
  renderConstants,
  renderNames,
} from '../scripts/parse-header.mjs';

describe('evaluateExpression', () => {
  const names = new Map([
    ['CKF_ARRAY_ATTRIBUTE', 0x40000000],
    ['CKA_SUBPRIME_BITS', 0x134],
  ]);
  const lookup = (name: string) => names.get(name);

  it.each([
    ['0x00000211UL', 0x211],
    ['0x0000003aUL', 0x3a],
    ['0x0000022EUL', 0x22e],
    ['0UL', 0],
    ['1', 1],
    ['3', 3],
    ['0x80000000UL', 0x80000000],
    ['(~0UL)', 0xffffffff],
    ['~0', 0xffffffff],
    ['-1', 0xffffffff],
    ['(CKF_ARRAY_ATTRIBUTE|0x00000211UL)', 0x40000211],
    ['(CKF_ARRAY_ATTRIBUTE|0x00000600UL)', 0x40000600],
    ['CKA_SUBPRIME_BITS', 0x134],
    ['(1UL << 31)', 0x80000000],
    ['0x10 | 0x01 & 0x03', 0x11],
    ['(0x10 | 0x01) & 0x03', 0x01],
    ['0xF0 ^ 0xFF', 0x0f],
    ['0x00000100 + 0x11', 0x111],
    ['~CKF_ARRAY_ATTRIBUTE & 0x4FFFFFFF', 0x0fffffff],
    ['017', 15],
  ])('%s = %d', (expression, expected) => {
    expect(evaluateExpression(expression, lookup)).toBe(expected);
  });

  it('keeps results as unsigned 32-bit values', () => {
    expect(evaluateExpression('0xFFFFFFFFUL + 2')).toBe(1);
    expect(evaluateExpression('0x80000000UL << 1')).toBe(0);
  });

  it.each([
    ['UNKNOWN_NAME', /unknown name UNKNOWN_NAME/],
    ['(0x1 | 0x2', /missing "\)"/],
    ['0x1 0x2', /trailing tokens/],
    ['0x1 |', /unexpected end/],
    ['"text"', /unexpected character/],
    ['', /empty expression/],
  ])('rejects %j', (expression, message) => {
    expect(() => evaluateExpression(expression, lookup)).toThrow(HeaderParseError);
    expect(() => evaluateExpression(expression, lookup)).toThrow(message);
  });
});

const SNIPPET = `
#ifndef _PKCS11T_H_
#define _PKCS11T_H_ 1
#define CRYPTOKI_VERSION_MAJOR          3
#define CK_UNAVAILABLE_INFORMATION      (~0UL)
#ifndef FALSE
#define FALSE CK_FALSE
#endif
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CKF_ARRAY_ATTRIBUTE     0x40000000UL
#define CKK_ECDSA               0x00000003UL /* Deprecated */
#define CKK_EC                  0x00000003UL
#define CKA_SUBPRIME_BITS      0x00000134UL
#define CKA_SUB_PRIME_BITS     CKA_SUBPRIME_BITS
#define CKA_WRAP_TEMPLATE        (CKF_ARRAY_ATTRIBUTE|0x00000211UL)
#define CKM_CAST5_KEY_GEN              0x00000320UL
#define CKM_CAST128_KEY_GEN            0x00000320UL
#define CKF_EC_OID             0x00800000UL
#define CKF_EC_NAMEDCURVE      CKF_EC_OID   /* deprecated since PKCS#11 3.00 */
#define CKM_AES_KEY_WRAP               0x00002109UL     /* WAS: 0x00001090 */
  #  define CKR_OK  0x00000000UL // trailing comment
`;

describe('parseDefines', () => {
  const defines = parseDefines(SNIPPET);

  it('keeps exported constants in header order and skips the rest', () => {
    expect(defines.map((d) => d.name)).toEqual([
      'CRYPTOKI_VERSION_MAJOR',
      'CK_UNAVAILABLE_INFORMATION',
      'CKF_ARRAY_ATTRIBUTE',
      'CKK_ECDSA',
      'CKK_EC',
      'CKA_SUBPRIME_BITS',
      'CKA_SUB_PRIME_BITS',
      'CKA_WRAP_TEMPLATE',
      'CKM_CAST5_KEY_GEN',
      'CKM_CAST128_KEY_GEN',
      'CKF_EC_OID',
      'CKF_EC_NAMEDCURVE',
      'CKM_AES_KEY_WRAP',
      'CKR_OK',
    ]);
  });

  it('evaluates values, resolving earlier names', () => {
    const byName = new Map(defines.map((d) => [d.name, d]));
    expect(byName.get('CK_UNAVAILABLE_INFORMATION')?.value).toBe(0xffffffff);
    expect(byName.get('CKA_WRAP_TEMPLATE')?.value).toBe(0x40000211);
    expect(byName.get('CKA_SUB_PRIME_BITS')?.value).toBe(0x134);
    expect(byName.get('CKF_EC_NAMEDCURVE')?.value).toBe(0x800000);
    expect(byName.get('CKM_AES_KEY_WRAP')?.value).toBe(0x2109);
  });

  it('flags deprecated names and aliases from the header text', () => {
    const flagged = (flag: 'deprecated' | 'alias') => defines.filter((d) => d[flag]).map((d) => d.name);
    expect(flagged('deprecated')).toEqual(['CKK_ECDSA', 'CKF_EC_NAMEDCURVE']);
    expect(flagged('alias')).toEqual(['CKA_SUB_PRIME_BITS', 'CKF_EC_NAMEDCURVE']);
  });

  it('fails on a constant it cannot evaluate instead of dropping it', () => {
    expect(() => parseDefines('#define CKA_BROKEN (CKF_MISSING|1)\n')).toThrow(/unknown name CKF_MISSING/);
  });
});

describe('buildNameTable', () => {
  it('orders shared values canonical first: not deprecated, not an alias, newest', () => {
    const table = buildNameTable(parseDefines(SNIPPET));
    expect(table.get('CKK')?.get(3)).toEqual(['CKK_EC', 'CKK_ECDSA']);
    expect(table.get('CKA')?.get(0x134)).toEqual(['CKA_SUBPRIME_BITS', 'CKA_SUB_PRIME_BITS']);
    expect(table.get('CKM')?.get(0x320)).toEqual(['CKM_CAST128_KEY_GEN', 'CKM_CAST5_KEY_GEN']);
    expect(table.get('CKF')?.get(0x800000)).toEqual(['CKF_EC_OID', 'CKF_EC_NAMEDCURVE']);
  });

  it('has no table for CK_ and CRYPTOKI_ constants', () => {
    const table = buildNameTable(parseDefines(SNIPPET));
    expect([...table.keys()].sort()).toEqual(['CKA', 'CKF', 'CKK', 'CKM', 'CKR']);
  });
});

describe('rendering', () => {
  const defines = parseDefines(SNIPPET);

  it('writes one hex constant per line with the generating command and @deprecated hints', () => {
    const source = renderConstants(defines, 'node gen.mjs <h>');
    expect(source.startsWith('// Generated by `node gen.mjs <h>`')).toBe(true);
    expect(source).toContain('export const CK_UNAVAILABLE_INFORMATION = 0xFFFFFFFF;\n');
    expect(source).toContain('export const CKA_WRAP_TEMPLATE = 0x40000211;\n');
    expect(source).toContain('export const CRYPTOKI_VERSION_MAJOR = 0x00000003;\n');
    expect(source).toContain(
      '/** @deprecated Deprecated by the PKCS#11 header. Use CKK_EC. */\nexport const CKK_ECDSA = 0x00000003;\n',
    );
    expect(source.match(/^export const /gm)).toHaveLength(defines.length);
  });

  it('writes the name table keyed by group and hex value', () => {
    const source = renderNames(defines, 'node gen.mjs <h>');
    expect(source).toContain("    0x00000003: ['CKK_EC', 'CKK_ECDSA'],\n");
    expect(source).toContain("  CKR: {\n    0x00000000: ['CKR_OK'],\n  },\n");
  });
});
