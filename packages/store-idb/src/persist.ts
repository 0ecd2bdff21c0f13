/**
 * Ask the browser to keep this origin's storage (the token) instead of evicting it under storage
 * pressure. Window only: `navigator.storage.persist()` is not exposed to workers, so the page that
 * starts the worker calls this, ideally after a user gesture (some browsers grant it only then or
 * for installed / bookmarked sites).
 *
 * Resolves to 'persisted' (granted now or before), 'denied', or 'unavailable' (no StorageManager,
 * e.g. in a worker, in Node, or in an insecure context).
 */
export type PersistResult = 'persisted' | 'denied' | 'unavailable';

export async function requestPersistentStorage(storage: StorageManager | undefined = globalThis.navigator?.storage): Promise<PersistResult> {
  if (!storage || typeof storage.persist !== 'function' || typeof storage.persisted !== 'function') return 'unavailable';
  if (await storage.persisted()) return 'persisted';
  return (await storage.persist()) ? 'persisted' : 'denied';
}
