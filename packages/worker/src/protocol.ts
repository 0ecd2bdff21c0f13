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
export type ControlName = typeof HELLO | typeof CLOSE;

/** Prefix of the Web Lock name a page holds while it is connected. */
export const CLIENT_LOCK_PREFIX = 'vhsm-client:';

/** Page → worker. */
export interface Request {
  id: number;
  fn: FunctionName | ControlName;
  args: unknown[];
}

/** Worker → page. `id` is null when the request was too malformed to carry one. */
export type Reply =
  | { id: number | null; ok: true; value: unknown }
  | { id: number | null; ok: false; error: SerializedPkcs11Error };

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
