/**
 * connect(): start or join the worker that hosts the token and return this page's application:
 * the remote Cryptoki, the WebCrypto facade, key storage, the call trace, and close().
 */
import { CKR_DEVICE_ERROR, Pkcs11Error } from '@vhsm/pkcs11';
import type { CryptokiApiV3 } from '@vhsm/pkcs11';
import { CLIENT_LOCK_PREFIX } from '@vhsm/worker/protocol';
import type { Endpoint } from '@vhsm/worker/protocol';
import { KeyStorage } from './key-storage.js';
import { Remote } from './remote.js';
import { VhsmSubtle } from './subtle/subtle.js';
import type { FacadeOptions } from './subtle/subtle.js';
import { CallTrace } from './trace.js';
import type { Trace } from './trace.js';
import { connectVault } from './vault.js';

export interface ConnectOptions {
  /** 'shared' (one SharedWorker per origin; the default where available) or 'dedicated'. */
  mode?: 'shared' | 'dedicated';
  /** An already constructed Worker or SharedWorker to talk to instead of the packaged one. */
  worker?: Worker | SharedWorker;
  /** The origin (or page URL) of a vault that owns the token, embedded as an iframe (see vault.ts). */
  vault?: string;
  /** Start with the call trace enabled. */
  trace?: boolean;
  /** Where the WebCrypto facade keeps its keys. */
  facade?: FacadeOptions;
}

export interface VhsmConnection {
  pkcs11: CryptokiApiV3;
  subtle: VhsmSubtle;
  keyStorage: KeyStorage;
  trace: Trace;
  /** Ends this application's sessions and the connection. */
  close(): Promise<void>;
}

export async function connect(options: ConnectOptions = {}): Promise<VhsmConnection> {
  // Vault mode: the token lives in another origin's page (vault.ts), not in a worker of ours.
  if (options.vault !== undefined) return connectVault({ ...options, vault: options.vault });
  const worker = options.worker ?? startWorker(options.mode ?? (typeof SharedWorker === 'function' ? 'shared' : 'dedicated'));
  const endpoint: Endpoint = 'port' in worker ? worker.port : worker;
  const trace = new CallTrace(options.trace ?? false);
  const remote = new Remote(endpoint, trace);
  const lost = (): void => remote.dispose(new Pkcs11Error(CKR_DEVICE_ERROR, 'connect', 'the worker failed'));
  worker.addEventListener('error', lost);
  // Held for this page's lifetime: the worker takes it (and ends our application) once the page is gone.
  const release = await holdLock();
  try {
    await remote.hello(release?.name);
  } catch (e) {
    release?.release();
    throw e;
  }
  const subtle = new VhsmSubtle(remote.pkcs11, options.facade);
  return {
    pkcs11: remote.pkcs11,
    subtle,
    keyStorage: new KeyStorage(subtle),
    trace,
    async close() {
      worker.removeEventListener('error', lost);
      try {
        await remote.close();
      } finally {
        release?.release();
        if (!('port' in worker) && options.worker === undefined) worker.terminate();
      }
    },
  };
}

/**
 * The packaged worker scripts sit beside this module, so bundlers (Vite, webpack 5) find them through
 * the `new URL(…, import.meta.url)` pattern and emit them as worker chunks.
 */
function startWorker(mode: 'shared' | 'dedicated'): Worker | SharedWorker {
  return mode === 'shared'
    ? new SharedWorker(new URL('./vhsm-shared-worker.js', import.meta.url), { type: 'module', name: 'vhsm' })
    : new Worker(new URL('./vhsm-dedicated-worker.js', import.meta.url), { type: 'module', name: 'vhsm' });
}

async function holdLock(): Promise<{ name: string; release(): void } | undefined> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return undefined;
  const name = `${CLIENT_LOCK_PREFIX}${crypto.randomUUID()}`;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await new Promise<void>((granted) => {
    void locks.request(name, () => {
      granted();
      return held;
    });
  });
  return { name, release };
}
