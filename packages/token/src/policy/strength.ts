/**
 * Security strength of a key in bits (symmetric-equivalent, NIST SP 800-57 Part 1 Table 2), read
 * from the attributes the token computes: CKA_VALUE_LEN, CKA_MODULUS(_BITS), CKA_EC_PARAMS.
 */
import {
  CKA_CLASS, CKA_EC_PARAMS, CKA_KEY_TYPE, CKA_MODULUS, CKA_MODULUS_BITS, CKA_VALUE_LEN, CKK_AES, CKK_EC,
  CKK_EC_EDWARDS, CKK_EC_MONTGOMERY, CKK_RSA, CKO_SECRET_KEY,
} from '@vhsm/pkcs11';
import type { AttributeMap } from '../attributes/values.js';
import { curveOfEcParams } from '../mechanisms/asymmetric/curves.js';

/** Beyond 256 bits nothing in the threat model is stronger; a 64-byte HMAC key counts as 256. */
const MAX_STRENGTH = 256;

/** RSA modulus bits → strength (SP 800-57: 1024→80, 2048→112, 3072→128, 7680→192, 15360→256). */
const RSA_STRENGTH: readonly [modulusBits: number, strength: number][] = [
  [15360, 256], [7680, 192], [3072, 128], [2048, 112], [1024, 80],
];

/** Strength in bits, or undefined when the attributes do not say (the caller decides what that means). */
export function keyStrength(attributes: AttributeMap): number | undefined {
  const keyType = attributes.get(CKA_KEY_TYPE);
  if (attributes.get(CKA_CLASS) === CKO_SECRET_KEY) {
    const len = attributes.get(CKA_VALUE_LEN);
    if (typeof len !== 'number') return undefined;
    return Math.min(len * 8, keyType === CKK_AES ? 256 : MAX_STRENGTH);
  }
  if (keyType === CKK_RSA) {
    const bits = modulusBits(attributes);
    if (bits === undefined) return undefined;
    return RSA_STRENGTH.find(([b]) => bits >= b)?.[1] ?? 0;
  }
  if (keyType === CKK_EC || keyType === CKK_EC_EDWARDS || keyType === CKK_EC_MONTGOMERY) {
    const params = attributes.get(CKA_EC_PARAMS);
    return params instanceof Uint8Array ? curveOfEcParams(params)?.strength : undefined;
  }
  return undefined;
}

function modulusBits(attributes: AttributeMap): number | undefined {
  const bits = attributes.get(CKA_MODULUS_BITS);
  if (typeof bits === 'number') return bits;
  const modulus = attributes.get(CKA_MODULUS);
  if (!(modulus instanceof Uint8Array)) return undefined;
  const first = modulus.findIndex((b) => b !== 0);
  if (first < 0) return 0;
  return (modulus.length - first - 1) * 8 + (32 - Math.clz32(modulus[first] as number));
}
