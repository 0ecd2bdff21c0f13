/**
 * What the attribute table means for each entry point. Every function that makes or changes an
 * object goes through buildAttributes / changeAttributes; C_GetAttributeValue through readability.
 */
import {
  ckaName, CKA_ALWAYS_SENSITIVE, CKA_CLASS, CKA_EXTRACTABLE, CKA_KEY_GEN_MECHANISM, CKA_KEY_TYPE,
  CKA_LOCAL, CKA_MODIFIABLE, CKA_NEVER_EXTRACTABLE, CKA_SENSITIVE, CKA_CERTIFICATE_TYPE,
  CKC_X_509, CKO_CERTIFICATE, CKO_DATA, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY,
  CKR_ACTION_PROHIBITED, CKR_ATTRIBUTE_READ_ONLY, CKR_ATTRIBUTE_TYPE_INVALID,
  CKR_ATTRIBUTE_VALUE_INVALID, CKR_TEMPLATE_INCOMPLETE, CKR_TEMPLATE_INCONSISTENT,
  CK_UNAVAILABLE_INFORMATION,
} from '@vhsm/pkcs11';
import type { AttributeValue } from '@vhsm/pkcs11';
import { ckr } from '../errors.js';
import { ATTRIBUTE_TABLE, F } from './table.js';
import type { AttributeRule } from './table.js';
import { copyValue, valuesEqual } from './values.js';
import type { AttributeMap } from './values.js';

export type BuildOperation = 'create' | 'generate' | 'unwrap' | 'derive';

const KNOWN_CLASSES = new Set([CKO_DATA, CKO_CERTIFICATE, CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_SECRET_KEY]);
const KEY_CLASSES = new Set([CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_SECRET_KEY]);
const rulesCache = new Map<string, ReadonlyMap<number, AttributeRule>>();

export function isKeyClass(objectClass: number): boolean {
  return KEY_CLASSES.has(objectClass);
}

/** The rows that apply to an object of this class (and key type). */
export function rulesFor(objectClass: number, keyType?: number): ReadonlyMap<number, AttributeRule> {
  const cacheKey = `${objectClass}/${keyType ?? ''}`;
  let rules = rulesCache.get(cacheKey);
  if (!rules) {
    const map = new Map<number, AttributeRule>();
    for (const { scope, rules: rows } of ATTRIBUTE_TABLE) {
      if (!scope.classes.includes(objectClass)) continue;
      if (scope.keyTypes && (keyType === undefined || !scope.keyTypes.includes(keyType))) continue;
      for (const r of rows) map.set(r.type, r); // later, narrower rows refine earlier ones
    }
    rules = map;
    rulesCache.set(cacheKey, rules);
  }
  return rules;
}

/** Key types the table knows value attributes for. */
export function isKnownKeyType(objectClass: number, keyType: number): boolean {
  return ATTRIBUTE_TABLE.some((t) => t.scope.keyTypes?.includes(keyType) && t.scope.classes.includes(objectClass));
}

export interface BuildOptions {
  operation: BuildOperation;
  objectClass: number;
  keyType?: number;
  /** Caller's template, validated. */
  template: AttributeMap;
  /** Values the mechanism computed (CKA_MODULUS, CKA_VALUE_LEN…); they win over defaults only. */
  computed?: AttributeMap;
  /** Policy-chosen defaults that replace the table's (e.g. `strict` usage flags). */
  defaults?: ReadonlyMap<number, AttributeValue> | undefined;
  isSO: boolean;
  keyGenMechanism?: number;
  /** For derive: the base key's attributes (ALWAYS_SENSITIVE/NEVER_EXTRACTABLE inherit). */
  base?: AttributeMap;
  /**
   * Attributes the caller supplies but that are turned into key material and not kept in the map
   * (secret values): they are checked like the rest, then left out.
   */
  materialAttributes?: ReadonlySet<number>;
}

/** Build the attribute map of a new object, or throw the CK_RV the spec names. */
export function buildAttributes(options: BuildOptions): AttributeMap {
  const { operation, objectClass, keyType, template, isSO } = options;
  if (!KNOWN_CLASSES.has(objectClass)) throw ckr(CKR_ATTRIBUTE_VALUE_INVALID, `CKA_CLASS: unsupported class ${objectClass}`);
  const classInTemplate = template.get(CKA_CLASS);
  if (classInTemplate !== undefined && classInTemplate !== objectClass) {
    throw ckr(CKR_TEMPLATE_INCONSISTENT, 'CKA_CLASS does not match the operation');
  }
  const keyTypeInTemplate = template.get(CKA_KEY_TYPE);
  if (keyType !== undefined && keyTypeInTemplate !== undefined && keyTypeInTemplate !== keyType) {
    throw ckr(CKR_TEMPLATE_INCONSISTENT, 'CKA_KEY_TYPE does not match the mechanism');
  }
  if (objectClass === CKO_CERTIFICATE && template.has(CKA_CERTIFICATE_TYPE) && template.get(CKA_CERTIFICATE_TYPE) !== CKC_X_509) {
    throw ckr(CKR_ATTRIBUTE_VALUE_INVALID, 'CKA_CERTIFICATE_TYPE: only CKC_X_509 is supported');
  }
  const rules = rulesFor(objectClass, keyType);
  const forbidden = operation === 'create' ? F.FORBIDDEN_ON_CREATE
    : operation === 'generate' ? F.FORBIDDEN_ON_GENERATE : F.FORBIDDEN_ON_UNWRAP;
  const required = operation === 'create' ? F.REQUIRED_ON_CREATE
    : operation === 'generate' ? F.REQUIRED_ON_GENERATE
    : operation === 'unwrap' ? F.REQUIRED_ON_UNWRAP : 0;

  for (const [type, value] of template) {
    const rule = rules.get(type);
    if (!rule) throw ckr(CKR_ATTRIBUTE_TYPE_INVALID, `${ckaName(type)} is not an attribute of this object`);
    if (rule.flags & (F.COMPUTED | forbidden)) {
      throw ckr(CKR_ATTRIBUTE_READ_ONLY, `${ckaName(type)} cannot be given to ${operationName(operation)}`);
    }
    if (rule.flags & F.SO_ONLY_TRUE && value === true && !isSO) {
      throw ckr(CKR_ATTRIBUTE_READ_ONLY, `${ckaName(type)} can only be set to true by the SO`);
    }
  }
  for (const [type, rule] of rules) {
    if (rule.flags & required && !template.has(type) && !(type === CKA_CLASS || type === CKA_KEY_TYPE)) {
      throw ckr(CKR_TEMPLATE_INCOMPLETE, `${ckaName(type)} is required`);
    }
  }

  const attributes: AttributeMap = new Map();
  for (const [type, rule] of rules) {
    if (rule.flags & F.COMPUTED) continue;
    const value = template.get(type) ?? options.computed?.get(type) ?? defaultFor(rule, options, attributes);
    if (value !== undefined && !options.materialAttributes?.has(type)) attributes.set(type, value);
  }
  attributes.set(CKA_CLASS, objectClass);
  if (keyType !== undefined) attributes.set(CKA_KEY_TYPE, keyType);
  for (const [type, value] of options.computed ?? []) {
    if (!rules.has(type)) continue;
    if (!template.has(type)) attributes.set(type, value);
  }
  if (isKeyClass(objectClass)) setProvenance(attributes, options);
  return attributes;
}

function defaultFor(rule: AttributeRule, options: BuildOptions, building: AttributeMap): AttributeValue | undefined {
  const policyDefault = options.defaults?.get(rule.type);
  if (policyDefault !== undefined) return copyValue(policyDefault);
  const d = rule.default;
  if (d === undefined) return undefined;
  if (typeof d === 'function') {
    return d({ get: (t) => options.template.get(t) ?? building.get(t) });
  }
  return copyValue(d);
}

/** LOCAL, KEY_GEN_MECHANISM, ALWAYS_SENSITIVE, NEVER_EXTRACTABLE as the spec computes them. */
function setProvenance(attributes: AttributeMap, options: BuildOptions): void {
  const generated = options.operation === 'generate';
  attributes.set(CKA_LOCAL, generated);
  attributes.set(CKA_KEY_GEN_MECHANISM, generated && options.keyGenMechanism !== undefined
    ? options.keyGenMechanism : CK_UNAVAILABLE_INFORMATION);
  if (options.objectClass === CKO_PUBLIC_KEY) return;
  const sensitive = attributes.get(CKA_SENSITIVE) === true;
  const extractable = attributes.get(CKA_EXTRACTABLE) !== false;
  if (generated) {
    attributes.set(CKA_ALWAYS_SENSITIVE, sensitive);
    attributes.set(CKA_NEVER_EXTRACTABLE, !extractable);
  } else if (options.operation === 'derive' && options.base) {
    attributes.set(CKA_ALWAYS_SENSITIVE, options.base.get(CKA_ALWAYS_SENSITIVE) === true && sensitive);
    attributes.set(CKA_NEVER_EXTRACTABLE, options.base.get(CKA_NEVER_EXTRACTABLE) === true && !extractable);
  } else {
    attributes.set(CKA_ALWAYS_SENSITIVE, false);
    attributes.set(CKA_NEVER_EXTRACTABLE, false);
  }
}

export type ChangeOperation = 'set' | 'copy';

/**
 * Apply a template to an existing object for C_SetAttributeValue or C_CopyObject. Returns the new
 * map; the current one is left untouched so a refusal changes nothing.
 */
export function changeAttributes(
  current: AttributeMap,
  template: AttributeMap,
  operation: ChangeOperation,
  isSO: boolean,
): AttributeMap {
  const objectClass = current.get(CKA_CLASS) as number;
  const keyType = current.get(CKA_KEY_TYPE) as number | undefined;
  const rules = rulesFor(objectClass, keyType);
  if (operation === 'set' && current.get(CKA_MODIFIABLE) === false) {
    throw ckr(CKR_ACTION_PROHIBITED, 'the object is not modifiable (CKA_MODIFIABLE is false)');
  }
  const next = new Map(current);
  for (const [type, value] of template) {
    const rule = rules.get(type);
    if (!rule) throw ckr(CKR_ATTRIBUTE_TYPE_INVALID, `${ckaName(type)} is not an attribute of this object`);
    const old = current.get(type);
    if (valuesEqual(old, value) && !(rule.flags & F.SECRET)) continue; // restating a value changes nothing
    // A copy of a non-modifiable object keeps its values (SoftHSM2 refuses any change in it too).
    if (operation === 'copy' && current.get(CKA_MODIFIABLE) === false) {
      throw ckr(CKR_ATTRIBUTE_READ_ONLY, `${ckaName(type)} cannot change in a copy of a non-modifiable object`);
    }
    const changeable = rule.flags & F.MODIFIABLE || (operation === 'copy' && rule.flags & F.COPY_MODIFIABLE);
    if (!changeable || rule.flags & F.COMPUTED) {
      throw ckr(CKR_ATTRIBUTE_READ_ONLY, `${ckaName(type)} cannot be changed`);
    }
    if (rule.flags & F.ONLY_TO_TRUE && old === true && value !== true) {
      throw ckr(CKR_ATTRIBUTE_READ_ONLY, `${ckaName(type)} cannot go back to false`);
    }
    if (rule.flags & F.ONLY_TO_FALSE && old === false && value !== false) {
      throw ckr(CKR_ATTRIBUTE_READ_ONLY, `${ckaName(type)} cannot go back to true`);
    }
    if (rule.flags & F.SO_ONLY_TRUE && value === true && !isSO) {
      throw ckr(CKR_ATTRIBUTE_READ_ONLY, `${ckaName(type)} can only be set to true by the SO`);
    }
    next.set(type, value);
  }
  // ALWAYS_SENSITIVE / NEVER_EXTRACTABLE are history: a key made sensitive later stays "not always".
  return next;
}

export type Readability = 'readable' | 'sensitive' | 'invalid';

/** May C_GetAttributeValue reveal this attribute of this object? */
export function readability(attributes: AttributeMap, type: number): Readability {
  const rules = rulesFor(attributes.get(CKA_CLASS) as number, attributes.get(CKA_KEY_TYPE) as number | undefined);
  const rule = rules.get(type);
  if (!rule) return 'invalid';
  if (rule.flags & F.SECRET) {
    const hidden = attributes.get(CKA_SENSITIVE) === true || attributes.get(CKA_EXTRACTABLE) === false;
    return hidden ? 'sensitive' : 'readable';
  }
  return attributes.has(type) ? 'readable' : 'invalid';
}

/** Secret-value attribute types of an object (kept in its sealed material, not its map). */
export function secretTypes(objectClass: number, keyType?: number): number[] {
  return [...rulesFor(objectClass, keyType).values()].filter((r) => r.flags & F.SECRET).map((r) => r.type);
}

function operationName(operation: BuildOperation): string {
  return { create: 'C_CreateObject', generate: 'C_GenerateKey', unwrap: 'C_UnwrapKey', derive: 'C_DeriveKey' }[operation];
}
