// Where the demo's token lives: in the packaged worker behind connect(), persisted in IndexedDB, or
// (with `?vault=<origin>`) in a vault page of another origin embedded as an iframe.
// Everything else in the demo is written against CryptokiApiV3 only.
import { connect } from '@vhsm/client';
import type { CryptokiApiV3 } from '@vhsm/pkcs11';
import type { TraceLog } from './trace.js';

export interface Backend {
  pkcs11: CryptokiApiV3;
  /** Shown in the header, so nobody mistakes where the keys are. */
  where: string;
}

/** The vault chosen by `?vault=<origin>`, or undefined for worker mode. */
export function chosenVault(): string | undefined {
  return new URL(location.href).searchParams.get('vault') || undefined;
}

/** Connects to the token (this origin's worker, or `vault`) and feeds the client's call trace into `log`. */
export async function openBackend(log: TraceLog, vault?: string): Promise<Backend> {
  const connection = await connect(vault === undefined ? { trace: true } : { vault, trace: true });
  connection.trace.subscribe((r) => log.add({ source: 'token', fn: r.fn, args: r.args, rv: r.rv, code: r.code, duration: r.duration, start: r.start }));
  window.addEventListener('pagehide', () => void connection.close());
  if (vault !== undefined) {
    return { pkcs11: connection.pkcs11, where: `in the vault at ${new URL(vault).origin}, a page of another origin embedded here as an iframe, persisted in that origin's IndexedDB` };
  }
  const shared = typeof SharedWorker === 'function';
  return { pkcs11: connection.pkcs11, where: `in a ${shared ? 'SharedWorker' : 'Web Worker'} of this origin, persisted in IndexedDB (sealed under the PIN)` };
}
