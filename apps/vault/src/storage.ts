/**
 * Where the vault keeps its token. In a cross-site iframe the browser decides:
 * - 'own': the iframe's own storage. Browsers that partition third-party storage (Chromium,
 *   Firefox, Safari) key it by the top-level site, so each embedding site has its own token.
 * - 'granted': the Storage Access API "beyond cookies" (Chromium 125+) hands out the vault
 *   origin's unpartitioned storage: its localStorage, Web Locks and a SharedWorker of the vault's
 *   first-party context, where the engine and its IndexedDB run. One token for every site granted
 *   access. Used wherever the browser already holds a grant, and asked for (a click in the vault)
 *   where the iframe gets no storage at all.
 */
import type { Endpoint } from '@vhsm/worker';
import engineUrl from './engine-shared.ts?sharedworker&url';

/** What the vault asks for: its records, the liveness lock, the engine's worker. */
/** (Chromium's dictionary names the SharedWorker member like the handle's method.) */
export const ACCESS_TYPES = { localStorage: true, locks: true, SharedWorker: true } as const;

/** The part of Chromium's StorageAccessHandle the vault uses (not in TypeScript's DOM types yet). */
interface StorageAccessHandle {
  readonly localStorage: Storage;
  readonly locks: LockManager;
  SharedWorker(url: string | URL, options?: WorkerOptions): SharedWorker;
}

type RequestStorageAccess = (types: typeof ACCESS_TYPES) => Promise<StorageAccessHandle | undefined>;

export interface VaultStorage {
  kind: 'own' | 'granted';
  localStorage: Storage;
  locks: LockManager | undefined;
  /** Opens a connection to the vault's engine in this storage. */
  engine(): Endpoint;
}

const WORKER = { type: 'module', name: 'vhsm-vault' } as const;

/** The iframe's own storage, if the browser gives it any (it throws SecurityError where blocked). */
export async function ownStorage(): Promise<VaultStorage | undefined> {
  let storage: Storage;
  try {
    storage = localStorage;
    void storage.length;
    await navigator.locks?.query();
  } catch {
    return undefined;
  }
  return {
    kind: 'own',
    localStorage: storage,
    locks: navigator.locks,
    engine: () => typeof SharedWorker === 'function'
      ? new SharedWorker(engineUrl, WORKER).port
      : new Worker(new URL('./engine-dedicated.ts', import.meta.url), { type: 'module', name: 'vhsm-vault' }),
  };
}

/** True if the browser already holds a storage-access grant for this vault under this top-level site. */
export async function accessGranted(): Promise<boolean> {
  try {
    return (await navigator.permissions.query({ name: 'storage-access' as PermissionName })).state === 'granted';
  } catch {
    return false;
  }
}

/** True if this browser has the Storage Access API with handles for the vault's needs. */
export function accessSupported(): boolean {
  return typeof (document as { requestStorageAccess?: unknown }).requestStorageAccess === 'function';
}

/**
 * Asks the browser for the vault's unpartitioned storage. Needs a user activation inside the
 * iframe unless accessGranted(); rejects (NotAllowedError) if the browser or the user refuses.
 */
export async function requestStorage(): Promise<VaultStorage> {
  const request = (document as unknown as { requestStorageAccess: RequestStorageAccess }).requestStorageAccess;
  const handle = await request.call(document, ACCESS_TYPES);
  if (typeof handle?.SharedWorker !== 'function') {
    throw new DOMException('this browser grants storage access without a SharedWorker for the vault', 'NotSupportedError');
  }
  // A granted handle whose storage is still denied throws here (SecurityError), where its IndexedDB
  // would never answer.
  const storage = handle.localStorage;
  void storage.length;
  await handle.locks.query();
  // Started here, so a browser that refuses it refuses the storage as a whole.
  const engine = handle.SharedWorker(engineUrl, WORKER).port;
  return { kind: 'granted', localStorage: storage, locks: handle.locks, engine: () => engine };
}
