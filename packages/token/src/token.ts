/**
 * One token: its record (label, PINs and their counters, key chain) and its token objects, shared
 * by every application of an engine. PIN checks live here; sessions and login state do not.
 */
import {
  CKF_LOGIN_REQUIRED, CKF_RNG, CKF_SO_PIN_COUNT_LOW, CKF_SO_PIN_FINAL_TRY, CKF_SO_PIN_LOCKED,
  CKF_TOKEN_INITIALIZED, CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_INITIALIZED,
  CKF_USER_PIN_LOCKED, CKF_USER_PIN_TO_BE_CHANGED, CKF_SO_PIN_TO_BE_CHANGED, CKF_RESTORE_KEY_NOT_NEEDED,
  CKA_PRIVATE, CKR_DEVICE_ERROR, CKR_PIN_INCORRECT, CKR_PIN_LOCKED, CKR_USER_PIN_NOT_INITIALIZED,
} from '@vhsm/pkcs11';
import { ckr } from './errors.js';
import { ObjectTable } from './object-table.js';
import { EngineObject } from './objects.js';
import type { PolicyName } from './policy/policy.js';
import { encodeAttributes } from './sealing.js';
import type { SealAad, Sealer } from './sealing.js';
import type { Commit, ObjectRecord, PinRecord, SealedBlob, TokenRecord, TokenStore } from './store.js';

export type PinOwner = 'so' | 'user';

/** What the TK check is bound to: the token and its policy (a policy edited in the record fails it). */
export function tokenKeyCheckAad(tokenId: string, policy: PolicyName): SealAad {
  return { tokenId, purpose: `tk-check:${policy}` };
}

/** What a public object's attribute tag is bound to. */
export function publicAttributesAad(tokenId: string, objectId: number): SealAad {
  return { tokenId, purpose: 'attributes:public', objectId };
}

/**
 * What a PIN record's seal is bound to. The policy is part of it: a script that rewrites the
 * token record's `policy` from 'strict' to 'spec' gets a token that no PIN opens.
 */
export function pinAad(tokenId: string, owner: PinOwner, policy: PolicyName): SealAad {
  return { tokenId, purpose: `pin:${owner}:${policy}` };
}

export interface TokenSettings {
  pbkdf2Iterations: number;
  maxPinTries: number;
}

export class TokenState {
  readonly slot: number;
  record: TokenRecord | undefined;
  /** Token objects by id, as of `generation`. */
  objects = new ObjectTable();
  generation = -1;
  /** TK, live while at least one application is logged in. */
  tokenKey: CryptoKey | undefined;
  /** The KEK of whoever logged in last, kept (non-extractable) to re-wrap TK for C_InitPIN. */
  readonly pinKeys = new Map<PinOwner, CryptoKey>();
  /** Applications logged in to this token (login is per application). */
  readonly logins = new Map<object, PinOwner>();
  /** Open sessions of every application, read/write ones counted apart (C_GetTokenInfo, C_InitToken). */
  readonly openSessions = { all: 0, readWrite: 0 };
  readonly #store: TokenStore;
  readonly #sealer: Sealer;
  readonly #settings: TokenSettings;
  /** Serializes state-changing calls so two of them never interleave their reads and writes. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(slot: number, store: TokenStore, sealer: Sealer, settings: TokenSettings) {
    this.slot = slot;
    this.#store = store;
    this.#sealer = sealer;
    this.#settings = settings;
  }

  get initialized(): boolean {
    return this.record !== undefined;
  }

  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Catch up with writes made by other engines over the same store. */
  async sync(): Promise<void> {
    const record = await this.#store.loadToken(this.slot);
    // Re-initialized through another engine (another tab): nobody here is logged in to the new
    // token, and the old token key must not seal anything into it.
    if (this.record && record?.tokenId !== this.record.tokenId) {
      this.logins.clear();
      this.lock();
    }
    this.record = record;
    if (!record) {
      this.objects.clear();
      this.generation = -1;
      return;
    }
    if (record.generation === this.generation) return;
    const stored = await this.#store.loadObjects(this.slot);
    const next = new ObjectTable();
    for (const r of stored) {
      const cached = this.objects.get(r.id);
      if (cached && cached.version === r.version) {
        next.set(r.id, cached);
      } else {
        // Private records are checked when unsealed: no await for them (10 000 of them at a browser start).
        const authentic = this.#authentic(r, record);
        if (typeof authentic === 'boolean' ? authentic : await authentic) next.set(r.id, EngineObject.fromRecord(r));
      }
      // A record that fails its check was written by someone without the keys: it does not exist.
    }
    for (const [id, old] of this.objects) if (!next.has(id)) old.destroyed = true;
    this.objects = next;
    this.generation = record.generation;
  }

  /**
   * sync() for calls that only use objects: no store round trip when the store can tell that nobody
   * wrote since our last look. (PIN counters change without a new generation: token info still syncs.)
   */
  async syncObjects(): Promise<void> {
    if (this.record && this.generation >= 0 && this.#store.peekGeneration?.(this.slot) === this.generation) return;
    await this.sync();
  }

  async commit(change: Omit<Commit, 'slot'>): Promise<void> {
    const before = this.generation;
    const generation = await this.#store.commit({ slot: this.slot, ...change });
    // Our view is current only if nobody else wrote in between.
    this.generation = generation === before + 1 ? generation : -1;
  }

  flags(): number {
    const record = this.record;
    let flags = CKF_RNG | CKF_LOGIN_REQUIRED | CKF_RESTORE_KEY_NOT_NEEDED;
    if (!record) return flags;
    flags |= CKF_TOKEN_INITIALIZED;
    flags |= this.#pinFlags(record.so, CKF_SO_PIN_COUNT_LOW, CKF_SO_PIN_FINAL_TRY, CKF_SO_PIN_LOCKED, CKF_SO_PIN_TO_BE_CHANGED);
    if (record.user) {
      flags |= CKF_USER_PIN_INITIALIZED;
      flags |= this.#pinFlags(record.user, CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED, CKF_USER_PIN_TO_BE_CHANGED);
    }
    return flags;
  }

  #pinFlags(pin: PinRecord, low: number, finalTry: number, locked: number, toBeChanged: number): number {
    const max = this.#settings.maxPinTries;
    let flags = pin.toBeChanged ? toBeChanged : 0;
    if (pin.failures >= max) return flags | locked;
    if (pin.failures === max - 1) flags |= finalTry;
    if (pin.failures > 0) flags |= low;
    return flags;
  }

  /**
   * Check a PIN. The attempt is counted before the slow PBKDF2 work and forgiven only on success,
   * so closing the tab mid-check, racing two tabs or restarting the worker never earns a free try.
   * Resolves to TK (extractable only when asked, for re-wrapping) and the PIN's KEK.
   */
  async verifyPin(owner: PinOwner, pin: string, extractable = false): Promise<{ tokenKey: CryptoKey; pinKey: CryptoKey }> {
    const max = this.#settings.maxPinTries;
    let counted = false;
    const before = await this.#store.updateToken(this.slot, (current) => {
      const record = current?.[owner];
      if (!current || !record || record.failures >= max) return undefined;
      counted = true;
      return { ...current, [owner]: { ...record, failures: record.failures + 1 } };
    });
    const record = before?.[owner];
    if (!before || !record) throw ckr(CKR_USER_PIN_NOT_INITIALIZED, `no ${owner} PIN is set`);
    this.record = before;
    if (!counted) throw ckr(CKR_PIN_LOCKED, `the ${owner} PIN is locked`);
    const pinKey = await this.#sealer.pinKey(pin, record.salt, record.iterations);
    let tokenKey: CryptoKey | undefined;
    try {
      tokenKey = await this.#sealer.openTokenKey(
        { iv: record.iv, data: record.sealedTokenKey }, pinKey, before.deviceKey,
        pinAad(before.tokenId, owner, before.policy), extractable);
    } catch {
      throw ckr(CKR_DEVICE_ERROR, 'the PIN record does not open under this device key');
    }
    if (!tokenKey) throw ckr(CKR_PIN_INCORRECT);
    await this.confirmTokenKey(tokenKey, before);
    this.record = await this.#store.updateToken(this.slot, (current) => {
      const r = current?.[owner];
      return current && r ? { ...current, [owner]: { ...r, failures: 0 } } : undefined;
    });
    return { tokenKey, pinKey };
  }

  /**
   * Is this the token's TK? It must open the check sealed under TK at C_InitToken — the one this
   * engine already verified, once it has (so a check rewritten since cannot vouch for another key).
   */
  async confirmTokenKey(tokenKey: CryptoKey, record: TokenRecord): Promise<void> {
    const check = this.#verifiedCheck?.tokenId === record.tokenId ? this.#verifiedCheck.blob : record.tokenKeyCheck;
    if (!check) throw ckr(CKR_DEVICE_ERROR, 'the token record has no key check');
    try {
      await this.#sealer.openBytes(tokenKey, check, tokenKeyCheckAad(record.tokenId, record.policy));
    } catch {
      throw ckr(CKR_DEVICE_ERROR, 'this record opens a key that is not the token key: the records were altered');
    }
    this.#verifiedCheck = { tokenId: record.tokenId, blob: check };
  }

  #verifiedCheck: { tokenId: string; blob: SealedBlob } | undefined;

  /**
   * Is this record one the engine wrote? Private records are sealed under TK (checked when they are
   * unsealed); a public one must carry a valid tag under DK over its clear attributes.
   */
  #authentic(r: ObjectRecord, token: TokenRecord): boolean | Promise<boolean> {
    if (r.private) return r.sealedAttributes !== undefined && r.attributes === undefined;
    if (!r.attributes || !r.attributesTag) return false;
    const privateValue = r.attributes.find(([type]) => type === CKA_PRIVATE)?.[1];
    if (privateValue !== false) return false;
    return this.#sealer.checkTag(token.deviceKey, r.attributesTag, encodeAttributes(r.attributes), publicAttributesAad(token.tokenId, r.id));
  }

  /** A PIN record for TK under a new PIN, and that PIN's KEK. */
  async newPinRecord(
    pin: string, tokenKey: CryptoKey, token: { deviceKey: CryptoKey; tokenId: string; policy: PolicyName },
    owner: PinOwner, toBeChanged: boolean,
  ): Promise<{ record: PinRecord; pinKey: CryptoKey }> {
    const salt = this.#sealer.randomBytes(16);
    const iterations = this.#settings.pbkdf2Iterations;
    const pinKey = await this.#sealer.pinKey(pin, salt, iterations);
    const sealed = await this.#sealer.sealTokenKey(tokenKey, pinKey, token.deviceKey, pinAad(token.tokenId, owner, token.policy));
    return { record: { salt, iterations, iv: sealed.iv, sealedTokenKey: sealed.data, failures: 0, toBeChanged }, pinKey };
  }

  async setPinRecord(owner: PinOwner, pin: PinRecord): Promise<void> {
    this.record = await this.#store.updateToken(this.slot, (current) => current && { ...current, [owner]: pin });
  }

  /** Drop everything unsealed (last logout, finalize). */
  lock(): void {
    this.tokenKey = undefined;
    this.pinKeys.clear();
    for (const object of this.objects.values()) object.lock();
  }
}
