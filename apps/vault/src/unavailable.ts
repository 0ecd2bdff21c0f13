/**
 * The vault's answer while it has no storage (the user has not allowed it yet, or refused): the
 * app's port is served, so connect() works and the vault's prompt can be shown, but every Cryptoki
 * call fails at once with CKR_DEVICE_ERROR and a message that says why — never a hang.
 */
import { CKR_DEVICE_ERROR, isFunctionName, Pkcs11Error } from '@vhsm/pkcs11';
import { CLOSE, HELLO, PROTOCOL_VERSION } from '@vhsm/worker';

export interface Unavailable {
  /** Why calls fail, from now on. */
  because(reason: string): void;
  /** Stops answering (the gate takes the port over). */
  stop(): void;
}

export function serveUnavailable(port: MessagePort, reason: string): Unavailable {
  let why = reason;
  const answer = (request: unknown): void => {
    const { id, fn } = (typeof request === 'object' && request !== null ? request : {}) as { id?: unknown; fn?: unknown };
    if (typeof id !== 'number') return;
    if (fn === HELLO) port.postMessage({ id, ok: true, value: { protocol: PROTOCOL_VERSION } });
    else if (fn === CLOSE) port.postMessage({ id, ok: true, value: undefined });
    else {
      const method = isFunctionName(fn) ? fn : 'message';
      port.postMessage({ id, ok: false, error: new Pkcs11Error(CKR_DEVICE_ERROR, method, why).toJSON() });
    }
  };
  const listener = (event: MessageEvent): void => {
    const data: unknown = event.data;
    if (Array.isArray(data)) for (const request of data as unknown[]) answer(request);
    else answer(data);
  };
  port.addEventListener('message', listener);
  port.start();
  return {
    because: (next) => (why = next),
    stop: () => port.removeEventListener('message', listener),
  };
}
