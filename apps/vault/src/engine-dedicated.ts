/** The vault's engine where SharedWorker is missing: one per iframe, coordinated through Web Locks. */
import { createIdbStore } from '@vhsm/store-idb';
import { hostDedicatedWorker } from '@vhsm/worker';
import { VAULT_DB } from './engine-options.js';

hostDedicatedWorker({ store: () => createIdbStore({ name: VAULT_DB }) });
