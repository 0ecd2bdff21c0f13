/**
 * The database layout, as a type (idb's DBSchema) and as the upgrade steps that build it. Each step
 * takes the database from one version to the next inside the versionchange transaction; opening an
 * old database runs the missing steps in order.
 *
 * Version 1 (first layout): `tokens` keyed by `slot`; `objects` under out-of-line string keys
 * "slot/id". Version 2: `objects` keyed by the records' own [slot, id] with a `by-slot` index, so a
 * slot's objects are read and wiped without parsing keys (and without IDBKeyRange, which an injected
 * IDBFactory's world may not expose as a global).
 */
import type { DBSchema } from 'idb';
import type { ObjectRecord, TokenRecord } from '@vhsm/token';

export const SCHEMA_VERSION = 2;
export const DEFAULT_DB_NAME = 'vhsm';

export interface VhsmSchema extends DBSchema {
  tokens: { key: number; value: TokenRecord };
  objects: { key: [number, number]; value: ObjectRecord; indexes: { 'by-slot': number } };
}

type Step = (db: IDBDatabase, tx: IDBTransaction) => void;

const steps: Record<number, Step> = {
  1(db) {
    db.createObjectStore('tokens', { keyPath: 'slot' });
    db.createObjectStore('objects');
  },
  2(db, tx) {
    // Keep the old records readable under another name, move them, then drop the old store.
    const old = tx.objectStore('objects');
    old.name = 'objects-v1';
    const objects = db.createObjectStore('objects', { keyPath: ['slot', 'id'] });
    objects.createIndex('by-slot', 'slot');
    const all = old.getAll();
    all.onsuccess = () => {
      for (const record of all.result as ObjectRecord[]) objects.put(record);
      db.deleteObjectStore('objects-v1');
    };
  },
};

/** Run the steps from `oldVersion` (0 = new database) up to `newVersion`. */
export function upgrade(db: IDBDatabase, tx: IDBTransaction, oldVersion: number, newVersion: number): void {
  for (let version = oldVersion + 1; version <= newVersion; version++) {
    const step = steps[version];
    if (!step) throw new RangeError(`no upgrade step to version ${version}`);
    step(db, tx);
  }
}
