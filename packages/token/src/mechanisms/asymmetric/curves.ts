/**
 * Curves as PKCS#11 names them (CKA_EC_PARAMS = DER OID, CKA_EC_POINT = DER OCTET STRING of the
 * point) and as WebCrypto names them, plus the PKCS#8 wrapper a bare private scalar needs to enter
 * WebCrypto.
 */
import {
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_CURVE_NOT_SUPPORTED,
  CKK_EC,
  CKK_EC_EDWARDS,
  CKK_EC_MONTGOMERY,
} from '@vhsm/pkcs11';
import { hex } from '../../bytes.js';
import { ckr } from '../../errors.js';
import {
  DerError,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_PRINTABLE_STRING,
  decodeExact,
  decodeOid,
  decodeTlv,
  octetString,
  oid,
  printableString,
  sequence,
  smallInteger,
} from './der.js';

export interface Curve {
  readonly keyType: number;
  /** WebCrypto namedCurve (ECDSA/ECDH), or the algorithm name for Edwards curves. */
  readonly name: 'P-256' | 'P-384' | 'P-521' | 'Ed25519' | 'X25519';
  readonly oid: string;
  /** The name PKCS#11 v3.0 also allows in CKA_EC_PARAMS, as a PrintableString (the 25519 curves). */
  readonly printableName?: string;
  /** Field size in bytes: scalar and coordinate length. */
  readonly size: number;
  readonly bits: number;
  /** Length of the public point as WebCrypto's raw format gives it. */
  readonly pointLength: number;
  /** Security strength in bits (NIST SP 800-57 Part 1 Table 2: half the group order's size). */
  readonly strength: number;
}

export const ID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';

export const P256: Curve = { keyType: CKK_EC, name: 'P-256', oid: '1.2.840.10045.3.1.7', size: 32, bits: 256, pointLength: 65, strength: 128 };
export const P384: Curve = { keyType: CKK_EC, name: 'P-384', oid: '1.3.132.0.34', size: 48, bits: 384, pointLength: 97, strength: 192 };
export const P521: Curve = { keyType: CKK_EC, name: 'P-521', oid: '1.3.132.0.35', size: 66, bits: 521, pointLength: 133, strength: 256 };
export const ED25519: Curve = {
  keyType: CKK_EC_EDWARDS, name: 'Ed25519', oid: '1.3.101.112', printableName: 'edwards25519', size: 32, bits: 256, pointLength: 32, strength: 128,
};
/** Montgomery keys are only moved (wrap/unwrap) and rated here, never generated or used: not in CURVES. */
export const X25519: Curve = {
  keyType: CKK_EC_MONTGOMERY, name: 'X25519', oid: '1.3.101.110', printableName: 'curve25519', size: 32, bits: 255, pointLength: 32, strength: 128,
};

export const CURVES: readonly Curve[] = [P256, P384, P521, ED25519];

/** Every CKA_EC_PARAMS encoding this token knows (DER OID, and the PrintableString name), as hex. */
const BY_EC_PARAMS = new Map<string, Curve>([...CURVES, X25519].flatMap((c) => [
  [hex(oid(c.oid)), c] as const,
  ...(c.printableName === undefined ? [] : [[hex(printableString(c.printableName)), c] as const]),
]));

/** The curve a CKA_EC_PARAMS value names, in either encoding; undefined for anything else. */
export function curveOfEcParams(params: Uint8Array): Curve | undefined {
  return BY_EC_PARAMS.get(hex(params));
}

export function curveByName(name: string): Curve | undefined {
  return CURVES.find((c) => c.name === name);
}

/** CKA_EC_PARAMS as this token writes it: the DER OID. */
export function encodeEcParams(curve: Curve): Uint8Array {
  return oid(curve.oid);
}

/**
 * Parses CKA_EC_PARAMS for a key of `keyType`: a namedCurve OID, or for Edwards keys also the
 * PrintableString form ("edwards25519") PKCS#11 v3.0 allows. Malformed DER is
 * CKR_ATTRIBUTE_VALUE_INVALID; a well-formed curve we cannot do is CKR_CURVE_NOT_SUPPORTED.
 */
export function parseEcParams(value: unknown, keyType: number): Curve {
  if (!(value instanceof Uint8Array)) throw ckr(CKR_ATTRIBUTE_VALUE_INVALID, 'CKA_EC_PARAMS: expected bytes');
  let curve: Curve | undefined;
  let described: string;
  try {
    const tlv = decodeTlv(value, 0);
    if (tlv.end !== value.length) throw new DerError('trailing bytes');
    if (tlv.tag === TAG_OID) {
      described = decodeOid(tlv.value);
      curve = CURVES.find((c) => c.oid === described);
    } else if (tlv.tag === TAG_PRINTABLE_STRING) {
      described = new TextDecoder().decode(tlv.value);
      curve = described === ED25519.printableName ? ED25519 : undefined;
    } else {
      throw new DerError(`tag 0x${tlv.tag.toString(16)} is neither OID nor PrintableString`);
    }
  } catch (e) {
    if (!(e instanceof DerError)) throw e;
    throw ckr(CKR_ATTRIBUTE_VALUE_INVALID, `CKA_EC_PARAMS: ${e.message}`);
  }
  if (curve === undefined || curve.keyType !== keyType) {
    throw ckr(CKR_CURVE_NOT_SUPPORTED, `CKA_EC_PARAMS: curve ${described} is not supported for this key type`);
  }
  return curve;
}

/** CKA_EC_POINT as this token writes it: DER OCTET STRING of the point. */
export function encodeEcPoint(point: Uint8Array): Uint8Array {
  return octetString(point);
}

/**
 * The raw point from CKA_EC_POINT (or CKM_ECDH1_DERIVE publicData): the DER OCTET STRING form, or
 * the bare point as SoftHSM2 also accepts. Lengths tell them apart: for every curve here the DER
 * form is 2 or 3 bytes longer than the point. Returns undefined if neither fits.
 */
export function parseEcPoint(value: Uint8Array, curve: Curve): Uint8Array | undefined {
  const raw = (p: Uint8Array): boolean =>
    p.length === curve.pointLength && (curve.keyType === CKK_EC_EDWARDS || p[0] === 0x04);
  if (raw(value)) return value;
  try {
    const inner = decodeExact(value, TAG_OCTET_STRING);
    return raw(inner) ? inner : undefined;
  } catch (e) {
    if (e instanceof DerError) return undefined;
    throw e;
  }
}

/**
 * PKCS#8 PrivateKeyInfo for a private scalar. For NIST curves the RFC 5915 ECPrivateKey leaves out
 * the optional public key, which only scalar multiplication (not done in JS here) could supply:
 * Node/OpenSSL and @peculiar/webcrypto compute it on import (tested); Chromium's BoringSSL parser
 * does too (EC_KEY_parse_private_key); Firefox/NSS is not verified. Ed25519 wraps the seed as
 * RFC 8410 says.
 */
export function privateKeyPkcs8(curve: Curve, scalar: Uint8Array): Uint8Array {
  if (curve.keyType === CKK_EC_EDWARDS) {
    return sequence(smallInteger(0), sequence(oid(curve.oid)), octetString(octetString(scalar)));
  }
  const ecPrivateKey = sequence(smallInteger(1), octetString(scalar));
  return sequence(smallInteger(0), sequence(oid(ID_EC_PUBLIC_KEY), oid(curve.oid)), octetString(ecPrivateKey));
}
