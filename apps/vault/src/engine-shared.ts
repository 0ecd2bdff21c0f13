/** The vault's engine: one SharedWorker of the vault's origin serves every embedding iframe. */
import { createIdbStore } from '@vhsm/store-idb';
import { hostSharedWorker } from '@vhsm/worker';
import { VAULT_DB } from './engine-options.js';

hostSharedWorker({ store: () => createIdbStore({ name: VAULT_DB, soleWriter: true }) });
