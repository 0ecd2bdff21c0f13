/**
 * The single place where a key-management policy plugs into the engine. The engine enforces the
 * letter of PKCS#11 itself; a Policy can only add refusals (and choose safer defaults). `spec` adds
 * nothing; `strict` (strict.ts) stops the attacks of docs/security.md.
 */
import type { AttributeValue, Mechanism } from '@vhsm/pkcs11';
import type { AttributeMap } from '../attributes/values.js';

export type PolicyName = 'spec' | 'strict';

/** A key being made or changed, seen before anything is stored. */
export interface KeyChange {
  operation: 'create' | 'generate' | 'unwrap' | 'derive' | 'copy' | 'set';
  /** The key's attributes after the change. */
  attributes: AttributeMap;
  /** Before the change (copy, set). */
  previous?: AttributeMap;
  /** The other half of a pair being generated. */
  pairedWith?: AttributeMap;
  /** The unwrapping key (unwrap) or base key (derive). */
  source?: AttributeMap;
  mechanism?: Mechanism;
  isSO: boolean;
}

/** A key about to be used by an operation. */
export interface KeyUse {
  operation: 'encrypt' | 'decrypt' | 'sign' | 'verify' | 'wrap' | 'unwrap' | 'derive';
  key: AttributeMap;
  mechanism: Mechanism;
  /** wrap: the key being wrapped. */
  target?: AttributeMap;
}

export interface Policy {
  readonly name: PolicyName;
  /**
   * Defaults that replace the attribute table's for a new key of this class. `templates` are the
   * caller's templates of the operation (both halves of a key pair), when the defaults depend on them.
   */
  defaults(objectClass: number, templates?: readonly AttributeMap[]): ReadonlyMap<number, AttributeValue> | undefined;
  /** Throws a CkrError to refuse. */
  checkKeyChange(change: KeyChange): void;
  /** Throws a CkrError to refuse. */
  checkKeyUse(use: KeyUse): void;
}

export const specPolicy: Policy = {
  name: 'spec',
  defaults: () => undefined,
  checkKeyChange: () => {},
  checkKeyUse: () => {},
};
