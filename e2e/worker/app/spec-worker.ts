// A SharedWorker whose tokens use the 'spec' policy: WebCrypto lets callers import wrapping keys
// and read derived bits, which the default 'strict' policy refuses by design.
import { createIdbStore } from '@vhsm/store-idb';
import { hostSharedWorker } from '@vhsm/worker';

hostSharedWorker({ policy: 'spec', store: () => createIdbStore({ name: 'vhsm-spec-policy' }) });
