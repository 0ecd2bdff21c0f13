import { describe, expect, it } from 'vitest';
import * as pkcs11 from '../src/index.js';
import {
  CKA_LABEL, CKG_GENERATE, CKM_AES_GCM, CKO_PRIVATE_KEY, CKR_PIN_LOCKED, CKS_RW_USER_FUNCTIONS,
  CKU_USER, ckaName, ckkName, ckmName, ckoName, ckrName, cksName, ckuName, constantName,
} from '../src/index.js';

const constants = pkcs11 as unknown as Record<string, unknown>;
const namesWithPrefix = (prefix: string) =>
  Object.keys(pkcs11).filter((name) => name.startsWith(`${prefix}_`) && typeof constants[name] === 'number');
const valueOf = (name: string) => constants[name] as number;

// Names that share a value with the canonical spec name on the right.
const NON_CANONICAL: Record<string, string> = {
  CKA_ECDSA_PARAMS: 'CKA_EC_PARAMS',
  CKA_SUB_PRIME_BITS: 'CKA_SUBPRIME_BITS',
  CKK_ECDSA: 'CKK_EC',
  CKK_CAST5: 'CKK_CAST128',
  CKM_ECDSA_KEY_PAIR_GEN: 'CKM_EC_KEY_PAIR_GEN',
  CKM_CAST5_KEY_GEN: 'CKM_CAST128_KEY_GEN',
  CKM_CAST5_ECB: 'CKM_CAST128_ECB',
  CKM_CAST5_CBC: 'CKM_CAST128_CBC',
  CKM_CAST5_MAC: 'CKM_CAST128_MAC',
  CKM_CAST5_MAC_GENERAL: 'CKM_CAST128_MAC_GENERAL',
  CKM_CAST5_CBC_PAD: 'CKM_CAST128_CBC_PAD',
  CKM_PBE_MD5_CAST5_CBC: 'CKM_PBE_MD5_CAST128_CBC',
  CKM_PBE_SHA1_CAST5_CBC: 'CKM_PBE_SHA1_CAST128_CBC',
};

describe.each([
  ['CKR', ckrName],
  ['CKA', ckaName],
  ['CKM', ckmName],
  ['CKO', ckoName],
  ['CKK', ckkName],
  ['CKU', ckuName],
  ['CKS', cksName],
] as const)('%s names', (prefix, lookup) => {
  const names = namesWithPrefix(prefix);

  it('round-trip every constant to its canonical name', () => {
    expect(names.length).toBeGreaterThan(prefix === 'CKU' ? 2 : 4);
    for (const name of names) {
      expect(lookup(valueOf(name)), name).toBe(NON_CANONICAL[name] ?? name);
    }
  });

  it('agree with constantName', () => {
    for (const name of names) expect(lookup(valueOf(name))).toBe(constantName(prefix, valueOf(name)));
  });
});

describe('constantName', () => {
  it('names well-known values', () => {
    expect(ckrName(CKR_PIN_LOCKED)).toBe('CKR_PIN_LOCKED');
    expect(ckaName(CKA_LABEL)).toBe('CKA_LABEL');
    expect(ckmName(CKM_AES_GCM)).toBe('CKM_AES_GCM');
    expect(ckoName(CKO_PRIVATE_KEY)).toBe('CKO_PRIVATE_KEY');
    expect(ckuName(CKU_USER)).toBe('CKU_USER');
    expect(cksName(CKS_RW_USER_FUNCTIONS)).toBe('CKS_RW_USER_FUNCTIONS');
    expect(ckaName(0x40000211)).toBe('CKA_WRAP_TEMPLATE');
    expect(ckrName(0x80000000)).toBe('CKR_VENDOR_DEFINED');
  });

  it('formats unknown values as PREFIX_0xXXXXXXXX', () => {
    expect(ckrName(0x123)).toBe('CKR_0x00000123');
    expect(ckaName(0x80000001)).toBe('CKA_0x80000001');
    expect(ckmName(0xffffffff)).toBe('CKM_0xFFFFFFFF');
    expect(constantName('XYZ', 1)).toBe('XYZ_0x00000001');
  });

  it('prints values that are not CK_ULONGs as they are', () => {
    expect(ckrName(-1)).toBe('CKR_-1');
    expect(ckrName(1.5)).toBe('CKR_1.5');
    expect(ckrName(Number.NaN)).toBe('CKR_NaN');
    expect(ckrName(2 ** 32)).toBe('CKR_4294967296');
  });

  it('narrows to a longer prefix where a group mixes enumerations', () => {
    expect(constantName('CKG', CKG_GENERATE)).toBe('CKG_GENERATE');
    expect(constantName('CKG_MGF1', 1)).toBe('CKG_MGF1_SHA1');
    expect(constantName('CKG_MGF1', 2)).toBe('CKG_MGF1_SHA256');
    expect(constantName('CKP_PKCS5_PBKD2', 4)).toBe('CKP_PKCS5_PBKD2_HMAC_SHA256');
    expect(constantName('CKF_EC', 0x00800000)).toBe('CKF_EC_OID');
    expect(constantName('CKG_MGF1', 0)).toBe('CKG_MGF1_0x00000000');
  });

  it('accepts a prefix with its trailing underscore', () => {
    expect(constantName('CKM_', CKM_AES_GCM)).toBe('CKM_AES_GCM');
  });
});
