/**
 * The vault page (index.html), embedded by apps as an iframe. It waits for the handshake from its
 * parent, accepts it only from an allow-listed origin, and then serves that app through a VaultGate
 * in front of the vault's engine worker. One connection per iframe: the prompts belong to it.
 * Where the browser gives the iframe no storage, the vault asks for it first (storage.ts).
 */
import { CLIENT_LOCK_PREFIX } from '@vhsm/worker/protocol';
import { CONFIG } from './config.js';
import { VaultDialogs } from './dialog.js';
import { VaultGate } from './gate.js';
import { CONNECT, READY, UI } from './handshake.js';
import { LocalRecords } from './records.js';
import { accessGranted, accessSupported, ownStorage, requestStorage } from './storage.js';
import type { VaultStorage } from './storage.js';
import { serveUnavailable } from './unavailable.js';
import type { Unavailable } from './unavailable.js';

const allowed = new Set(CONFIG.origins);
let connected = false;

/** A Web Lock held while this page lives: the engine ends the app's application once it is free. */
async function holdLock(locks: LockManager | undefined): Promise<string | undefined> {
  if (!locks) return undefined;
  const name = `${CLIENT_LOCK_PREFIX}${crypto.randomUUID()}`;
  await new Promise<void>((granted) => {
    void locks.request(name, () => {
      granted();
      return new Promise<never>(() => undefined);
    });
  });
  return name;
}

/** True if every ancestor is allow-listed, where the browser tells (frame-ancestors already does). */
function ancestorsAllowed(): boolean {
  const ancestors = location.ancestorOrigins;
  if (!ancestors) return true;
  for (let i = 0; i < ancestors.length; i++) if (!allowed.has(ancestors.item(i) ?? '')) return false;
  return true;
}

/** The storage the vault runs in, and the server answering the app until the gate takes over, if any. */
interface Opened {
  storage: VaultStorage;
  waiting?: Unavailable;
}

/**
 * The vault's storage: the unpartitioned one where the browser holds a storage-access grant for it
 * under this top-level site (no prompt needed), else its own if the browser gives the iframe any,
 * else — after READY, so the app is connected and shows the iframe — the one the user allows in
 * the vault's prompt. Until then, and for good if the user or the browser refuses, the app's calls
 * fail with CKR_DEVICE_ERROR.
 */
async function openStorage(port: MessagePort, origin: string, dialogs: VaultDialogs): Promise<Opened | undefined> {
  if (accessSupported() && await accessGranted()) {
    try {
      return { storage: await requestStorage() };
    } catch {
      // A grant whose storage the browser still denies (Chromium with partitioning turned off): as if none.
    }
  }
  const own = await ownStorage();
  if (own) return { storage: own };
  if (!accessSupported()) {
    serveUnavailable(port, 'this browser gives the vault no storage in this page and has no Storage Access API');
    port.postMessage({ type: READY });
    return undefined;
  }
  const waiting = serveUnavailable(port, 'the vault has no storage in this browser until the user allows it in the vault\'s prompt');
  port.postMessage({ type: READY });
  document.body.dataset.storage = 'asking';
  const answer = await dialogs.askStorageAccess(origin, requestStorage);
  if (typeof answer === 'string') {
    document.body.dataset.storage = 'refused';
    waiting.because(`the vault has no storage in this browser: ${answer}; connect again to ask again`);
    return undefined;
  }
  return { storage: answer, waiting };
}

addEventListener('message', (event: MessageEvent) => {
  // Unknown origins, other windows and malformed messages get nothing, not even an error.
  if (connected || window.parent === window || event.source !== window.parent) return;
  if (!allowed.has(event.origin) || !ancestorsAllowed()) return;
  const data = event.data as { type?: unknown } | null;
  const port = event.ports[0];
  if (typeof data !== 'object' || data === null || data.type !== CONNECT || !port) return;
  connected = true;
  const origin = event.origin;
  const root = document.getElementById('vault');
  if (!root) return;
  document.body.dataset.origin = origin;
  const dialogs = new VaultDialogs(root, {
    show: () => port.postMessage({ type: UI, visible: true }),
    hide: () => port.postMessage({ type: UI, visible: false }),
  }, CONFIG.dialog);
  void openStorage(port, origin, dialogs).then(async (opened) => {
    if (!opened) return;
    const { storage, waiting } = opened;
    const lockName = await holdLock(storage.locks);
    // The unavailable server answers until the gate listens, in the same task: the port, already
    // started, would drop whatever the app posted in between.
    waiting?.stop();
    const gate = new VaultGate(port, storage.engine(), {
      origin,
      granted: CONFIG.grants[origin] ?? [],
      consentToSign: CONFIG.consent.sign,
      ui: dialogs,
      records: new LocalRecords(storage.localStorage),
      ...(lockName === undefined ? {} : { lockName }),
    });
    // After a prompt the app already has READY.
    if (!waiting) port.postMessage({ type: READY });
    document.body.dataset.storage = storage.kind;
    document.body.dataset.connected = gate.origin;
  });
});
