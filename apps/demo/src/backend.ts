// Where the demo's token lives: in the packaged worker behind connect(), persisted in IndexedDB.
// Everything else in the demo is written against CryptokiApiV3 only.
import { connect } from '@vhsm/client';
import type { CryptokiApiV3 } from '@vhsm/pkcs11';
import type { TraceLog } from './trace.js';

export interface Backend {
  pkcs11: CryptokiApiV3;
  /** Shown in the header, so nobody mistakes where the keys are. */
  where: string;
}

/** Connects to this origin's token and feeds the client's call trace into `log`. */
export async function openBackend(log: TraceLog): Promise<Backend> {
  const connection = await connect({ trace: true });
  connection.trace.subscribe((r) => log.add({ source: 'token', fn: r.fn, args: r.args, rv: r.rv, code: r.code, duration: r.duration, start: r.start }));
  const shared = typeof SharedWorker === 'function';
  window.addEventListener('pagehide', () => void connection.close());
  return { pkcs11: connection.pkcs11, where: `in a ${shared ? 'SharedWorker' : 'Web Worker'} of this origin, persisted in IndexedDB (sealed under the PIN)` };
}
