// The Cryptoki contract as TypeScript types: templates, mechanism parameters, result shapes
// (pkcs11js field names) and the C_ function surface every backend implements.
import type { ATTRIBUTE_KIND_TABLE, AttributeKind } from './attribute-kinds.js';

// ---------------------------------------------------------------------------------------------
// Attributes

/**
 * An attribute value, by the attribute's kind (see `attributeKind`): CK_BBOOL → boolean,
 * CK_ULONG → number, UTF-8 string → string, byte array and CK_DATE → Uint8Array,
 * CKA_*_TEMPLATE → Attribute[], CKA_ALLOWED_MECHANISMS → number[].
 */
export type AttributeValue = boolean | number | string | Uint8Array | Attribute[] | number[];

/** One CK_ATTRIBUTE. `value` is absent when only the type is asked for (C_GetAttributeValue). */
export interface Attribute {
  type: number;
  value?: AttributeValue;
}

export type Template = Attribute[];

/** The JS value of each attribute kind, as C_GetAttributeValue returns it. */
export interface AttributeKindValues {
  bool: boolean;
  ulong: number;
  string: string;
  bytes: Uint8Array;
  /** CK_DATE: 8 ASCII digits YYYYMMDD, or empty. */
  date: Uint8Array;
  attributes: Attribute[];
  mechanisms: number[];
}

type TypesOfKind<K extends AttributeKind> = (typeof ATTRIBUTE_KIND_TABLE)[K][number];

/** Every CKA_ value of the spec, as a union of literal types. */
export type KnownAttributeType = TypesOfKind<AttributeKind>;

/**
 * The value type of attribute `T`: `AttributeValueFor<typeof CKA_LABEL>` is string. For a plain
 * `number` or a type outside the spec (vendor) it is any AttributeValue.
 */
export type AttributeValueFor<T extends number> = T extends KnownAttributeType
  ? { [K in AttributeKind]: T extends TypesOfKind<K> ? AttributeKindValues[K] : never }[AttributeKind]
  : AttributeValue;

/** An attribute whose value type follows from its (literal) type. */
export type StrictAttribute = {
  [T in KnownAttributeType]: { type: T; value?: AttributeValueFor<T> };
}[KnownAttributeType];

/**
 * Opt-in checked template: `const t: StrictTemplate = [{ type: CKA_LABEL, value: new Uint8Array() }]`
 * does not compile. Assignable to Template; vendor attributes need a plain Template.
 */
export type StrictTemplate = StrictAttribute[];

// ---------------------------------------------------------------------------------------------
// Mechanisms and their parameters

/** CK_GCM_PARAMS (CKM_AES_GCM). `tagBits` defaults to 128; `ivBits` is implied by `iv`. */
export interface GcmParams {
  iv: Uint8Array;
  aad?: Uint8Array;
  tagBits?: number;
}

/** CK_CCM_PARAMS (CKM_AES_CCM). */
export interface CcmParams {
  dataLen: number;
  nonce: Uint8Array;
  aad?: Uint8Array;
  macLen: number;
}

/** CK_AES_CTR_PARAMS (CKM_AES_CTR): counter width in bits and the 16-byte counter block. */
export interface CtrParams {
  counterBits: number;
  cb: Uint8Array;
}

/** CK_RSA_PKCS_OAEP_PARAMS. `source` is CKZ_DATA_SPECIFIED when `sourceData` (the label) is used. */
export interface OaepParams {
  hashAlg: number;
  mgf: number;
  source?: number;
  sourceData?: Uint8Array;
}

/** CK_RSA_PKCS_PSS_PARAMS. */
export interface PssParams {
  hashAlg: number;
  mgf: number;
  saltLen: number;
}

/** CK_ECDH1_DERIVE_PARAMS (CKM_ECDH1_DERIVE, CKM_ECDH1_COFACTOR_DERIVE). */
export interface Ecdh1DeriveParams {
  kdf: number;
  publicData: Uint8Array;
  sharedData?: Uint8Array;
}

/**
 * CK_HKDF_PARAMS (CKM_HKDF_DERIVE, CKM_HKDF_DATA). `saltType` is CKF_HKDF_SALT_NULL, _DATA (use
 * `salt`) or _KEY (use the key handle `saltKey`).
 */
export interface HkdfParams {
  extract: boolean;
  expand: boolean;
  prfHashMechanism: number;
  saltType: number;
  salt?: Uint8Array;
  saltKey?: number;
  info?: Uint8Array;
}

/** CK_PKCS5_PBKD2_PARAMS2 (CKM_PKCS5_PBKD2). A string password is taken as UTF-8. */
export interface Pbkdf2Params {
  saltSource: number;
  saltSourceData?: Uint8Array;
  iterations: number;
  prf: number;
  prfData?: Uint8Array;
  password: Uint8Array | string;
}

/** CK_EDDSA_PARAMS (CKM_EDDSA): pre-hash flag (Ed25519ph/Ed448ph) and optional context. */
export interface EddsaParams {
  phFlag: boolean;
  contextData?: Uint8Array;
}

/** CK_SALSA20_CHACHA20_POLY1305_PARAMS (CKM_CHACHA20_POLY1305). */
export interface ChaCha20Poly1305Params {
  nonce: Uint8Array;
  aad?: Uint8Array;
}

/** CK_KEY_DERIVATION_STRING_DATA, for CKM_*_KEY_DERIVATION and CKM_CONCATENATE_*_DATA. */
export type KeyDerivationStringData = Uint8Array;

/**
 * Any mechanism parameter. A plain `Uint8Array` is the IV of CBC/CBC_PAD/ECB-style modes or a
 * KeyDerivationStringData; a plain `number` is a CK_ULONG parameter (CK_MAC_GENERAL_PARAMS:
 * the MAC length in bytes of *_HMAC_GENERAL; CK_EXTRACT_PARAMS).
 */
export type MechanismParameter =
  | Uint8Array
  | number
  | GcmParams
  | CcmParams
  | CtrParams
  | OaepParams
  | PssParams
  | Ecdh1DeriveParams
  | HkdfParams
  | Pbkdf2Params
  | EddsaParams
  | ChaCha20Poly1305Params;

/** CK_MECHANISM. */
export interface Mechanism {
  mechanism: number;
  parameter?: MechanismParameter;
}

// ---------------------------------------------------------------------------------------------
// v3.0 message-based parameters (C_EncryptMessage & co.)

/**
 * CK_GCM_MESSAGE_PARAMS, per message of a CKM_AES_GCM C_MessageEncryptInit/C_MessageDecryptInit.
 * - `iv`: the IV; with an `ivGenerator` other than CKG_NO_GENERATE only its length and its
 *   leading `ivFixedBits` bits count on input, and the token returns the IV it used.
 * - `tag`: output of encryption (in the result), input of decryption.
 */
export interface GcmMessageParams {
  iv: Uint8Array;
  ivFixedBits?: number;
  ivGenerator?: number;
  tagBits: number;
  tag?: Uint8Array;
}

/** CK_CCM_MESSAGE_PARAMS; `nonce` and `mac` work like GCM's `iv` and `tag`. */
export interface CcmMessageParams {
  dataLen: number;
  nonce: Uint8Array;
  nonceFixedBits?: number;
  nonceGenerator?: number;
  macLen: number;
  mac?: Uint8Array;
}

/** CK_SALSA20_CHACHA20_POLY1305_MSG_PARAMS; `tag` as in GCM. */
export interface ChaCha20Poly1305MessageParams {
  nonce: Uint8Array;
  tag?: Uint8Array;
}

/** A per-message parameter; `Uint8Array` for mechanisms whose parameter is a plain byte string. */
export type MessageParameter =
  | GcmMessageParams
  | CcmMessageParams
  | ChaCha20Poly1305MessageParams
  | Uint8Array;

/**
 * Result of C_EncryptMessage / the final C_EncryptMessageNext: the ciphertext (without the tag)
 * and a copy of the parameter as the token filled it in: the IV/nonce actually used and the
 * `tag` (`mac` for CCM).
 */
export interface EncryptMessageResult {
  ciphertext: Uint8Array;
  parameter: MessageParameter;
}

// ---------------------------------------------------------------------------------------------
// Result shapes (pkcs11js field names)

export interface Version {
  major: number;
  minor: number;
}

/** C_GetInfo. */
export interface ModuleInfo {
  cryptokiVersion: Version;
  manufacturerID: string;
  flags: number;
  libraryDescription: string;
  libraryVersion: Version;
}

/** C_GetSlotInfo. */
export interface SlotInfo {
  slotDescription: string;
  manufacturerID: string;
  flags: number;
  hardwareVersion: Version;
  firmwareVersion: Version;
}

/** C_GetTokenInfo. Strings are trimmed of the blank padding of CK_TOKEN_INFO. */
export interface TokenInfo {
  label: string;
  manufacturerID: string;
  model: string;
  serialNumber: string;
  flags: number;
  maxSessionCount: number;
  sessionCount: number;
  maxRwSessionCount: number;
  rwSessionCount: number;
  maxPinLen: number;
  minPinLen: number;
  totalPublicMemory: number;
  freePublicMemory: number;
  totalPrivateMemory: number;
  freePrivateMemory: number;
  hardwareVersion: Version;
  firmwareVersion: Version;
  /** YYYYMMDDhhmmss00 when the token has a clock (CKF_CLOCK_ON_TOKEN), else empty. */
  utcTime: string;
}

/** C_GetSessionInfo. */
export interface SessionInfo {
  slotID: number;
  state: number;
  flags: number;
  deviceError: number;
}

/** C_GetMechanismInfo. */
export interface MechanismInfo {
  minKeySize: number;
  maxKeySize: number;
  flags: number;
}

/** C_GenerateKeyPair. */
export interface KeyPair {
  publicKey: number;
  privateKey: number;
}

/** CK_INTERFACE without the function pointer: C_GetInterfaceList / C_GetInterface. */
export interface InterfaceInfo {
  /** e.g. "PKCS 11". */
  name: string;
  version: Version;
  flags: number;
}

// ---------------------------------------------------------------------------------------------
// The function surface

/**
 * The Cryptoki functions of CONTRACT.md. Handles are numbers, byte strings Uint8Array; every
 * function returns a Promise and rejects with a Pkcs11Error. Implemented by the engine
 * (`Cryptoki`), the native adapter and the remote client.
 */
export interface CryptokiApi {
  C_Initialize(): Promise<void>;
  C_Finalize(): Promise<void>;
  C_GetInfo(): Promise<ModuleInfo>;

  C_GetSlotList(tokenPresent?: boolean): Promise<number[]>;
  C_GetSlotInfo(slot: number): Promise<SlotInfo>;
  C_GetTokenInfo(slot: number): Promise<TokenInfo>;
  C_GetMechanismList(slot: number): Promise<number[]>;
  C_GetMechanismInfo(slot: number, type: number): Promise<MechanismInfo>;
  C_InitToken(slot: number, soPin: string, label: string): Promise<void>;
  C_InitPIN(session: number, pin: string): Promise<void>;
  C_SetPIN(session: number, oldPin: string, newPin: string): Promise<void>;

  C_OpenSession(slot: number, flags: number): Promise<number>;
  C_CloseSession(session: number): Promise<void>;
  C_CloseAllSessions(slot: number): Promise<void>;
  C_GetSessionInfo(session: number): Promise<SessionInfo>;
  /** `pin` is omitted only with a protected authentication path. */
  C_Login(session: number, userType: number, pin?: string): Promise<void>;
  C_Logout(session: number): Promise<void>;

  C_CreateObject(session: number, template: Template): Promise<number>;
  C_CopyObject(session: number, object: number, template: Template): Promise<number>;
  C_DestroyObject(session: number, object: number): Promise<void>;
  /** Resolves the template with typed values (see AttributeValue). */
  C_GetAttributeValue(session: number, object: number, template: Template): Promise<Attribute[]>;
  C_SetAttributeValue(session: number, object: number, template: Template): Promise<void>;
  C_FindObjectsInit(session: number, template: Template): Promise<void>;
  /** Up to `max` further handles (an implementation-chosen batch when omitted); [] when done. */
  C_FindObjects(session: number, max?: number): Promise<number[]>;
  C_FindObjectsFinal(session: number): Promise<void>;

  C_EncryptInit(session: number, mechanism: Mechanism, key: number): Promise<void>;
  C_Encrypt(session: number, data: Uint8Array): Promise<Uint8Array>;
  C_EncryptUpdate(session: number, data: Uint8Array): Promise<Uint8Array>;
  C_EncryptFinal(session: number): Promise<Uint8Array>;
  C_DecryptInit(session: number, mechanism: Mechanism, key: number): Promise<void>;
  C_Decrypt(session: number, data: Uint8Array): Promise<Uint8Array>;
  C_DecryptUpdate(session: number, data: Uint8Array): Promise<Uint8Array>;
  C_DecryptFinal(session: number): Promise<Uint8Array>;

  C_DigestInit(session: number, mechanism: Mechanism): Promise<void>;
  C_Digest(session: number, data: Uint8Array): Promise<Uint8Array>;
  C_DigestUpdate(session: number, data: Uint8Array): Promise<void>;
  C_DigestFinal(session: number): Promise<Uint8Array>;

  C_SignInit(session: number, mechanism: Mechanism, key: number): Promise<void>;
  C_Sign(session: number, data: Uint8Array): Promise<Uint8Array>;
  C_SignUpdate(session: number, data: Uint8Array): Promise<void>;
  C_SignFinal(session: number): Promise<Uint8Array>;
  C_VerifyInit(session: number, mechanism: Mechanism, key: number): Promise<void>;
  /** false for CKR_SIGNATURE_INVALID and CKR_SIGNATURE_LEN_RANGE; other failures reject. */
  C_Verify(session: number, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
  C_VerifyUpdate(session: number, data: Uint8Array): Promise<void>;
  /** false for CKR_SIGNATURE_INVALID and CKR_SIGNATURE_LEN_RANGE; other failures reject. */
  C_VerifyFinal(session: number, signature: Uint8Array): Promise<boolean>;

  C_GenerateKey(session: number, mechanism: Mechanism, template: Template): Promise<number>;
  C_GenerateKeyPair(
    session: number,
    mechanism: Mechanism,
    publicTemplate: Template,
    privateTemplate: Template,
  ): Promise<KeyPair>;
  C_WrapKey(session: number, mechanism: Mechanism, wrappingKey: number, key: number): Promise<Uint8Array>;
  C_UnwrapKey(
    session: number,
    mechanism: Mechanism,
    unwrappingKey: number,
    wrapped: Uint8Array,
    template: Template,
  ): Promise<number>;
  C_DeriveKey(session: number, mechanism: Mechanism, baseKey: number, template: Template): Promise<number>;
  C_GenerateRandom(session: number, length: number): Promise<Uint8Array>;
}

/**
 * The rest of PKCS#11 v3.0. A backend without a function still has it and rejects with
 * CKR_FUNCTION_NOT_SUPPORTED (C_GetFunctionStatus/C_CancelFunction: CKR_FUNCTION_NOT_PARALLEL).
 *
 * Message-based functions (v3.0 §5.13–5.18) take the per-message parameter (e.g.
 * GcmMessageParams) where C takes pParameter/ulParameterLen, and return what C writes back into
 * it: encryption resolves `{ ciphertext, parameter }` with the IV used and the tag filled in;
 * decryption takes the tag inside the parameter. Multi-part `…Next` calls end the message when
 * `flags` has CKF_END_OF_MESSAGE (encrypt/decrypt) or when the final signature part is asked
 * for (sign/verify).
 */
export interface CryptokiApiV3 extends CryptokiApi {
  C_GetInterfaceList(): Promise<InterfaceInfo[]>;
  /** The named interface (default "PKCS 11"), optionally of a given version, with these flags. */
  C_GetInterface(name?: string, version?: Version, flags?: number): Promise<InterfaceInfo>;
  /** Resolves the slot with an event, or null when CKF_DONT_BLOCK is set and none is pending. */
  C_WaitForSlotEvent(flags?: number): Promise<number | null>;

  C_LoginUser(session: number, userType: number, pin: string, username: string): Promise<void>;
  C_SessionCancel(session: number, flags: number): Promise<void>;
  C_GetOperationState(session: number): Promise<Uint8Array>;
  C_SetOperationState(
    session: number,
    state: Uint8Array,
    encryptionKey?: number,
    authenticationKey?: number,
  ): Promise<void>;
  C_GetFunctionStatus(session: number): Promise<void>;
  C_CancelFunction(session: number): Promise<void>;

  C_GetObjectSize(session: number, object: number): Promise<number>;
  C_SeedRandom(session: number, seed: Uint8Array): Promise<void>;
  C_DigestKey(session: number, key: number): Promise<void>;

  C_SignRecoverInit(session: number, mechanism: Mechanism, key: number): Promise<void>;
  C_SignRecover(session: number, data: Uint8Array): Promise<Uint8Array>;
  C_VerifyRecoverInit(session: number, mechanism: Mechanism, key: number): Promise<void>;
  /** Resolves the recovered data; an invalid signature rejects with CKR_SIGNATURE_INVALID. */
  C_VerifyRecover(session: number, signature: Uint8Array): Promise<Uint8Array>;

  C_DigestEncryptUpdate(session: number, data: Uint8Array): Promise<Uint8Array>;
  C_DecryptDigestUpdate(session: number, encrypted: Uint8Array): Promise<Uint8Array>;
  C_SignEncryptUpdate(session: number, data: Uint8Array): Promise<Uint8Array>;
  C_DecryptVerifyUpdate(session: number, encrypted: Uint8Array): Promise<Uint8Array>;

  C_MessageEncryptInit(session: number, mechanism: Mechanism, key: number): Promise<void>;
  C_EncryptMessage(
    session: number,
    parameter: MessageParameter,
    associatedData: Uint8Array,
    plaintext: Uint8Array,
  ): Promise<EncryptMessageResult>;
  /** Resolves the parameter as the token filled it in (a generated IV/nonce). */
  C_EncryptMessageBegin(
    session: number,
    parameter: MessageParameter,
    associatedData: Uint8Array,
  ): Promise<MessageParameter>;
  /** With CKF_END_OF_MESSAGE in `flags`, `parameter` of the result carries the tag. */
  C_EncryptMessageNext(
    session: number,
    parameter: MessageParameter,
    plaintextPart: Uint8Array,
    flags?: number,
  ): Promise<EncryptMessageResult>;
  C_MessageEncryptFinal(session: number): Promise<void>;

  C_MessageDecryptInit(session: number, mechanism: Mechanism, key: number): Promise<void>;
  /** Rejects with CKR_AEAD_DECRYPT_FAILED (or CKR_ENCRYPTED_DATA_INVALID) on a bad tag. */
  C_DecryptMessage(
    session: number,
    parameter: MessageParameter,
    associatedData: Uint8Array,
    ciphertext: Uint8Array,
  ): Promise<Uint8Array>;
  C_DecryptMessageBegin(session: number, parameter: MessageParameter, associatedData: Uint8Array): Promise<void>;
  C_DecryptMessageNext(
    session: number,
    parameter: MessageParameter,
    ciphertextPart: Uint8Array,
    flags?: number,
  ): Promise<Uint8Array>;
  C_MessageDecryptFinal(session: number): Promise<void>;

  C_MessageSignInit(session: number, mechanism: Mechanism, key: number): Promise<void>;
  C_SignMessage(session: number, parameter: MessageParameter | undefined, data: Uint8Array): Promise<Uint8Array>;
  C_SignMessageBegin(session: number, parameter: MessageParameter | undefined): Promise<void>;
  /** Resolves the signature when `final` is true (the message ends), else undefined. */
  C_SignMessageNext(
    session: number,
    parameter: MessageParameter | undefined,
    data: Uint8Array,
    final?: boolean,
  ): Promise<Uint8Array | undefined>;
  C_MessageSignFinal(session: number): Promise<void>;

  C_MessageVerifyInit(session: number, mechanism: Mechanism, key: number): Promise<void>;
  /** false for CKR_SIGNATURE_INVALID and CKR_SIGNATURE_LEN_RANGE, like C_Verify. */
  C_VerifyMessage(
    session: number,
    parameter: MessageParameter | undefined,
    data: Uint8Array,
    signature: Uint8Array,
  ): Promise<boolean>;
  C_VerifyMessageBegin(session: number, parameter: MessageParameter | undefined): Promise<void>;
  /**
   * With `signature` the message ends and it resolves the verdict (false as in C_Verify);
   * without, it resolves undefined.
   */
  C_VerifyMessageNext(
    session: number,
    parameter: MessageParameter | undefined,
    data: Uint8Array,
    signature?: Uint8Array,
  ): Promise<boolean | undefined>;
  C_MessageVerifyFinal(session: number): Promise<void>;
}

/** The name of a Cryptoki function. */
export type FunctionName = keyof CryptokiApiV3;
