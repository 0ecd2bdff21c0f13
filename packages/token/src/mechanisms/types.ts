/**
 * The seam between the engine and the algorithms. The engine owns objects, sessions and policy;
 * a MechanismProvider owns one CKM_ and does its crypto on WebCrypto. Providers never see sealed
 * records, handles or sessions, only KeyAccess views of key objects.
 */
import type { Attribute, AttributeValue } from '@vhsm/pkcs11';

/** Read-only view of a key object's attributes (already unsealed). */
export interface AttributeReader {
  get(type: number): AttributeValue | undefined;
  has(type: number): boolean;
}

/**
 * A key object as a provider sees it. Key material stays inside WebCrypto: the provider asks for a
 * CryptoKey bound to the algorithm and usages it needs, and the engine unseals one (cached).
 */
export interface KeyAccess {
  readonly keyType: number; // CKK_
  readonly objectClass: number; // CKO_SECRET_KEY, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY
  readonly attributes: AttributeReader;
  /** A non-extractable CryptoKey for `algorithm` (importKey-style algorithm) and `usages`. */
  cryptoKey(algorithm: ImportAlgorithm, usages: KeyUsage[]): Promise<CryptoKey>;
  /**
   * An extractable CryptoKey, only for C_WrapKey of this key and for reading non-sensitive values.
   * The engine has already checked CKA_EXTRACTABLE / policy before a provider can get here.
   */
  extractableCryptoKey(algorithm: ImportAlgorithm, usages: KeyUsage[]): Promise<CryptoKey>;
}

export type ImportAlgorithm =
  | AlgorithmIdentifier
  | RsaHashedImportParams
  | EcKeyImportParams
  | HmacImportParams
  | AesKeyAlgorithm;

/** How sealed material is serialized by WebCrypto's wrapKey/unwrapKey. */
export type MaterialFormat = 'raw' | 'pkcs8' | 'spki';

/**
 * Fresh key material a provider hands to the engine (generate, unwrap, derive, create). `key` is an
 * extractable CryptoKey only so the engine can seal it with wrapKey; the engine drops it afterwards.
 * `attributes` are the values the algorithm computes (CKA_VALUE_LEN, CKA_MODULUS, CKA_PUBLIC_EXPONENT,
 * CKA_MODULUS_BITS, CKA_EC_PARAMS, CKA_EC_POINT, CKA_KEY_TYPE…), never secret values.
 */
export interface NewKeyMaterial {
  key: CryptoKey;
  format: MaterialFormat;
  attributes: Attribute[];
}

export interface NewKeyPairMaterial {
  publicKey: NewKeyMaterial;
  privateKey: NewKeyMaterial;
}

/** Data pushed through a multi-part operation; one-shot calls are update + final. */
export interface CipherOperation {
  update(data: Uint8Array): Promise<Uint8Array>;
  final(): Promise<Uint8Array>;
  /**
   * Single-part (C_Encrypt/C_Decrypt) in one step, for operations that would only gather the input
   * for final: WebCrypto copies the input itself, so no copy of ours is needed.
   */
  once?(data: Uint8Array): Promise<Uint8Array>;
}

export interface SignOperation {
  update(data: Uint8Array): Promise<void>;
  final(): Promise<Uint8Array>;
}

export interface VerifyOperation {
  update(data: Uint8Array): Promise<void>;
  /** Resolves false for a wrong signature or a wrong signature length; throws for anything else. */
  final(signature: Uint8Array): Promise<boolean>;
}

export interface DigestOperation {
  update(data: Uint8Array): Promise<void>;
  final(): Promise<Uint8Array>;
}

/** What C_GenerateKey / C_UnwrapKey / C_DeriveKey asks for, read from the caller's template. */
export interface KeyRequest {
  keyType: number;
  /** The merged, validated template (caller's values and defaults). */
  attributes: AttributeReader;
}

export interface MechanismInfoFlags {
  minKeySize: number;
  maxKeySize: number;
  flags: number; // CKF_ENCRYPT | CKF_SIGN | … | CKF_HW (never set: software)
}

/**
 * One CKM_. Every method that exists is offered; `check` validates the parameter synchronously and
 * throws Pkcs11Error-carrying CKR_MECHANISM_PARAM_INVALID (via ckr()) before any crypto runs.
 */
export interface MechanismProvider<P = unknown> {
  readonly mechanism: number;
  readonly info: MechanismInfoFlags;
  /** Single-part only (RSA-OAEP, AES-KW, EdDSA): …Update answers CKR_FUNCTION_NOT_SUPPORTED, as SoftHSM2 does. */
  readonly singlePart?: boolean;
  /** Key types this mechanism accepts (CKR_KEY_TYPE_INCONSISTENT otherwise). */
  readonly keyTypes?: readonly number[];
  /** Is it available in this runtime? Called once at start-up with the engine's crypto. */
  probe?(crypto: Crypto): Promise<boolean>;
  /** Validate and normalize `mechanism.parameter`. */
  check(parameter: unknown): P;
  /** Key size in the units of MechanismInfo (bits for RSA/EC/AES… as the spec says per mechanism). */

  encrypt?(key: KeyAccess, parameter: P, crypto: Crypto): Promise<CipherOperation>;
  decrypt?(key: KeyAccess, parameter: P, crypto: Crypto): Promise<CipherOperation>;
  sign?(key: KeyAccess, parameter: P, crypto: Crypto): Promise<SignOperation>;
  verify?(key: KeyAccess, parameter: P, crypto: Crypto): Promise<VerifyOperation>;
  digest?(parameter: P, crypto: Crypto): Promise<DigestOperation>;
  generateKey?(request: KeyRequest, parameter: P, crypto: Crypto): Promise<NewKeyMaterial>;
  generateKeyPair?(
    publicRequest: KeyRequest,
    privateRequest: KeyRequest,
    parameter: P,
    crypto: Crypto,
  ): Promise<NewKeyPairMaterial>;
  /** `key` is the key to wrap; its extractableCryptoKey() may be used. */
  wrap?(wrappingKey: KeyAccess, key: KeyAccess, parameter: P, crypto: Crypto): Promise<Uint8Array>;
  unwrap?(
    unwrappingKey: KeyAccess,
    wrapped: Uint8Array,
    request: KeyRequest,
    parameter: P,
    crypto: Crypto,
  ): Promise<NewKeyMaterial>;
  derive?(baseKey: KeyAccess, request: KeyRequest, parameter: P, crypto: Crypto): Promise<NewKeyMaterial>;
}

/**
 * Per key type (CKK_): how key material enters from a C_CreateObject template and how the values a
 * caller may read (when the policy allows) come out of it.
 */
export interface KeyTypeCodec {
  readonly keyType: number;
  /** Build material from a template's value attributes (CKA_VALUE, CKA_MODULUS, CKA_PRIME_1, …). */
  importMaterial(objectClass: number, attributes: AttributeReader, crypto: Crypto): Promise<NewKeyMaterial>;
  /**
   * Public values a key object of this class must carry that only its material knows (an unwrapped
   * RSA private key's CKA_MODULUS). `key` is the extractable CryptoKey about to be sealed.
   */
  publicAttributes?(objectClass: number, key: CryptoKey, crypto: Crypto): Promise<Attribute[]>;
  /** Read those secret values out of an extractable CryptoKey (only when the policy allows). */
  exportSecretAttributes(objectClass: number, key: CryptoKey, crypto: Crypto): Promise<Attribute[]>;
  /** The algorithm to unseal material with when nothing more specific is needed (e.g. for export). */
  readonly defaultAlgorithm: (attributes: AttributeReader) => ImportAlgorithm;
  readonly defaultUsages: (objectClass: number) => KeyUsage[];
}
