// Where the demo's token lives. Everything else is written against CryptokiApiV3 only.
import { Cryptoki } from '@vhsm/token';
import type { CryptokiApiV3 } from '@vhsm/pkcs11';
import { createIdbStore } from '@vhsm/store-idb';
import { traced } from './trace.js';

export interface Backend {
  pkcs11: CryptokiApiV3;
  /** Shown in the header, so nobody mistakes where the keys are. */
  where: string;
}

/** The persistent token of this origin. */
export async function openBackend(): Promise<Backend> {
  const store = await createIdbStore({ name: 'vhsm-demo' });
  return { pkcs11: traced(new Cryptoki({ store }), 'token'), where: 'in this page (IndexedDB)' };
}
