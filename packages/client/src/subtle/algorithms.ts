/**
 * WebCrypto algorithm names and parameters → PKCS#11 mechanisms, key types and attributes. One
 * table per concern, like node-webcrypto-p11's template builder.
 */
import {
  CKA_DECRYPT, CKA_DERIVE, CKA_ENCRYPT, CKA_SIGN, CKA_UNWRAP, CKA_VERIFY, CKA_WRAP, CKG_MGF1_SHA1,
  CKG_MGF1_SHA256, CKG_MGF1_SHA384, CKG_MGF1_SHA512, CKK_AES, CKK_EC, CKK_EC_EDWARDS, CKK_GENERIC_SECRET,
  CKK_RSA, CKM_ECDSA_SHA1, CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512, CKM_SHA1_RSA_PKCS,
  CKM_SHA1_RSA_PKCS_PSS, CKM_SHA256, CKM_SHA256_HMAC, CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS,
  CKM_SHA384, CKM_SHA384_HMAC, CKM_SHA384_RSA_PKCS, CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512, CKM_SHA512_HMAC,
  CKM_SHA512_RSA_PKCS, CKM_SHA512_RSA_PKCS_PSS, CKM_SHA_1, CKM_SHA_1_HMAC, CKR_MECHANISM_INVALID,
  CKR_TEMPLATE_INCONSISTENT,
} from '@vhsm/pkcs11';
import { facadeError } from './errors.js';

export const ALGORITHM_NAMES = [
  'AES-GCM', 'AES-CBC', 'AES-CTR', 'AES-KW', 'RSA-OAEP', 'RSA-PSS', 'RSASSA-PKCS1-v1_5', 'ECDSA', 'ECDH',
  'Ed25519', 'HMAC', 'HKDF', 'PBKDF2', 'SHA-1', 'SHA-256', 'SHA-384', 'SHA-512',
] as const;
export type AlgorithmName = (typeof ALGORITHM_NAMES)[number];
export type HashName = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

const CANONICAL = new Map<string, AlgorithmName>(ALGORITHM_NAMES.map((n) => [n.toLowerCase(), n]));

/** A normalized algorithm: canonical name plus the caller's parameters. */
export type Params = { name: AlgorithmName } & Record<string, unknown>;

export function normalize(algorithm: unknown): Params {
  const record = typeof algorithm === 'string' ? { name: algorithm } : algorithm;
  if (typeof record !== 'object' || record === null || typeof (record as { name?: unknown }).name !== 'string') {
    throw new TypeError('algorithm: expected a name or { name, … }');
  }
  const name = CANONICAL.get((record as { name: string }).name.toLowerCase());
  if (!name) throw facadeError('NotSupportedError', `algorithm ${(record as { name: string }).name} is not supported`, CKR_MECHANISM_INVALID);
  return { ...(record as Record<string, unknown>), name };
}

interface HashInfo {
  digest: number;
  hmac: number;
  ecdsa: number;
  rsa: number;
  pss: number;
  mgf: number;
  /** Block size in bits: WebCrypto's default HMAC key length. */
  block: number;
}

export const HASHES: Readonly<Record<HashName, HashInfo>> = {
  'SHA-1': { digest: CKM_SHA_1, hmac: CKM_SHA_1_HMAC, ecdsa: CKM_ECDSA_SHA1, rsa: CKM_SHA1_RSA_PKCS, pss: CKM_SHA1_RSA_PKCS_PSS, mgf: CKG_MGF1_SHA1, block: 512 },
  'SHA-256': { digest: CKM_SHA256, hmac: CKM_SHA256_HMAC, ecdsa: CKM_ECDSA_SHA256, rsa: CKM_SHA256_RSA_PKCS, pss: CKM_SHA256_RSA_PKCS_PSS, mgf: CKG_MGF1_SHA256, block: 512 },
  'SHA-384': { digest: CKM_SHA384, hmac: CKM_SHA384_HMAC, ecdsa: CKM_ECDSA_SHA384, rsa: CKM_SHA384_RSA_PKCS, pss: CKM_SHA384_RSA_PKCS_PSS, mgf: CKG_MGF1_SHA384, block: 1024 },
  'SHA-512': { digest: CKM_SHA512, hmac: CKM_SHA512_HMAC, ecdsa: CKM_ECDSA_SHA512, rsa: CKM_SHA512_RSA_PKCS, pss: CKM_SHA512_RSA_PKCS_PSS, mgf: CKG_MGF1_SHA512, block: 1024 },
};

export function hashOf(value: unknown): HashName {
  const { name } = normalize(value);
  if (!(name in HASHES)) throw facadeError('NotSupportedError', `hash ${name} is not supported`, CKR_MECHANISM_INVALID);
  return name as HashName;
}

export type Family = 'aes' | 'hmac' | 'kdf' | 'ec' | 'ed' | 'rsa';

export const FAMILY: Readonly<Record<Exclude<AlgorithmName, HashName>, Family>> = {
  'AES-GCM': 'aes', 'AES-CBC': 'aes', 'AES-CTR': 'aes', 'AES-KW': 'aes', HMAC: 'hmac', HKDF: 'kdf', PBKDF2: 'kdf',
  ECDSA: 'ec', ECDH: 'ec', Ed25519: 'ed', 'RSA-OAEP': 'rsa', 'RSA-PSS': 'rsa', 'RSASSA-PKCS1-v1_5': 'rsa',
};

export const KEY_TYPE: Readonly<Record<Family, number>> = {
  aes: CKK_AES, hmac: CKK_GENERIC_SECRET, kdf: CKK_GENERIC_SECRET, ec: CKK_EC, ed: CKK_EC_EDWARDS, rsa: CKK_RSA,
};

/** The usages WebCrypto allows per algorithm, split by the key that carries them. */
export const USAGES: Readonly<Record<Exclude<AlgorithmName, HashName>, { secret?: KeyUsage[]; public?: KeyUsage[]; private?: KeyUsage[] }>> = {
  'AES-GCM': { secret: ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'] },
  'AES-CBC': { secret: ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'] },
  'AES-CTR': { secret: ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'] },
  'AES-KW': { secret: ['wrapKey', 'unwrapKey'] },
  HMAC: { secret: ['sign', 'verify'] },
  HKDF: { secret: ['deriveKey', 'deriveBits'] },
  PBKDF2: { secret: ['deriveKey', 'deriveBits'] },
  ECDSA: { public: ['verify'], private: ['sign'] },
  ECDH: { public: [], private: ['deriveKey', 'deriveBits'] },
  Ed25519: { public: ['verify'], private: ['sign'] },
  'RSA-OAEP': { public: ['encrypt', 'wrapKey'], private: ['decrypt', 'unwrapKey'] },
  'RSA-PSS': { public: ['verify'], private: ['sign'] },
  'RSASSA-PKCS1-v1_5': { public: ['verify'], private: ['sign'] },
};

const USAGE_ATTRIBUTE: Readonly<Record<KeyUsage, number>> = {
  encrypt: CKA_ENCRYPT, decrypt: CKA_DECRYPT, sign: CKA_SIGN, verify: CKA_VERIFY, wrapKey: CKA_WRAP,
  unwrapKey: CKA_UNWRAP, deriveKey: CKA_DERIVE, deriveBits: CKA_DERIVE,
};

/** The usage attributes each class of key has. */
const CLASS_USAGES: Readonly<Record<KeyType, readonly KeyUsage[]>> = {
  secret: ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey', 'deriveKey'],
  public: ['encrypt', 'verify', 'wrapKey'],
  private: ['decrypt', 'sign', 'unwrapKey', 'deriveKey'],
};

/** The usage attributes of a `type` key: true for each usage asked for, false for the rest. */
export function usageAttributes(type: KeyType, usages: readonly KeyUsage[]): { type: number; value: boolean }[] {
  const on = new Set(usages.map((u) => USAGE_ATTRIBUTE[u]));
  return CLASS_USAGES[type].map((u) => ({ type: USAGE_ATTRIBUTE[u], value: on.has(USAGE_ATTRIBUTE[u]) }));
}

/** Checks requested usages as WebCrypto does (SyntaxError) and returns them deduplicated. */
export function checkUsages(name: Exclude<AlgorithmName, HashName>, kind: 'secret' | 'public' | 'private' | 'pair', usages: readonly KeyUsage[]): KeyUsage[] {
  const table = USAGES[name];
  const allowed = kind === 'pair' ? [...(table.public ?? []), ...(table.private ?? [])] : table[kind] ?? [];
  if (!Array.isArray(usages)) throw new TypeError('keyUsages: expected an array');
  for (const usage of usages) {
    if (!allowed.includes(usage)) {
      throw facadeError('SyntaxError', `usage ${String(usage)} is not valid for ${name} ${kind} keys`, CKR_TEMPLATE_INCONSISTENT);
    }
  }
  return [...new Set(usages)];
}
