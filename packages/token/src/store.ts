/**
 * TokenStore: where a token's records live. The engine seals before it stores, so a store only ever
 * sees public attributes in clear, sealed blobs, and CryptoKeys that are non-extractable. Every record
 * is structured-cloneable (IndexedDB can hold it as is).
 */
import type { AttributeValue } from '@vhsm/pkcs11';

/** A PIN's copy of the token key TK: TK wrapped under PBKDF2(PIN), then encrypted under the device key. */
export interface PinRecord {
  salt: Uint8Array;
  iterations: number;
  /** AES-GCM(DK, iv, AES-KW(PBKDF2(pin), TK)) */
  iv: Uint8Array;
  sealedTokenKey: Uint8Array;
  /** Wrong attempts since the last success; counted before the PBKDF2 work starts. */
  failures: number;
  /** Set by C_InitToken / C_InitPIN for the user PIN until the user chooses their own (CKF_USER_PIN_TO_BE_CHANGED). */
  toBeChanged: boolean;
}

/**
 * A login factor's copy of TK (a security key's WebAuthn PRF output, packages/token/src/factors.ts):
 * TK wrapped under HKDF-SHA-256(PRF output), then encrypted under DK. The PRF output is not stored.
 */
export interface FactorRecord {
  /** The WebAuthn credential id that produces the secret (not secret). */
  id: Uint8Array;
  /** Where the client evaluates PRF, kept for the client (not secret, not used by the engine). */
  prfSalt?: Uint8Array;
  /** HKDF salt. */
  salt: Uint8Array;
  /** AES-GCM(DK, iv, AES-KW(HKDF(secret), TK)); AAD names the token, its policy and the credential id. */
  iv: Uint8Array;
  sealedTokenKey: Uint8Array;
}

export interface TokenRecord {
  slot: number;
  /** Random id bound into every sealed blob's AAD, so records cannot move between tokens. */
  tokenId: string;
  label: string;
  serialNumber: string;
  policy: 'strict' | 'spec';
  /** Non-extractable AES-GCM key made at C_InitToken: a copy of the records is useless without it. */
  deviceKey: CryptoKey;
  so: PinRecord;
  user?: PinRecord;
  /** Other ways to log the user in; attempts count on `user.failures`. C_InitPIN drops them. */
  factors?: FactorRecord[];
  /**
   * AES-GCM under TK itself (no plaintext; AAD names the token and its policy). Whatever record opens
   * a key must open this too, so a script that can use DK cannot slip in a PIN, factor or policy
   * record around a TK of its own.
   */
  tokenKeyCheck: SealedBlob;
  /** Incremented by the store on every commit; lets engines sharing a store notice each other's writes. */
  generation: number;
}

export type StoredAttributes = [type: number, value: AttributeValue][];

/** A sealed blob: AES-GCM under TK (private objects) or DK (public token objects' key material). */
export interface SealedBlob {
  iv: Uint8Array;
  data: Uint8Array;
}

export interface StoredMaterial {
  format: 'raw' | 'pkcs8' | 'spki';
  /**
   * Which key sealed it: 'token' = TK (needs login), 'device' = DK, 'session' = the engine's own
   * ephemeral key (session objects only; never stored).
   */
  sealedWith: 'token' | 'device' | 'session';
  blob: SealedBlob;
}

export interface ObjectRecord {
  slot: number;
  id: number;
  /** CKA_PRIVATE=true: attributes sealed under TK; otherwise in clear. */
  private: boolean;
  attributes?: StoredAttributes;
  /**
   * Public objects: an AES-GCM tag under DK over the clear attributes, so a script that can write
   * the records cannot forge or relabel them (CKA_TRUSTED, usage flags, CKA_PRIVATE).
   */
  attributesTag?: SealedBlob;
  sealedAttributes?: SealedBlob;
  material?: StoredMaterial;
  /** Bumped on every change of this object (cache key for unsealed copies). */
  version: number;
}

/** One atomic change: all of it is stored, or none of it. The store bumps the token's generation. */
export interface Commit {
  slot: number;
  /** Replace the token record (C_InitToken); otherwise only its generation changes. */
  token?: TokenRecord;
  putObjects?: ObjectRecord[];
  deleteObjects?: number[];
  /** Delete every object of the slot first (C_InitToken). */
  wipeObjects?: boolean;
}

export interface TokenStore {
  loadToken(slot: number): Promise<TokenRecord | undefined>;
  loadObjects(slot: number): Promise<ObjectRecord[]>;
  /** Resolves to the token's new generation. */
  commit(change: Commit): Promise<number>;
  /**
   * Atomically read-modify-write the token record (PIN counters): `update` runs synchronously inside
   * the store's transaction and returns the new record, or undefined to leave it unchanged.
   */
  updateToken(
    slot: number,
    update: (current: TokenRecord | undefined) => TokenRecord | undefined,
  ): Promise<TokenRecord | undefined>;
  /**
   * The token's generation, if the store knows it without a round trip because it sees every write
   * (one process, no other writers); otherwise undefined. Lets calls that only use objects skip
   * loadToken when nothing changed.
   */
  peekGeneration?(slot: number): number | undefined;
  close?(): Promise<void>;
}

/** In-memory TokenStore. Records are cloned on the way in and out, as a real database would. */
export class MemoryStore implements TokenStore {
  readonly #tokens = new Map<number, TokenRecord>();
  readonly #objects = new Map<number, Map<number, ObjectRecord>>();

  async loadToken(slot: number): Promise<TokenRecord | undefined> {
    const token = this.#tokens.get(slot);
    return token && cloneRecord(token);
  }

  async loadObjects(slot: number): Promise<ObjectRecord[]> {
    return [...(this.#objects.get(slot)?.values() ?? [])].map(cloneRecord);
  }

  async commit(change: Commit): Promise<number> {
    const token = change.token ? cloneRecord(change.token) : this.#tokens.get(change.slot);
    if (!token) throw new Error(`no token in slot ${change.slot}`);
    let objects = this.#objects.get(change.slot);
    if (!objects || change.wipeObjects) {
      objects = new Map();
      this.#objects.set(change.slot, objects);
    }
    for (const id of change.deleteObjects ?? []) objects.delete(id);
    for (const record of change.putObjects ?? []) objects.set(record.id, cloneRecord(record));
    const generation = (this.#tokens.get(change.slot)?.generation ?? 0) + 1;
    this.#tokens.set(change.slot, { ...token, generation });
    return generation;
  }

  peekGeneration(slot: number): number | undefined {
    return this.#tokens.get(slot)?.generation;
  }

  async updateToken(
    slot: number,
    update: (current: TokenRecord | undefined) => TokenRecord | undefined,
  ): Promise<TokenRecord | undefined> {
    const current = this.#tokens.get(slot);
    const next = update(current && cloneRecord(current));
    if (next) this.#tokens.set(slot, cloneRecord(next));
    return next ?? (current && cloneRecord(current));
  }
}

function cloneRecord<T>(record: T): T {
  // CryptoKeys are structured-cloneable; keep the same object for them (Node clones them fine too).
  return structuredClone(record);
}
