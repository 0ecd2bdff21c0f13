// A friendlier layer over any CryptokiApiV3: slot/session/object classes, friendly templates and mechanism names.
export { openToken, Token } from './token.js';
export type { FriendlyTokenInfo, OpenTokenOptions } from './token.js';
export { Session, SessionObject } from './session.js';
export type { FriendlyKeyPair, FriendlySessionInfo, KeyPairOptions, ObjectRef, SecretKeyOptions } from './session.js';
export { ATTRIBUTES, decodeTemplate, encodeTemplate } from './attributes.js';
export type { AttributeName, AttributeRecord, FriendlyAttributes, FriendlyValue } from './attributes.js';
export { KEY_GENERATION, KEY_PAIR_GENERATION, toMechanism } from './mechanisms.js';
export type {
  CipherMechanisms, CurveName, DeriveMechanisms, DigestMechanisms, FriendlyMechanism, HashName, KeyPairAlgorithm,
  KeyPairParameters, MechanismName, SecretKeyAlgorithm, SignatureMechanisms,
} from './mechanisms.js';
export { KEY_TYPES, OBJECT_CLASSES, TOKEN_FLAGS } from './names.js';
export type { KeyTypeName, ObjectClassName, TokenFlags } from './names.js';
