/**
 * The packaged dedicated worker script: one engine per page over the origin's IndexedDB tokens,
 * coordinated with the other tabs' workers through Web Locks.
 */
import { createIdbStore } from '@vhsm/store-idb';
import { hostDedicatedWorker } from './host.js';

hostDedicatedWorker({ store: () => createIdbStore() });
