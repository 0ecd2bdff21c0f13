/** Shared pieces of the asymmetric providers: hashes, parameter reading, buffered sign/verify. */
import {
  CKA_VALUE_LEN,
  CKG_MGF1_SHA1,
  CKG_MGF1_SHA256,
  CKG_MGF1_SHA384,
  CKG_MGF1_SHA512,
  CKM_SHA256,
  CKM_SHA384,
  CKM_SHA512,
  CKM_SHA_1,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKR_KEY_FUNCTION_NOT_PERMITTED,
  CKR_MECHANISM_PARAM_INVALID,
} from '@vhsm/pkcs11';
import type { Attribute } from '@vhsm/pkcs11';
import { concat, own } from '../../bytes.js';
import { ckr } from '../../errors.js';
import type { AttributeReader, KeyAccess, SignOperation, VerifyOperation } from '../types.js';

export type HashName = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

export interface HashInfo {
  readonly name: HashName;
  readonly ckm: number;
  readonly mgf: number;
  readonly length: number; // bytes
}

/** SHA-224 is absent on purpose: WebCrypto has no SHA-224. */
export const HASHES: readonly HashInfo[] = [
  { name: 'SHA-1', ckm: CKM_SHA_1, mgf: CKG_MGF1_SHA1, length: 20 },
  { name: 'SHA-256', ckm: CKM_SHA256, mgf: CKG_MGF1_SHA256, length: 32 },
  { name: 'SHA-384', ckm: CKM_SHA384, mgf: CKG_MGF1_SHA384, length: 48 },
  { name: 'SHA-512', ckm: CKM_SHA512, mgf: CKG_MGF1_SHA512, length: 64 },
];

export function hashInfo(name: HashName): HashInfo {
  const found = HASHES.find((h) => h.name === name);
  if (found === undefined) throw new TypeError(`unknown hash ${name}`);
  return found;
}

/** The parameter as a plain record (mechanism parameters arrive from untrusted callers). */
export function paramRecord(parameter: unknown, what: string): Record<string, unknown> {
  if (typeof parameter !== 'object' || parameter === null || Array.isArray(parameter) || parameter instanceof Uint8Array) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `${what}: expected a parameter object`);
  }
  return parameter as Record<string, unknown>;
}

export function paramUlong(record: Record<string, unknown>, field: string, what: string): number {
  const v = record[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `${what}.${field}: expected an unsigned integer`);
  }
  return v;
}

export function paramBytes(record: Record<string, unknown>, field: string, what: string): Uint8Array | undefined {
  const v = record[field];
  if (v === undefined || v === null) return undefined;
  if (!(v instanceof Uint8Array)) throw ckr(CKR_MECHANISM_PARAM_INVALID, `${what}.${field}: expected bytes`);
  return v;
}

export function noParameter(parameter: unknown, what: string): undefined {
  if (parameter !== undefined && parameter !== null && !(parameter instanceof Uint8Array && parameter.length === 0)) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `${what}: takes no parameter`);
  }
  return undefined;
}

export function requireClass(key: KeyAccess, objectClass: number, operation: string): void {
  if (key.objectClass !== objectClass) {
    const want = objectClass === CKO_PRIVATE_KEY ? 'a private key' : objectClass === CKO_PUBLIC_KEY ? 'a public key' : 'a secret key';
    throw ckr(CKR_KEY_FUNCTION_NOT_PERMITTED, `${operation} needs ${want}`);
  }
}

/** Optional CK_ULONG attribute of a request (0 or absent mean "not given", as SoftHSM2 reads it). */
export function valueLen(attributes: AttributeReader): number | undefined {
  const v = attributes.get(CKA_VALUE_LEN);
  return typeof v === 'number' && v > 0 ? v : undefined;
}

/**
 * A computed value, or the caller's own encoding of the same value when the template gave one: the
 * engine refuses computed values that differ byte for byte from the template (e.g. an exponent
 * given as 00 01 00 01, or CKA_EC_PARAMS as the "edwards25519" PrintableString).
 */
export function preferGiven(
  attributes: AttributeReader,
  type: number,
  computed: Uint8Array,
  same: (given: Uint8Array) => boolean,
): Attribute {
  const given = attributes.get(type);
  return { type, value: given instanceof Uint8Array && same(given) ? given : computed };
}

/**
 * WebCrypto signs in one call, so multi-part sign buffers the data until final. The data is copied:
 * callers may reuse their buffers between updates.
 */
export function bufferedSign(
  crypto: Crypto,
  key: CryptoKey,
  algorithm: AlgorithmIdentifier | RsaPssParams | EcdsaParams,
): SignOperation {
  const chunks: Uint8Array[] = [];
  return {
    update: (data) => {
      chunks.push(own(data));
      return Promise.resolve();
    },
    final: async () => new Uint8Array(await crypto.subtle.sign(algorithm, key, concat(chunks))),
  };
}

/**
 * Multi-part verify, buffered. A signature of the wrong length is `false` before any crypto; once
 * key and algorithm are ours, a WebCrypto failure can only come from the signature's content, so
 * it is `false` too (implementations differ on whether malformed signatures throw).
 */
export function bufferedVerify(
  crypto: Crypto,
  key: CryptoKey,
  algorithm: AlgorithmIdentifier | RsaPssParams | EcdsaParams,
  signatureLength: number,
): VerifyOperation {
  const chunks: Uint8Array[] = [];
  return {
    update: (data) => {
      chunks.push(own(data));
      return Promise.resolve();
    },
    final: async (signature) => {
      if (signature.length !== signatureLength) return false;
      try {
        return await crypto.subtle.verify(algorithm, key, own(signature), concat(chunks));
      } catch {
        return false;
      }
    },
  };
}
