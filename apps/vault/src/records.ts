/**
 * The vault's own records in its origin's localStorage (partitioned like the token's IndexedDB, so
 * they always describe the same token): which origin owns each token object (by CKA_UNIQUE_ID), and
 * which origins the user allowed to sign. Session objects die with their session: their owners are
 * kept in memory only.
 */
import type { VaultRecords } from './gate.js';

const OWNER = 'vhsm-vault:owner:';
const CONSENT = 'vhsm-vault:consent:';
/** CKA_UNIQUE_ID of session objects (see the engine): 's-' and a counter that restarts with it. */
const SESSION_OBJECT = 's-';

export class LocalRecords implements VaultRecords {
  readonly #storage: Storage;
  readonly #sessionOwners = new Map<string, string>();

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  owner(uniqueId: string): string | undefined {
    if (uniqueId.startsWith(SESSION_OBJECT)) return this.#sessionOwners.get(uniqueId);
    return this.#storage.getItem(OWNER + uniqueId) ?? undefined;
  }

  setOwner(uniqueId: string, origin: string): void {
    if (uniqueId.startsWith(SESSION_OBJECT)) this.#sessionOwners.set(uniqueId, origin);
    else this.#storage.setItem(OWNER + uniqueId, origin);
  }

  deleteOwner(uniqueId: string): void {
    this.#sessionOwners.delete(uniqueId);
    this.#storage.removeItem(OWNER + uniqueId);
  }

  consented(origin: string, action: 'sign'): boolean {
    return this.#storage.getItem(`${CONSENT}${action}:${origin}`) === 'allow';
  }

  setConsent(origin: string, action: 'sign'): void {
    this.#storage.setItem(`${CONSENT}${action}:${origin}`, 'allow');
  }
}
