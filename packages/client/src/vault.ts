/**
 * Vault mode: the token lives in a page of another origin (apps/vault), embedded here as an iframe.
 * The handshake (must match apps/vault/src/handshake.ts): once the iframe has loaded, post
 * `{ type: CONNECT }` with a MessagePort to its window, targeted at the vault's origin; the vault
 * answers `{ type: READY }` on the port only if this page's origin is on its allow-list (else
 * nothing: connect() gives up after HANDSHAKE_TIMEOUT). The port then carries the worker protocol,
 * plus `{ type: UI, visible }` when the vault needs the user (its PIN dialog): the iframe is shown
 * above the page meanwhile, and hidden again after.
 */
import { CKR_ARGUMENTS_BAD, CKR_DEVICE_ERROR, CKR_FUNCTION_NOT_SUPPORTED, Pkcs11Error } from '@vhsm/pkcs11';
import type { ConnectOptions, VhsmConnection } from './connect.js';
import { KeyStorage } from './key-storage.js';
import { Remote } from './remote.js';
import { VhsmSubtle } from './subtle/subtle.js';
import { CallTrace } from './trace.js';

export const VAULT_CONNECT = 'vhsm-vault:connect';
export const VAULT_READY = 'vhsm-vault:ready';
export const VAULT_UI = 'vhsm-vault:ui';

/** How long the vault has to load and accept this origin. */
const HANDSHAKE_TIMEOUT = 10_000;

const HIDDEN = 'position:fixed;top:0;left:0;width:0;height:0;border:0;opacity:1;';
/** Shown for a prompt: centred above everything, not transformed or translucent (the vault checks). */
const SHOWN = 'position:fixed;top:50%;left:50%;width:400px;height:440px;margin:-220px 0 0 -200px;border:1px solid #888;'
  + 'border-radius:8px;background:#fff;opacity:1;z-index:2147483647;box-shadow:0 8px 32px rgba(0,0,0,.35);';

function vaultUrl(vault: string): URL {
  let url: URL;
  try {
    url = new URL(vault);
  } catch {
    throw new Pkcs11Error(CKR_ARGUMENTS_BAD, 'connect', 'vault: expected the URL or origin of a vault page');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Pkcs11Error(CKR_ARGUMENTS_BAD, 'connect', 'vault: expected an http(s) URL');
  }
  return url;
}

export async function connectVault(options: ConnectOptions & { vault: string }): Promise<VhsmConnection> {
  if (typeof document === 'undefined') {
    throw new Pkcs11Error(CKR_FUNCTION_NOT_SUPPORTED, 'connect', 'vault mode embeds an iframe: it needs a page');
  }
  const url = vaultUrl(options.vault);
  const iframe = document.createElement('iframe');
  iframe.title = 'vhsm vault';
  iframe.dataset.vhsmVault = url.origin;
  iframe.style.cssText = HIDDEN;
  iframe.src = url.href;
  const loaded = new Promise<void>((resolve) => iframe.addEventListener('load', () => resolve(), { once: true }));
  (document.body ?? document.documentElement).append(iframe);
  const channel = new MessageChannel();
  const port = channel.port1;
  try {
    await withTimeout(loaded.then(() => handshake(iframe, url.origin, channel)), url.origin);
  } catch (e) {
    port.close();
    iframe.remove();
    throw e;
  }
  const onUi = (event: MessageEvent): void => {
    const data = event.data as { type?: unknown; visible?: unknown } | null;
    if (data?.type === VAULT_UI) iframe.style.cssText = data.visible === true ? SHOWN : HIDDEN;
  };
  port.addEventListener('message', onUi);
  const trace = new CallTrace(options.trace ?? false);
  const remote = new Remote(port, trace);
  try {
    await remote.hello();
  } catch (e) {
    port.close();
    iframe.remove();
    throw e;
  }
  const subtle = new VhsmSubtle(remote.pkcs11, options.facade);
  return {
    pkcs11: remote.pkcs11,
    subtle,
    keyStorage: new KeyStorage(subtle),
    trace,
    async close() {
      try {
        await remote.close();
      } finally {
        port.removeEventListener('message', onUi);
        port.close();
        iframe.remove();
      }
    },
  };
}

function handshake(iframe: HTMLIFrameElement, origin: string, channel: MessageChannel): Promise<void> {
  const target = iframe.contentWindow;
  if (!target) return Promise.reject(new Pkcs11Error(CKR_DEVICE_ERROR, 'connect', 'the vault iframe has no window'));
  return new Promise((resolve) => {
    const port = channel.port1;
    const onReady = (event: MessageEvent): void => {
      if ((event.data as { type?: unknown } | null)?.type !== VAULT_READY) return;
      port.removeEventListener('message', onReady);
      resolve();
    };
    port.addEventListener('message', onReady);
    port.start();
    target.postMessage({ type: VAULT_CONNECT }, origin, [channel.port2]);
  });
}

function withTimeout(work: Promise<void>, origin: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Pkcs11Error(CKR_DEVICE_ERROR, 'connect',
      `the vault at ${origin} did not accept this origin (not on its allow-list, or unreachable)`)), HANDSHAKE_TIMEOUT);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
