/** The packaged SharedWorker script: one engine for every tab of the origin, tokens in IndexedDB. */
import { createIdbStore } from '@vhsm/store-idb';
import { hostSharedWorker } from './host.js';

hostSharedWorker({ store: () => createIdbStore({ soleWriter: true }) });
