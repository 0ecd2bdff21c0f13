/**
 * The wire protocol between a page (`@vhsm/client`) and a worker host: one request message per C_
 * call, one reply per request, correlated by `id`. Kept deliberately smaller than Comlink's (no
 * proxies, no path walking): a request is `{ id, fn, args }`, a reply `{ id, ok, value | error }`.
 * This module imports no engine code, so a page can use it without bundling the engine.
 */
import type { FunctionName, SerializedPkcs11Error } from '@vhsm/pkcs11';

export const PROTOCOL_VERSION = 'vhsm/1';

/**
 * Control requests beside the C_ functions. `vhsm:hello` names a Web Lock the page holds for its
 * lifetime (the worker closes the application when it can take that lock: the page is gone);
 * `vhsm:close` finalizes the application and closes the port.
 */
export const HELLO = 'vhsm:hello';
export const CLOSE = 'vhsm:close';
/**
 * Several C_ calls in one message, run one after the other, answered by one reply whose value is
 * the list of their results: `args` is `[[fn, args], …]`. The first failure stops the batch; its
 * reply carries the error and `index`, the position of the call that failed. One message instead
 * of one per call is what makes Init + operation cost a single round trip.
 */
export const BATCH = 'vhsm:batch';
export type ControlName = typeof HELLO | typeof CLOSE | typeof BATCH;

/** Calls in one batch. */
export const MAX_BATCH = 64;

/** One call of a batch, as it travels. */
export type BatchCall = [fn: FunctionName, args: unknown[]];

/** Prefix of the Web Lock name a page holds while it is connected. */
export const CLIENT_LOCK_PREFIX = 'vhsm-client:';

/** Page → worker. */
export interface Request {
  id: number;
  fn: FunctionName | ControlName;
  args: unknown[];
}

/**
 * Worker → page. `id` is null when the request was too malformed to carry one; `index` is set on the
 * failure of a batch (which of its calls failed; the calls after it did not run).
 */
export type Reply =
  | { id: number | null; ok: true; value: unknown }
  | { id: number | null; ok: false; error: SerializedPkcs11Error; index?: number };

export interface HelloResult {
  protocol: typeof PROTOCOL_VERSION;
}

/**
 * The message-port surface both sides need: a Worker, a SharedWorker's port, a MessagePort, or
 * Node's worker_threads MessagePort.
 */
export interface Endpoint {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  start?(): void;
  close?(): void;
}

/**
 * Functions whose byte-string results are fresh buffers made for this call, so the host can transfer
 * them instead of copying. Everything else (attribute values, parameters) is copied.
 */
export const FRESH_OUTPUT_FUNCTIONS: ReadonlySet<string> = new Set<FunctionName>([
  'C_Encrypt', 'C_EncryptUpdate', 'C_EncryptFinal', 'C_Decrypt', 'C_DecryptUpdate', 'C_DecryptFinal',
  'C_Digest', 'C_DigestFinal', 'C_Sign', 'C_SignFinal', 'C_SignRecover', 'C_VerifyRecover',
  'C_WrapKey', 'C_GenerateRandom', 'C_DecryptMessage', 'C_DecryptMessageNext', 'C_SignMessage',
]);

/** Below this size copying is as cheap as transferring. */
export const TRANSFER_THRESHOLD = 4096;

/** The ArrayBuffer of `value` if it is a whole-buffer Uint8Array worth transferring. */
export function transferable(value: unknown): ArrayBuffer | undefined {
  if (!(value instanceof Uint8Array) || value.byteLength < TRANSFER_THRESHOLD) return undefined;
  const buffer = value.buffer;
  if (!(buffer instanceof ArrayBuffer) || value.byteOffset !== 0 || value.byteLength !== buffer.byteLength) return undefined;
  return buffer;
}

/**
 * Structured clone copies a view's whole buffer: a 16-byte subarray of a 1 GiB buffer would send
 * 1 GiB, and a view into a larger internal buffer would send its other bytes too. Returns `value`
 * with every Uint8Array reduced to its viewed bytes (down to where mechanism parameters and
 * attribute values keep theirs); allocates only where something changes.
 */
export function compact(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Uint8Array) {
    return value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : value.slice();
  }
  if (depth >= 3) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const c = compact(v, depth + 1);
      if (c !== v) (out ??= value.slice())[i] = c;
    }
    return out ?? value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  let out: Record<string, unknown> | undefined;
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    const c = compact(v, depth + 1);
    if (c !== v) (out ??= { ...(value as Record<string, unknown>) })[key] = c;
  }
  return out ?? value;
}
