export { createIdbStore } from './idb-store.js';
export type { IdbStoreOptions } from './idb-store.js';
export { requestPersistentStorage } from './persist.js';
export type { PersistResult } from './persist.js';
export { DEFAULT_DB_NAME, SCHEMA_VERSION } from './schema.js';
export type { VhsmSchema } from './schema.js';
