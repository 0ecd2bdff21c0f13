/**
 * The vault page (index.html), embedded by apps as an iframe. It waits for the handshake from its
 * parent, accepts it only from an allow-listed origin, and then serves that app through a VaultGate
 * in front of the vault's engine worker. One connection per iframe: the prompts belong to it.
 */
import type { Endpoint } from '@vhsm/worker';
import { CLIENT_LOCK_PREFIX } from '@vhsm/worker/protocol';
import { CONFIG } from './config.js';
import { VaultDialogs } from './dialog.js';
import { VaultGate } from './gate.js';
import { CONNECT, READY, UI } from './handshake.js';
import { LocalRecords } from './records.js';

const allowed = new Set(CONFIG.origins);
let connected = false;

function engineEndpoint(): Endpoint {
  if (typeof SharedWorker === 'function') {
    return new SharedWorker(new URL('./engine-shared.ts', import.meta.url), { type: 'module', name: 'vhsm-vault' }).port;
  }
  return new Worker(new URL('./engine-dedicated.ts', import.meta.url), { type: 'module', name: 'vhsm-vault' });
}

/** A Web Lock held while this page lives: the engine ends the app's application once it is free. */
async function holdLock(): Promise<string | undefined> {
  const locks = globalThis.navigator?.locks;
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
  void holdLock().then((lockName) => {
    const gate = new VaultGate(port, engineEndpoint(), {
      origin,
      granted: CONFIG.grants[origin] ?? [],
      consentToSign: CONFIG.consent.sign,
      ui: dialogs,
      records: new LocalRecords(localStorage),
      ...(lockName === undefined ? {} : { lockName }),
    });
    port.postMessage({ type: READY });
    document.body.dataset.connected = gate.origin;
  });
});
