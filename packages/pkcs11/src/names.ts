// Spec names for PKCS#11 numbers, for messages and traces. Tables come from names.generated.ts.
import { NAME_TABLE } from './names.generated.js';

function formatUnknown(prefix: string, value: number): string {
  const isUlong = Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
  return isUlong
    ? `${prefix}_0x${value.toString(16).toUpperCase().padStart(8, '0')}`
    : `${prefix}_${String(value)}`;
}

/**
 * The spec name of `value` among the constants that start with `prefix`, e.g.
 * `constantName('CKM', 0x1087)` is `'CKM_AES_GCM'`. When several names share the value, the
 * canonical one wins (not deprecated, not an alias, newest). A longer prefix narrows the choice
 * where a group mixes enumerations: `constantName('CKG_MGF1', 1)` is `'CKG_MGF1_SHA1'` while
 * `constantName('CKG', 1)` is `'CKG_GENERATE'`. Unknown values give e.g. `'CKR_0x00000123'`.
 */
export function constantName(prefix: string, value: number): string {
  const normalized = prefix.endsWith('_') ? prefix.slice(0, -1) : prefix;
  const group = normalized.split('_', 1)[0] ?? normalized;
  const candidates = NAME_TABLE[group]?.[value];
  const name = candidates?.find((candidate) => candidate.startsWith(`${normalized}_`));
  return name ?? formatUnknown(normalized, value);
}

/** Name of a CK_RV, e.g. `CKR_PIN_LOCKED`. */
export const ckrName = (code: number): string => constantName('CKR', code);
/** Name of an attribute type, e.g. `CKA_LABEL`. */
export const ckaName = (type: number): string => constantName('CKA', type);
/** Name of a mechanism type, e.g. `CKM_AES_GCM`. */
export const ckmName = (mechanism: number): string => constantName('CKM', mechanism);
/** Name of an object class, e.g. `CKO_SECRET_KEY`. */
export const ckoName = (objectClass: number): string => constantName('CKO', objectClass);
/** Name of a key type, e.g. `CKK_EC`. */
export const ckkName = (keyType: number): string => constantName('CKK', keyType);
/** Name of a user type, e.g. `CKU_USER`. */
export const ckuName = (userType: number): string => constantName('CKU', userType);
/** Name of a session state, e.g. `CKS_RW_USER_FUNCTIONS`. */
export const cksName = (state: number): string => constantName('CKS', state);
