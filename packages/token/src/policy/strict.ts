/**
 * `strict`: the spec plus the rules that stop API-level key extraction (docs/security.md). The rules
 * are data where they can be (conflicting roles, wrap/unwrap mechanisms, forbidden derivations);
 * the functions below only apply them. Each refusal names the attack it answers.
 */
import {
  ckmName, CKA_ALWAYS_SENSITIVE, CKA_CLASS, CKA_DECRYPT, CKA_DERIVE, CKA_DERIVE_TEMPLATE, CKA_ENCRYPT,
  CKA_EXTRACTABLE, CKA_KEY_GEN_MECHANISM, CKA_LOCAL, CKA_NEVER_EXTRACTABLE, CKA_PRIVATE, CKA_SENSITIVE, CKA_SIGN,
  CKA_SIGN_RECOVER,
  CKA_TRUSTED, CKA_UNIQUE_ID, CKA_UNWRAP, CKA_UNWRAP_TEMPLATE, CKA_VALUE_LEN, CKA_VERIFY,
  CKA_VERIFY_RECOVER, CKA_WRAP, CKA_WRAP_TEMPLATE, CKA_ALLOWED_MECHANISMS, CKM_AES_GCM,
  CKM_AES_KEY_GEN, CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD, CKM_CONCATENATE_BASE_AND_DATA,
  CKM_CONCATENATE_BASE_AND_KEY, CKM_CONCATENATE_DATA_AND_BASE, CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EC_KEY_PAIR_GEN,
  CKM_EXTRACT_KEY_FROM_KEY, CKM_GENERIC_SECRET_KEY_GEN, CKM_HKDF_KEY_GEN, CKM_RSA_PKCS_KEY_PAIR_GEN,
  CKM_RSA_PKCS_OAEP, CKM_XOR_BASE_AND_DATA,
  CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY, CKR_ACTION_PROHIBITED, CKR_ATTRIBUTE_READ_ONLY,
  CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_NOT_WRAPPABLE, CKR_MECHANISM_INVALID, CKR_TEMPLATE_INCONSISTENT,
  CKR_WRAPPING_KEY_SIZE_RANGE, ckaName,
} from '@vhsm/pkcs11';
import type { AttributeValue } from '@vhsm/pkcs11';
import { isKeyClass } from '../attributes/rules.js';
import { valuesEqual } from '../attributes/values.js';
import type { AttributeMap } from '../attributes/values.js';
import { ckr } from '../errors.js';
import type { KeyChange, KeyUse, Policy } from './policy.js';
import { keyStrength } from './strength.js';

/** The usage attributes: a key's roles. Fixed at creation under `strict`. */
export const ROLE_ATTRIBUTES: readonly number[] = [
  CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP, CKA_UNWRAP, CKA_SIGN, CKA_SIGN_RECOVER, CKA_VERIFY,
  CKA_VERIFY_RECOVER, CKA_DERIVE,
];

/** Attributes that say what a key may do with other keys; as fixed as the roles themselves. */
const ROLE_CONSTRAINTS: readonly number[] = [
  CKA_WRAP_TEMPLATE, CKA_UNWRAP_TEMPLATE, CKA_DERIVE_TEMPLATE, CKA_ALLOWED_MECHANISMS,
];

/**
 * Roles that no key may hold together, nor the two halves of a key pair between them.
 * Wrap+unwrap is not here: a key-encryption key does both, and unwrapped keys never wrap.
 */
export const CONFLICTING_ROLES: readonly { roles: readonly [number, number]; attacks: string; why: string }[] = [
  { roles: [CKA_WRAP, CKA_DECRYPT], attacks: 'A1, A1b, A2', why: 'decrypting what it wrapped reveals the wrapped key' },
  { roles: [CKA_UNWRAP, CKA_ENCRYPT], attacks: 'A3', why: 'encrypting chosen bytes and unwrapping them plants a known key' },
];

/**
 * Mechanisms `strict` wraps with: deterministic or randomized by the token, integrity-checked. Not
 * CBC_PAD, RSA_PKCS, RSA_X_509 (padding oracles, A17), not CBC/ECB (no integrity: key conjuring,
 * A6), not GCM (the caller picks the IV: two wraps under one IV XOR to the difference of the keys).
 */
export const WRAP_MECHANISMS: ReadonlySet<number> = new Set([CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD, CKM_RSA_PKCS_OAEP]);

/** Unwrapping only checks integrity before a key exists: GCM is fine here (its tag is the check). */
export const UNWRAP_MECHANISMS: ReadonlySet<number> = new Set([...WRAP_MECHANISMS, CKM_AES_GCM]);

/** Derivations whose output is a slice or a known function of the base's bytes (A13). */
export const FORBIDDEN_DERIVATIONS: ReadonlySet<number> = new Set([
  CKM_XOR_BASE_AND_DATA, CKM_EXTRACT_KEY_FROM_KEY, CKM_CONCATENATE_BASE_AND_KEY,
  CKM_CONCATENATE_BASE_AND_DATA, CKM_CONCATENATE_DATA_AND_BASE,
]);

/**
 * Key generation that draws the value from the token's RNG. CKA_LOCAL alone does not make a value
 * unknown: CKM_PKCS5_PBKD2 "generates" a key from the caller's password and salt, which the caller
 * recomputes offline (A19). Only keys made by these mechanisms can be never-known.
 */
export const RANDOM_KEY_GENERATION: ReadonlySet<number> = new Set([
  CKM_AES_KEY_GEN, CKM_GENERIC_SECRET_KEY_GEN, CKM_HKDF_KEY_GEN, CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_EC_KEY_PAIR_GEN,
  CKM_EC_EDWARDS_KEY_PAIR_GEN,
]);

/** A derived key may not be weaker than its base, up to this many bits (truncation, A13). */
export const MIN_DERIVED_STRENGTH = 128;

/**
 * Defaults that replace the table's (SoftHSM2's, which grant every role): a key gets only the roles
 * its template asks for, and secret and private keys are sensitive and unextractable unless asked.
 */
const DEFAULTS = new Map<number, ReadonlyMap<number, AttributeValue>>([
  [CKO_SECRET_KEY, new Map<number, AttributeValue>([
    [CKA_ENCRYPT, false], [CKA_DECRYPT, false], [CKA_SIGN, false], [CKA_VERIFY, false], [CKA_WRAP, false],
    [CKA_UNWRAP, false], [CKA_DERIVE, false], [CKA_SENSITIVE, true], [CKA_EXTRACTABLE, false],
  ])],
  [CKO_PRIVATE_KEY, new Map<number, AttributeValue>([
    [CKA_DECRYPT, false], [CKA_SIGN, false], [CKA_SIGN_RECOVER, false], [CKA_UNWRAP, false], [CKA_DERIVE, false],
    [CKA_SENSITIVE, true], [CKA_EXTRACTABLE, false],
  ])],
  [CKO_PUBLIC_KEY, new Map<number, AttributeValue>([
    [CKA_ENCRYPT, false], [CKA_VERIFY, false], [CKA_VERIFY_RECOVER, false], [CKA_WRAP, false], [CKA_DERIVE, false],
  ])],
]);

/**
 * When a template names no role at all, the key gets the roles that conflict with nothing — encrypt,
 * decrypt, sign, verify — so a script written for any PKCS#11 token (where defaults grant every
 * role) still encrypts and signs; wrap, unwrap and derive are always asked for explicitly.
 */
const DATA_ROLE_DEFAULTS = new Map<number, ReadonlyMap<number, AttributeValue>>([...DEFAULTS].map(([objectClass, defaults]) => {
  const data = new Map(defaults);
  for (const type of [CKA_ENCRYPT, CKA_DECRYPT, CKA_SIGN, CKA_VERIFY]) if (data.has(type)) data.set(type, true);
  return [objectClass, data];
}));

export const strictPolicy: Policy = {
  name: 'strict',
  defaults(objectClass, templates = []) {
    const asked = templates.some((t) => ROLE_ATTRIBUTES.some((type) => t.has(type)));
    return (asked ? DEFAULTS : DATA_ROLE_DEFAULTS).get(objectClass);
  },
  checkKeyChange,
  checkKeyUse,
};

function checkKeyChange(change: KeyChange): void {
  const { attributes, operation } = change;
  if (!isKeyClass(attributes.get(CKA_CLASS) as number)) return;
  if (operation === 'set' || operation === 'copy') {
    const previous = change.previous ?? new Map();
    checkChange(attributes, previous, operation);
    checkPrivate(attributes, previous);
    return;
  }
  checkPrivate(attributes, undefined);
  checkRoles(attributes, change.pairedWith);
  if (attributes.get(CKA_WRAP) === true) checkNewWrapper(attributes, change);
  if (operation === 'unwrap' || operation === 'derive') {
    // A7, A13: a key that came out of another key is never readable, whatever the template says.
    if (attributes.get(CKA_SENSITIVE) !== true) {
      throw refuse(CKR_TEMPLATE_INCONSISTENT, `${operation === 'unwrap' ? 'unwrapped' : 'derived'} keys are sensitive`);
    }
  }
  if (operation === 'derive' && change.source) checkDerived(attributes, change.source);
  if (attributes.get(CKA_TRUSTED) === true) checkTrusted(attributes);
}

/** C_SetAttributeValue and C_CopyObject: roles are fixed at creation (A1b, A8); KEKs are not copied. */
function checkChange(attributes: AttributeMap, previous: AttributeMap, operation: 'set' | 'copy'): void {
  for (const type of [...ROLE_ATTRIBUTES, ...ROLE_CONSTRAINTS]) {
    if (!valuesEqual(previous.get(type), attributes.get(type))) {
      throw refuse(CKR_ATTRIBUTE_READ_ONLY, `${ckaName(type)} is fixed when the key is made`);
    }
  }
  if (operation === 'copy' && (previous.get(CKA_WRAP) === true || previous.get(CKA_UNWRAP) === true)) {
    throw refuse(CKR_ACTION_PROHIBITED, 'key-encryption keys are not copied');
  }
  if (attributes.get(CKA_TRUSTED) === true && previous.get(CKA_TRUSTED) !== true) checkTrusted(attributes);
}

/**
 * A secret or private key whose value is hidden (sensitive or unextractable) is a private object
 * (A20): a public one is usable without the PIN, so a public copy outlives C_Logout, and a public
 * token object's material is sealed under the device key, which any script of the origin can use
 * to read it. The same rule at every entry point; lowering CKA_PRIVATE in a copy is read-only.
 */
function checkPrivate(attributes: AttributeMap, previous: AttributeMap | undefined): void {
  const objectClass = attributes.get(CKA_CLASS);
  if (objectClass !== CKO_SECRET_KEY && objectClass !== CKO_PRIVATE_KEY) return;
  const hidden = attributes.get(CKA_SENSITIVE) === true || attributes.get(CKA_EXTRACTABLE) === false;
  if (!hidden || attributes.get(CKA_PRIVATE) !== false) return;
  if (previous && previous.get(CKA_PRIVATE) !== false) {
    throw refuse(CKR_ATTRIBUTE_READ_ONLY, 'a sensitive or unextractable key stays private (CKA_PRIVATE)');
  }
  throw refuse(CKR_TEMPLATE_INCONSISTENT, 'a sensitive or unextractable key must be private (CKA_PRIVATE)');
}

function checkRoles(attributes: AttributeMap, pairedWith: AttributeMap | undefined): void {
  const has = (type: number) => attributes.get(type) === true || pairedWith?.get(type) === true;
  for (const { roles: [a, b], why } of CONFLICTING_ROLES) {
    if (has(a) && has(b)) {
      const where = attributes.get(a) === true && attributes.get(b) === true ? 'one key' : 'the two halves of a key pair';
      throw refuse(CKR_TEMPLATE_INCONSISTENT, `${ckaName(a)} and ${ckaName(b)} on ${where}: ${why}`);
    }
  }
}

/**
 * A key that may wrap must have a value nobody ever saw and nobody ever will, or every blob it makes
 * is readable by whoever knows it (A3–A7, A14, A19). Secret keys: generated here from the RNG,
 * sensitive and unextractable from birth. Public keys: generated here with a private half that is the same, or
 * imported and left inert until the SO trusts them (checked at use).
 */
function checkNewWrapper(attributes: AttributeMap, change: KeyChange): void {
  const objectClass = attributes.get(CKA_CLASS);
  if (objectClass === CKO_PUBLIC_KEY) {
    if (change.pairedWith && !neverKnown(change.pairedWith)) {
      throw refuse(CKR_TEMPLATE_INCONSISTENT, 'a wrapping public key needs a private half that is sensitive and unextractable');
    }
    return;
  }
  if (!neverKnown(attributes)) {
    throw refuse(CKR_TEMPLATE_INCONSISTENT,
      'only keys generated at random on the token, sensitive and unextractable from birth, may wrap');
  }
}

/** Generated here from the token's RNG (a key, or either half of a pair); not from a caller's input. */
function randomlyGenerated(attributes: AttributeMap): boolean {
  return attributes.get(CKA_LOCAL) === true && RANDOM_KEY_GENERATION.has(attributes.get(CKA_KEY_GEN_MECHANISM) as number);
}

/** Randomly generated here, always sensitive, never extractable. */
function neverKnown(attributes: AttributeMap): boolean {
  return randomlyGenerated(attributes) && attributes.get(CKA_ALWAYS_SENSITIVE) === true
    && attributes.get(CKA_NEVER_EXTRACTABLE) === true;
}

/** Derived keys keep their base's protection and its strength (A13). */
function checkDerived(attributes: AttributeMap, base: AttributeMap): void {
  if ((base.get(CKA_EXTRACTABLE) === false || base.get(CKA_NEVER_EXTRACTABLE) === true)
    && attributes.get(CKA_EXTRACTABLE) !== false) {
    throw refuse(CKR_TEMPLATE_INCONSISTENT, 'a key derived from an unextractable base is unextractable');
  }
  const baseStrength = keyStrength(base) ?? MIN_DERIVED_STRENGTH;
  const wanted = Math.min(baseStrength, MIN_DERIVED_STRENGTH);
  const len = attributes.get(CKA_VALUE_LEN);
  if (typeof len === 'number' && len * 8 < wanted) {
    throw refuse(CKR_TEMPLATE_INCONSISTENT, `a derived key needs at least ${wanted} bits here`);
  }
}

/** A11: CKA_TRUSTED (SO-only, enforced by the table) goes on public keys or on never-known secret keys. */
function checkTrusted(attributes: AttributeMap): void {
  if (attributes.get(CKA_CLASS) === CKO_SECRET_KEY && !neverKnown(attributes)) {
    throw refuse(CKR_TEMPLATE_INCONSISTENT, 'only keys generated at random on the token, sensitive and unextractable from birth, can be trusted');
  }
}

/**
 * Keys that act on other keys (wrap, unwrap, derive) are private objects: their records are sealed
 * under TK, while a public record's attributes — CKA_WRAP, CKA_LOCAL, CKA_TRUSTED — could be rewritten
 * (and re-tagged with the device key) by a script that can write the token's storage.
 */
function requirePrivate(use: KeyUse): void {
  if (use.key.get(CKA_PRIVATE) !== true) {
    throw refuse(CKR_KEY_FUNCTION_NOT_PERMITTED, `keys that ${use.operation} are private objects under this policy (CKA_PRIVATE)`);
  }
}

function checkKeyUse(use: KeyUse): void {
  const { mechanism: { mechanism } } = use;
  switch (use.operation) {
    case 'wrap':
      requirePrivate(use);
      if (!WRAP_MECHANISMS.has(mechanism)) {
        throw refuse(CKR_MECHANISM_INVALID, `${ckmName(mechanism)} does not wrap under this policy`);
      }
      checkWrap(use.key, use.target ?? new Map());
      return;
    case 'unwrap':
      requirePrivate(use);
      if (!UNWRAP_MECHANISMS.has(mechanism)) {
        throw refuse(CKR_MECHANISM_INVALID, `${ckmName(mechanism)} does not unwrap under this policy`);
      }
      return;
    case 'derive':
      requirePrivate(use);
      if (FORBIDDEN_DERIVATIONS.has(mechanism)) {
        throw refuse(CKR_MECHANISM_INVALID, `${ckmName(mechanism)} reveals its base key's bytes`);
      }
      return;
    default:
      // Roles were checked when the key was made and cannot have changed since.
  }
}

function checkWrap(wrapper: AttributeMap, target: AttributeMap): void {
  const trusted = wrapper.get(CKA_TRUSTED) === true;
  const fit = wrapper.get(CKA_CLASS) === CKO_PUBLIC_KEY ? randomlyGenerated(wrapper) : neverKnown(wrapper);
  if (!trusted && !fit) {
    throw refuse(CKR_KEY_FUNCTION_NOT_PERMITTED, 'this key was not generated at random on the token and is not trusted: it cannot wrap');
  }
  const id = wrapper.get(CKA_UNIQUE_ID);
  if (id !== undefined && valuesEqual(id, target.get(CKA_UNIQUE_ID))) {
    throw refuse(CKR_KEY_NOT_WRAPPABLE, 'a key does not wrap itself');
  }
  const wrapperStrength = keyStrength(wrapper) ?? 0;
  const targetStrength = keyStrength(target) ?? Number.POSITIVE_INFINITY;
  if (wrapperStrength < targetStrength) {
    throw refuse(CKR_WRAPPING_KEY_SIZE_RANGE,
      `a ${wrapperStrength}-bit wrapping key cannot protect a ${Number.isFinite(targetStrength) ? targetStrength : 'larger'}-bit key`);
  }
}

function refuse(code: number, detail: string) {
  return ckr(code, `strict policy: ${detail}`);
}
