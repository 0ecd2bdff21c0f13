/**
 * TokenStore on IndexedDB. Every write is one readwrite transaction that awaits nothing but its own
 * requests (the engine has done all the crypto before calling), so a write is whole or absent, and
 * two engines over one database serialize on IndexedDB's own transaction locks.
 */
import { wrap } from 'idb';
import type { IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
import {
  CKR_ARGUMENTS_BAD, CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY, CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_RECOGNIZED,
  Pkcs11Error, isPkcs11Error,
} from '@vhsm/pkcs11';
import type { Commit, ObjectRecord, TokenRecord, TokenStore } from '@vhsm/token';
import { DEFAULT_DB_NAME, SCHEMA_VERSION, upgrade } from './schema.js';
import type { VhsmSchema } from './schema.js';

export interface IdbStoreOptions {
  /** Database name (default 'vhsm'): one database holds every slot's token. */
  name?: string;
  /** The IndexedDB to use instead of `globalThis.indexedDB` (e.g. fake-indexeddb in Node). */
  indexedDB?: IDBFactory;
  /**
   * This connection's engine is the only one writing the database (a SharedWorker serving every
   * tab of the origin): calls may trust the token generation it last saw instead of re-reading the
   * record each time. Commits from other connections still invalidate it, a task later, through a
   * BroadcastChannel; leave it off where engines share the database as peers.
   */
  soleWriter?: boolean;
}

type Db = IDBPDatabase<VhsmSchema>;
type Names = StoreNames<VhsmSchema>[];
type WriteTx = IDBPTransaction<VhsmSchema, Names, 'readwrite'>;

/** Open (creating or upgrading) the database and resolve to a TokenStore over it. */
export async function createIdbStore(options: IdbStoreOptions = {}): Promise<TokenStore> {
  const method = 'createIdbStore';
  if (typeof options !== 'object' || options === null) throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, 'options: expected an object');
  const name = options.name ?? DEFAULT_DB_NAME;
  if (typeof name !== 'string' || name === '') throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, 'name: expected a non-empty string');
  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!factory || typeof factory.open !== 'function') {
    throw new Pkcs11Error(CKR_DEVICE_ERROR, method, 'IndexedDB is not available here (pass options.indexedDB)');
  }
  let raw: IDBDatabase;
  try {
    raw = await openRaw(factory, name);
  } catch (e) {
    throw storeError(e, method);
  }
  adoptIdbInterfaces(raw);
  return new IdbStore(raw, name, options.soleWriter === true);
}

/** Open with the plain API: the upgrade steps run inside the versionchange transaction. */
function openRaw(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = factory.open(name, SCHEMA_VERSION);
    request.onupgradeneeded = (event) => {
      const tx = request.transaction as IDBTransaction;
      try {
        upgrade(request.result, tx, event.oldVersion, event.newVersion ?? SCHEMA_VERSION);
      } catch (e) {
        tx.abort();
        reject(e);
      }
    };
    request.onsuccess = () => resolve(request.result);
    // A 'blocked' event (another connection still holds an older version) needs nothing: success
    // follows once it closes, and our own connections close on versionchange.
    request.onerror = () => reject(request.error ?? new DOMException('open failed', 'UnknownError'));
  });
}

/**
 * idb recognises IndexedDB objects by the global interface objects (IDBDatabase, IDBTransaction…).
 * Where there are none (Node with an injected factory) define the missing ones from the factory's
 * own objects; `indexedDB` itself is never defined. This package opens no cursors, so a stand-in
 * IDBCursor class only keeps idb's cursor check from failing.
 */
function adoptIdbInterfaces(db: IDBDatabase): void {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.IDBRequest === 'function') return;
  const tx = db.transaction(['tokens', 'objects'], 'readonly');
  const store = tx.objectStore('objects');
  const request = store.count();
  const found: Record<string, unknown> = {
    IDBDatabase: db.constructor,
    IDBTransaction: tx.constructor,
    IDBObjectStore: store.constructor,
    IDBIndex: store.index('by-slot').constructor,
    IDBRequest: request.constructor,
    IDBCursor: class IDBCursor {},
  };
  for (const [key, value] of Object.entries(found)) {
    if (typeof g[key] !== 'function') Object.defineProperty(g, key, { value, configurable: true, writable: true });
  }
}

class IdbStore implements TokenStore {
  readonly #db: Db;
  #closed: string | undefined;
  /**
   * Commits announced by the other connections to this database (other tabs' or workers' engines),
   * so that an engine can skip re-reading the token record on every call while nobody writes.
   */
  readonly #channel: BroadcastChannel | undefined;
  /** Generations this connection knows to be current, per slot (its own reads and writes). */
  readonly #known = new Map<number, number>();

  readonly #soleWriter: boolean;

  constructor(raw: IDBDatabase, name: string, soleWriter: boolean) {
    this.#db = wrap(raw) as unknown as Db;
    this.#soleWriter = soleWriter;
    if (typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(`vhsm-store:${name}`);
      this.#channel.onmessage = (event: MessageEvent<unknown>) => {
        const slot = (event.data as { slot?: unknown } | null)?.slot;
        if (typeof slot === 'number') this.#known.delete(slot);
      };
    }
    // A newer schema (another tab's upgrade) or a deletion wants the database: let it go and stop.
    raw.addEventListener('versionchange', () => {
      this.#closed = 'the database is being upgraded or deleted by another connection';
      raw.close();
    });
    raw.addEventListener('close', () => {
      this.#closed ??= 'the browser closed the database (storage cleared?)';
    });
  }

  async loadToken(slot: number): Promise<TokenRecord | undefined> {
    const record = await this.#read('TokenStore.loadToken', (db) => db.get('tokens', slot));
    if (record) this.#known.set(slot, record.generation);
    else this.#known.delete(slot);
    return record;
  }

  /**
   * For a sole writer: the generation as of this connection's last read or write, unless another
   * connection has announced a commit since. Peers always re-read (undefined).
   */
  peekGeneration(slot: number): number | undefined {
    return this.#soleWriter ? this.#known.get(slot) : undefined;
  }

  async loadObjects(slot: number): Promise<ObjectRecord[]> {
    return this.#read('TokenStore.loadObjects', (db) => db.getAllFromIndex('objects', 'by-slot', slot));
  }

  async commit(change: Commit): Promise<number> {
    const generation = await this.#commit(change);
    this.#known.set(change.slot, generation);
    this.#channel?.postMessage({ slot: change.slot, generation });
    return generation;
  }

  #commit(change: Commit): Promise<number> {
    return this.#write('TokenStore.commit', ['tokens', 'objects'], async (tx) => {
      const tokens = tx.objectStore('tokens');
      const objects = tx.objectStore('objects');
      const slot = change.slot;
      // Read first: nothing is queued for writing until we know the commit is valid.
      const current = await tokens.get(slot);
      const token = change.token ?? current;
      if (!token) throw new Pkcs11Error(CKR_TOKEN_NOT_RECOGNIZED, 'TokenStore.commit', `no token in slot ${slot}`);
      if (token.slot !== slot || (change.putObjects ?? []).some((r) => r.slot !== slot)) {
        throw new Pkcs11Error(CKR_ARGUMENTS_BAD, 'TokenStore.commit', `records must belong to slot ${slot}`);
      }
      const requests: Promise<unknown>[] = [];
      // Queued requests fail together when a later one aborts the transaction: mark them handled
      // here, the caller hears of the first failure.
      const queue = (request: Promise<unknown>) => {
        request.catch(() => undefined);
        requests.push(request);
      };
      const wipe = change.wipeObjects ? await objects.index('by-slot').getAllKeys(slot) : [];
      for (const key of wipe) queue(objects.delete(key));
      for (const id of change.deleteObjects ?? []) queue(objects.delete([slot, id]));
      for (const record of change.putObjects ?? []) queue(objects.put(record));
      const generation = (current?.generation ?? 0) + 1;
      queue(tokens.put({ ...token, generation }));
      await Promise.all(requests);
      return generation;
    });
  }

  updateToken(
    slot: number,
    update: (current: TokenRecord | undefined) => TokenRecord | undefined,
  ): Promise<TokenRecord | undefined> {
    return this.#write('TokenStore.updateToken', ['tokens'], async (tx) => {
      const tokens = tx.objectStore('tokens');
      const current = await tokens.get(slot);
      const next = update(current);
      if (!next) return current;
      if (next.slot !== slot) throw new Pkcs11Error(CKR_ARGUMENTS_BAD, 'TokenStore.updateToken', `the record must stay in slot ${slot}`);
      await tokens.put(next);
      return next;
    });
  }

  async close(): Promise<void> {
    this.#closed ??= 'the store was closed';
    this.#channel?.close();
    this.#known.clear();
    this.#db.close();
  }

  #live(method: string): Db {
    if (this.#closed) throw new Pkcs11Error(CKR_DEVICE_REMOVED, method, this.#closed);
    return this.#db;
  }

  async #read<T>(method: string, work: (db: Db) => Promise<T>): Promise<T> {
    const db = this.#live(method);
    try {
      return await work(db);
    } catch (e) {
      throw storeError(e, method, this.#closed);
    }
  }

  /**
   * One readwrite transaction with strict durability (a PIN counter must survive a power cut, not
   * only a closed tab). `work` awaits only requests of `tx`; on any failure the transaction aborts,
   * so nothing of it is stored.
   */
  async #write<T>(method: string, names: Names, work: (tx: WriteTx) => Promise<T>): Promise<T> {
    const db = this.#live(method);
    let tx: WriteTx;
    try {
      tx = db.transaction(names, 'readwrite', { durability: 'strict' });
    } catch (e) {
      throw storeError(e, method, this.#closed);
    }
    try {
      const result = await work(tx);
      await tx.done;
      return result;
    } catch (e) {
      try {
        tx.abort();
      } catch {
        // Already aborted or finished: nothing was left to undo.
      }
      tx.done.catch(() => undefined);
      throw storeError(e, method, this.#closed);
    }
  }
}

/** A precise CK_RV for a storage failure; never echoes record contents. */
function storeError(e: unknown, method: string, closed?: string): Pkcs11Error {
  if (isPkcs11Error(e)) return e;
  if (closed) return new Pkcs11Error(CKR_DEVICE_REMOVED, method, closed);
  const name = e instanceof Error || e instanceof DOMException ? e.name : 'unknown';
  if (name === 'QuotaExceededError') return new Pkcs11Error(CKR_DEVICE_MEMORY, method, 'IndexedDB quota exceeded');
  return new Pkcs11Error(CKR_DEVICE_ERROR, method, `IndexedDB ${name}`);
}
