/**
 * The one table of friendly mechanism names: `{ name: 'AES-GCM', iv }` → CKM_AES_GCM with its
 * CK_GCM_PARAMS, and the key (pair) generation names. Parameter names follow WebCrypto's where the
 * two meet (iv, additionalData, tagLength, counter, length, saltLength, label, salt, info).
 */
import {
  CKD_NULL, CKF_HKDF_SALT_DATA, CKF_HKDF_SALT_NULL, CKM_AES_CBC, CKM_AES_CBC_PAD, CKM_AES_CTR, CKM_AES_ECB,
  CKM_AES_GCM, CKM_AES_KEY_GEN, CKM_AES_KEY_WRAP, CKM_ECDH1_DERIVE, CKM_EC_EDWARDS_KEY_PAIR_GEN,
  CKM_EC_KEY_PAIR_GEN, CKM_EDDSA, CKM_GENERIC_SECRET_KEY_GEN, CKM_HKDF_DERIVE, CKM_HKDF_KEY_GEN,
  CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_PKCS_OAEP, CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID, CKZ_DATA_SPECIFIED,
  Pkcs11Error,
} from '@vhsm/pkcs11';
import type { Mechanism, MechanismParameter } from '@vhsm/pkcs11';
import { HASHES } from '../subtle/algorithms.js';
import type { HashName } from '../subtle/algorithms.js';
import { CURVES, OID } from '../subtle/der.js';
import type { CurveName } from '../subtle/der.js';
import type { FriendlyAttributes } from './attributes.js';

export type { CurveName, HashName };
type NoParameters = Record<never, never>;

/** Encryption and decryption; also the wrap and unwrap mechanisms. */
export interface CipherMechanisms {
  'AES-GCM': { iv: Uint8Array; additionalData?: Uint8Array; /** bits, default 128 */ tagLength?: number };
  'AES-CBC': { iv: Uint8Array };
  'AES-CBC-PAD': { iv: Uint8Array };
  'AES-CTR': { counter: Uint8Array; /** counter bits */ length: number };
  'AES-ECB': NoParameters;
  'AES-KW': NoParameters;
  'RSA-OAEP': { hash: HashName; label?: Uint8Array };
}
/** Signatures and MACs. */
export interface SignatureMechanisms {
  ECDSA: { hash: HashName };
  Ed25519: NoParameters;
  'RSA-PSS': { hash: HashName; saltLength: number };
  'RSASSA-PKCS1-v1_5': { hash: HashName };
  HMAC: { hash: HashName };
}
export type DigestMechanisms = { [N in HashName]: NoParameters };
export interface DeriveMechanisms {
  /** `publicKey`: the other party's EC point (uncompressed, 0x04 ‖ x ‖ y). */
  ECDH: { publicKey: Uint8Array; sharedData?: Uint8Array };
  HKDF: { hash: HashName; salt?: Uint8Array; info?: Uint8Array; extract?: boolean; expand?: boolean };
}
type AllMechanisms = CipherMechanisms & SignatureMechanisms & DigestMechanisms & DeriveMechanisms;
export type MechanismName = keyof AllMechanisms;

/** `{ name, …parameters }` for one of the mechanisms in `M`, or a raw CK_MECHANISM. */
export type FriendlyMechanism<M> = { [N in keyof M]: { name: N } & M[N] }[keyof M] | Mechanism;

function param(method: string, detail: string): never {
  throw new Pkcs11Error(CKR_MECHANISM_PARAM_INVALID, method, detail);
}

function hashOf(name: unknown, method: string): (typeof HASHES)[HashName] {
  return typeof name === 'string' && Object.hasOwn(HASHES, name) ? HASHES[name as HashName] : param(method, `hash: ${String(name)} is not supported`);
}

/** The parameter without its undefined fields (exactOptionalPropertyTypes, and so the wire carries none). */
function parameter(fields: Record<string, unknown>): MechanismParameter {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as unknown as MechanismParameter;
}

const MECHANISMS: { readonly [N in MechanismName]: (p: AllMechanisms[N], method: string) => Mechanism } = {
  'AES-GCM': (p) => ({ mechanism: CKM_AES_GCM, parameter: parameter({ iv: p.iv, aad: p.additionalData, tagBits: p.tagLength ?? 128 }) }),
  'AES-CBC': (p) => ({ mechanism: CKM_AES_CBC, parameter: p.iv }),
  'AES-CBC-PAD': (p) => ({ mechanism: CKM_AES_CBC_PAD, parameter: p.iv }),
  'AES-CTR': (p) => ({ mechanism: CKM_AES_CTR, parameter: { cb: p.counter, counterBits: p.length } }),
  'AES-ECB': () => ({ mechanism: CKM_AES_ECB }),
  'AES-KW': () => ({ mechanism: CKM_AES_KEY_WRAP }),
  'RSA-OAEP': (p, method) => {
    const hash = hashOf(p.hash, method);
    return {
      mechanism: CKM_RSA_PKCS_OAEP,
      parameter: parameter({ hashAlg: hash.digest, mgf: hash.mgf, source: p.label === undefined ? undefined : CKZ_DATA_SPECIFIED, sourceData: p.label }),
    };
  },
  ECDSA: (p, method) => ({ mechanism: hashOf(p.hash, method).ecdsa }),
  Ed25519: () => ({ mechanism: CKM_EDDSA }),
  'RSA-PSS': (p, method) => {
    const hash = hashOf(p.hash, method);
    return { mechanism: hash.pss, parameter: { hashAlg: hash.digest, mgf: hash.mgf, saltLen: p.saltLength } };
  },
  'RSASSA-PKCS1-v1_5': (p, method) => ({ mechanism: hashOf(p.hash, method).rsa }),
  HMAC: (p, method) => ({ mechanism: hashOf(p.hash, method).hmac }),
  'SHA-1': () => ({ mechanism: HASHES['SHA-1'].digest }),
  'SHA-256': () => ({ mechanism: HASHES['SHA-256'].digest }),
  'SHA-384': () => ({ mechanism: HASHES['SHA-384'].digest }),
  'SHA-512': () => ({ mechanism: HASHES['SHA-512'].digest }),
  ECDH: (p) => ({ mechanism: CKM_ECDH1_DERIVE, parameter: parameter({ kdf: CKD_NULL, publicData: p.publicKey, sharedData: p.sharedData }) }),
  HKDF: (p, method) => ({
    mechanism: CKM_HKDF_DERIVE,
    parameter: parameter({
      extract: p.extract ?? true,
      expand: p.expand ?? true,
      prfHashMechanism: hashOf(p.hash, method).digest,
      saltType: p.salt ? CKF_HKDF_SALT_DATA : CKF_HKDF_SALT_NULL,
      salt: p.salt,
      info: p.info,
    }),
  }),
};

/** A friendly mechanism → CK_MECHANISM. A raw `{ mechanism: number }` passes through unchanged. */
export function toMechanism(spec: FriendlyMechanism<AllMechanisms>, method: string): Mechanism {
  if (typeof spec !== 'object' || spec === null) throw new Pkcs11Error(CKR_MECHANISM_INVALID, method, 'expected { name, … } or { mechanism }');
  if ('mechanism' in spec) return spec;
  const name: unknown = spec.name;
  if (typeof name !== 'string' || !Object.hasOwn(MECHANISMS, name)) {
    throw new Pkcs11Error(CKR_MECHANISM_INVALID, method, `unknown mechanism ${String(name)}`);
  }
  return (MECHANISMS[name as MechanismName] as (p: unknown, method: string) => Mechanism)(spec, method);
}

// ---------------------------------------------------------------------------------------------
// Key generation

/** `table[name]`, or CKR_MECHANISM_INVALID for a name the table lacks (a JavaScript caller's typo). */
export function generationOf<T extends object>(table: T, name: keyof T, method: string): T[keyof T] {
  if (typeof name !== 'string' || !Object.hasOwn(table, name)) throw new Pkcs11Error(CKR_MECHANISM_INVALID, method, `unknown algorithm ${String(name)}`);
  return table[name];
}

/** Secret key generation: `bits` is the key length (CKA_VALUE_LEN in bytes). */
export const KEY_GENERATION = {
  AES: CKM_AES_KEY_GEN,
  'generic-secret': CKM_GENERIC_SECRET_KEY_GEN,
  HKDF: CKM_HKDF_KEY_GEN,
} as const;
export type SecretKeyAlgorithm = keyof typeof KEY_GENERATION;

/** Key pair generation: the options each algorithm takes, beyond attributes. */
export interface KeyPairParameters {
  EC: { curve: CurveName };
  RSA: { modulusBits: number; /** big-endian, default 65537 */ publicExponent?: Uint8Array };
  Ed25519: NoParameters;
}
export type KeyPairAlgorithm = keyof KeyPairParameters;

/** Each pair algorithm: its mechanism and the attributes its parameters stand for. */
export const KEY_PAIR_GENERATION: {
  readonly [A in KeyPairAlgorithm]: (p: KeyPairParameters[A], method: string) => { mechanism: number; attributes: FriendlyAttributes };
} = {
  EC: (p, method) => ({
    mechanism: CKM_EC_KEY_PAIR_GEN,
    attributes: { ecParams: CURVES.includes(p.curve) ? OID[p.curve] : param(method, `curve: ${String(p.curve)} is not supported`) },
  }),
  RSA: (p) => ({
    mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN,
    attributes: { modulusBits: p.modulusBits, publicExponent: p.publicExponent ?? Uint8Array.of(1, 0, 1) },
  }),
  Ed25519: () => ({ mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN, attributes: { ecParams: OID.Ed25519 } }),
};
