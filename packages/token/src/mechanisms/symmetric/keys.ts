/**
 * Secret key types (CKK_AES, CKK_GENERIC_SECRET, the CKK_SHAx_HMAC types, CKK_HKDF): codecs, fresh
 * material, and the WebCrypto algorithms under which key material is moved by wrapKey/unwrapKey.
 */
import {
  CKA_EC_PARAMS,
  CKA_KEY_GEN_MECHANISM,
  CKA_PUBLIC_EXPONENT,
  CKA_VALUE,
  CKA_VALUE_LEN,
  CKK_AES,
  CKK_GENERIC_SECRET,
  CKK_HKDF,
  CKK_RSA,
  CKK_SHA256_HMAC,
  CKK_SHA384_HMAC,
  CKK_SHA512_HMAC,
  CKK_SHA_1_HMAC,
  CKO_PRIVATE_KEY,
  CKO_SECRET_KEY,
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_KEY_NOT_WRAPPABLE,
  CKR_KEY_SIZE_RANGE,
  CKR_TEMPLATE_INCOMPLETE,
  CKR_TEMPLATE_INCONSISTENT,
  CKR_WRAPPED_KEY_INVALID,
} from '@vhsm/pkcs11';
import type { Attribute } from '@vhsm/pkcs11';
import { own } from '../../bytes.js';
import { ckr } from '../../errors.js';
import type {
  AttributeReader,
  ImportAlgorithm,
  KeyAccess,
  KeyRequest,
  KeyTypeCodec,
  MaterialFormat,
  NewKeyMaterial,
} from '../types.js';
import { type Curve, ED25519, P256, P384, P521, X25519, curveOfEcParams, encodeEcParams } from '../asymmetric/curves.js';
import { mapFailure } from './util.js';

export const AES_KEY_LENGTHS = [16, 24, 32] as const;

/** Secret key types whose material is "any number of bytes", moved as an HMAC key in WebCrypto. */
export const GENERIC_KEY_TYPES = [
  CKK_GENERIC_SECRET,
  CKK_SHA_1_HMAC,
  CKK_SHA256_HMAC,
  CKK_SHA384_HMAC,
  CKK_SHA512_HMAC,
  CKK_HKDF,
] as const;

/** Largest generic secret we create, in bytes (HMAC keys beyond one hash block gain nothing). */
export const GENERIC_MAX_BYTES = 512;

// Any secret imports as HMAC whatever its length; SHA-256 is only a label, no hashing happens on import/export.
const SECRET_CARRIER: HmacImportParams = { name: 'HMAC', hash: 'SHA-256' };
const AES_CARRIER = { name: 'AES-GCM' };

function isGeneric(keyType: number): boolean {
  return (GENERIC_KEY_TYPES as readonly number[]).includes(keyType);
}

/** The import algorithm and usages that carry a secret key of `keyType` inside WebCrypto. */
export function secretCarrier(keyType: number): { algorithm: ImportAlgorithm; usages: KeyUsage[] } {
  if (keyType === CKK_AES) return { algorithm: AES_CARRIER, usages: ['encrypt', 'decrypt'] };
  return { algorithm: SECRET_CARRIER, usages: ['sign'] };
}

/** Byte length of a secret CryptoKey we created (AES or HMAC carriers report it in bits). */
export function secretLength(key: CryptoKey): number {
  const alg = key.algorithm as { length?: number };
  return Math.ceil((alg.length ?? 0) / 8);
}

export function valueLenAttributes(key: CryptoKey, generatedBy?: number): Attribute[] {
  const attributes: Attribute[] = [{ type: CKA_VALUE_LEN, value: secretLength(key) }];
  if (generatedBy !== undefined) attributes.push({ type: CKA_KEY_GEN_MECHANISM, value: generatedBy });
  return attributes;
}

/** CKA_VALUE_LEN from a template, or undefined when absent. */
export function requestedLength(attributes: AttributeReader): number | undefined {
  const v = attributes.get(CKA_VALUE_LEN);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw ckr(CKR_ATTRIBUTE_VALUE_INVALID, 'CKA_VALUE_LEN: expected a non-negative integer');
  }
  return v;
}

/**
 * The byte length a new secret key of `request` must have (generate, derive): CKA_VALUE_LEN is
 * required, and must be a size the key type and this runtime can hold.
 */
export function requiredSecretLength(request: KeyRequest): number {
  const len = requestedLength(request.attributes);
  if (len === undefined) throw ckr(CKR_TEMPLATE_INCOMPLETE, 'CKA_VALUE_LEN: required');
  // A length the key type cannot have is a bad value of CKA_VALUE_LEN (SoftHSM2 answers the same).
  checkSecretLength(request.keyType, len, CKR_ATTRIBUTE_VALUE_INVALID);
  return len;
}

export function checkSecretLength(keyType: number, len: number, code: number): void {
  if (keyType === CKK_AES) {
    if (!(AES_KEY_LENGTHS as readonly number[]).includes(len)) {
      throw ckr(code, `CKA_VALUE_LEN: AES keys are 16, 24 or 32 bytes, got ${len}`);
    }
  } else if (isGeneric(keyType)) {
    if (len < 1 || len > GENERIC_MAX_BYTES) {
      throw ckr(code, `CKA_VALUE_LEN: expected 1..${GENERIC_MAX_BYTES} bytes, got ${len}`);
    }
  } else {
    throw ckr(CKR_TEMPLATE_INCONSISTENT, `CKA_KEY_TYPE: 0x${keyType.toString(16)} is not a secret key type this mechanism makes`);
  }
}

/** The WebCrypto algorithm a derive/generate produces for a secret key of `keyType` and `len` bytes. */
export function secretTarget(keyType: number, len: number): AesKeyGenParams | HmacImportParams {
  if (keyType === CKK_AES) return { name: AES_CARRIER.name, length: len * 8 };
  return { ...SECRET_CARRIER, length: len * 8 };
}

/** Fresh random secret material, generated inside WebCrypto. */
export async function generateSecret(
  crypto: Crypto,
  keyType: number,
  len: number,
  mechanism: number,
): Promise<NewKeyMaterial> {
  const { usages } = secretCarrier(keyType);
  const key = await mapFailure(CKR_KEY_SIZE_RANGE, `CKA_VALUE_LEN: ${len} bytes is not supported by this runtime`, () =>
    crypto.subtle.generateKey(secretTarget(keyType, len), true, usages) as Promise<CryptoKey>,
  );
  return { key, format: 'raw', attributes: valueLenAttributes(key, mechanism) };
}

// --- material moved by wrap/unwrap ---------------------------------------------------------------

interface Carrier {
  format: MaterialFormat;
  algorithm: ImportAlgorithm;
  usages: KeyUsage[];
  /** Values the carrier fixes (CKA_EC_PARAMS when found by trying curves). */
  attributes: Attribute[];
}

/**
 * How the key to be wrapped is exported: secret keys as their raw value, private keys as PKCS#8
 * (WebCrypto writes the same PKCS#8 whichever signature/agreement algorithm the key is bound to).
 */
export async function wrappableKey(key: KeyAccess): Promise<{ format: MaterialFormat; key: CryptoKey }> {
  if (key.objectClass === CKO_SECRET_KEY) {
    const { algorithm, usages } = secretCarrier(key.keyType);
    return { format: 'raw', key: await key.extractableCryptoKey(algorithm, usages) };
  }
  if (key.objectClass === CKO_PRIVATE_KEY) {
    const carriers = privateCarriers(key.keyType, key.attributes);
    const carrier = carriers[0];
    if (carriers.length === 1 && carrier) {
      return { format: 'pkcs8', key: await key.extractableCryptoKey(carrier.algorithm, carrier.usages) };
    }
  }
  throw ckr(CKR_KEY_NOT_WRAPPABLE, 'key: only secret keys and RSA/EC/EdDSA/Montgomery private keys can be wrapped');
}

function privateCarriers(keyType: number, attributes: AttributeReader): Carrier[] {
  const format = 'pkcs8';
  if (keyType === CKK_RSA) return [{ format, algorithm: { name: 'RSA-PSS', hash: 'SHA-256' }, usages: ['sign'], attributes: [] }];
  const params = attributes.get(CKA_EC_PARAMS);
  const given = params instanceof Uint8Array ? curveOfEcParams(params) ?? null : undefined;
  // Without CKA_EC_PARAMS every curve of the key type is a candidate, and the one that fits is recorded.
  const candidates = (given === undefined ? CURVE_CARRIERS : CURVE_CARRIERS.filter((c) => c.curve === given))
    .filter((c) => c.curve.keyType === keyType);
  return candidates.map(({ curve, algorithm, usages }) => ({
    format, algorithm, usages,
    attributes: given === undefined ? [{ type: CKA_EC_PARAMS, value: encodeEcParams(curve) }] : [],
  }));
}

/** How a private key of each curve enters WebCrypto to be wrapped or unwrapped. */
const CURVE_CARRIERS: readonly { curve: Curve; algorithm: ImportAlgorithm; usages: KeyUsage[] }[] = [
  ...[P256, P384, P521].map((curve) => ({ curve, algorithm: { name: 'ECDSA', namedCurve: curve.name }, usages: ['sign'] as KeyUsage[] })),
  { curve: ED25519, algorithm: { name: 'Ed25519' }, usages: ['sign'] },
  { curve: X25519, algorithm: { name: 'X25519' }, usages: ['deriveBits'] },
];

/**
 * Public values WebCrypto states on the CryptoKey itself. CKA_MODULUS and CKA_EC_POINT are not among
 * them: WebCrypto gives those only through a private export, which we do not make.
 */
function publicOfPrivate(key: CryptoKey): Attribute[] {
  const alg = key.algorithm as Partial<RsaHashedKeyAlgorithm>;
  return alg.publicExponent ? [{ type: CKA_PUBLIC_EXPONENT, value: new Uint8Array(alg.publicExponent) }] : [];
}

/**
 * Unwraps into an extractable CryptoKey of the requested type with `unwrap(format, algorithm, usages)`
 * (the mechanism's unwrapKey call). Every decoding failure is CKR_WRAPPED_KEY_INVALID, one code for
 * all, so the answer says nothing about padding or tags. EC private keys without CKA_EC_PARAMS in the
 * template are tried on each curve WebCrypto knows.
 */
export async function unwrapAs(
  request: KeyRequest,
  objectClass: number,
  unwrap: (format: MaterialFormat, algorithm: ImportAlgorithm, usages: KeyUsage[]) => Promise<CryptoKey>,
): Promise<NewKeyMaterial> {
  if (objectClass === CKO_SECRET_KEY) {
    if (request.keyType !== CKK_AES && !isGeneric(request.keyType)) {
      throw ckr(CKR_TEMPLATE_INCONSISTENT, `CKA_KEY_TYPE: 0x${request.keyType.toString(16)} cannot be unwrapped here`);
    }
    const { algorithm, usages } = secretCarrier(request.keyType);
    const key = await mapFailure(CKR_WRAPPED_KEY_INVALID, 'wrapped key: cannot be unwrapped', () =>
      unwrap('raw', algorithm, usages),
    );
    const len = secretLength(key);
    const wanted = requestedLength(request.attributes);
    if (wanted !== undefined && wanted !== len) {
      throw ckr(CKR_TEMPLATE_INCONSISTENT, `CKA_VALUE_LEN: template says ${wanted}, the wrapped key has ${len} bytes`);
    }
    if (request.keyType !== CKK_AES && (len < 1 || len > GENERIC_MAX_BYTES)) {
      throw ckr(CKR_WRAPPED_KEY_INVALID, 'wrapped key: cannot be unwrapped');
    }
    return { key, format: 'raw', attributes: valueLenAttributes(key) };
  }
  if (objectClass === CKO_PRIVATE_KEY) {
    const carriers = privateCarriers(request.keyType, request.attributes);
    if (carriers.length === 0) {
      throw ckr(CKR_TEMPLATE_INCONSISTENT, `CKA_KEY_TYPE: 0x${request.keyType.toString(16)} cannot be unwrapped here`);
    }
    for (const c of carriers) {
      try {
        const key = await unwrap(c.format, c.algorithm, c.usages);
        return { key, format: c.format, attributes: [...c.attributes, ...publicOfPrivate(key)] };
      } catch {
        // Wrong curve or undecodable: try the next carrier, answer uniformly below.
      }
    }
    throw ckr(CKR_WRAPPED_KEY_INVALID, 'wrapped key: cannot be unwrapped');
  }
  throw ckr(CKR_TEMPLATE_INCONSISTENT, 'CKA_CLASS: only secret and private keys can be unwrapped');
}

// --- codecs --------------------------------------------------------------------------------------

function secretCodec(keyType: number): KeyTypeCodec {
  const carrier = secretCarrier(keyType);
  return {
    keyType,
    async importMaterial(objectClass, attributes, crypto) {
      if (objectClass !== CKO_SECRET_KEY) {
        throw ckr(CKR_TEMPLATE_INCONSISTENT, 'CKA_CLASS: this key type is a secret key');
      }
      const value = attributes.get(CKA_VALUE);
      if (!(value instanceof Uint8Array)) throw ckr(CKR_TEMPLATE_INCOMPLETE, 'CKA_VALUE: required');
      checkSecretLength(keyType, value.length, CKR_ATTRIBUTE_VALUE_INVALID);
      const key = await mapFailure(
        CKR_ATTRIBUTE_VALUE_INVALID,
        `CKA_VALUE: a ${value.length}-byte key is not supported by this runtime`,
        () => crypto.subtle.importKey('raw', own(value), carrier.algorithm, true, carrier.usages),
      );
      return { key, format: 'raw', attributes: valueLenAttributes(key) };
    },
    async exportSecretAttributes(objectClass, key, crypto) {
      if (objectClass !== CKO_SECRET_KEY) return [];
      const raw = await crypto.subtle.exportKey('raw', key);
      return [{ type: CKA_VALUE, value: new Uint8Array(raw) }];
    },
    defaultAlgorithm: () => carrier.algorithm,
    defaultUsages: () => (keyType === CKK_AES ? ['encrypt', 'decrypt'] : ['sign', 'verify']),
  };
}

export const secretKeyTypes: KeyTypeCodec[] = [CKK_AES, ...GENERIC_KEY_TYPES].map(secretCodec);
