/**
 * The page side of the wire protocol: a CryptokiApiV3 whose every function posts one request and
 * resolves with its reply. Requests are pipelined (no waiting for earlier replies); failures are
 * rebuilt as Pkcs11Error with the worker's code, method and message.
 */
import {
  CKR_ARGUMENTS_BAD, CKR_CRYPTOKI_NOT_INITIALIZED, CKR_DEVICE_ERROR, CKR_OK, FUNCTION_NAMES, isPkcs11Error, Pkcs11Error,
} from '@vhsm/pkcs11';
import type { CryptokiApiV3, FunctionName } from '@vhsm/pkcs11';
import { CLOSE, HELLO } from '@vhsm/worker/protocol';
import type { ControlName, Endpoint, HelloResult, Reply, Request } from '@vhsm/worker/protocol';
import type { CallTrace } from './trace.js';

interface Pending {
  resolve(value: unknown): void;
  reject(error: Pkcs11Error): void;
}

const now = (): number => globalThis.performance?.now() ?? Date.now();

export class Remote {
  readonly pkcs11: CryptokiApiV3;
  readonly #endpoint: Endpoint;
  readonly #pending = new Map<number, Pending>();
  readonly #trace: CallTrace | undefined;
  #nextId = 1;
  #closed = false;
  readonly #listener = (event: MessageEvent): void => this.#receive(event.data);

  constructor(endpoint: Endpoint, trace?: CallTrace) {
    this.#endpoint = endpoint;
    this.#trace = trace;
    endpoint.addEventListener('message', this.#listener);
    endpoint.start?.();
    const api: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const fn of FUNCTION_NAMES) api[fn] = (...args: unknown[]) => this.call(fn, args);
    this.pkcs11 = api as unknown as CryptokiApiV3;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** One C_ call. */
  call(fn: FunctionName, args: unknown[]): Promise<unknown> {
    if (!this.#trace?.enabled) return this.#send(fn, args);
    const start = now();
    return this.#send(fn, args).then(
      (value) => {
        this.#trace?.record(fn, args, CKR_OK, start, now());
        return value;
      },
      (error: Pkcs11Error) => {
        this.#trace?.record(fn, args, error.code, start, now());
        throw error;
      },
    );
  }

  hello(lockName?: string): Promise<HelloResult> {
    return this.#send(HELLO, lockName === undefined ? [] : [lockName]) as Promise<HelloResult>;
  }

  /** Ends the application in the worker (its sessions close), then stops listening. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#send(CLOSE, []);
    } finally {
      this.dispose(new Pkcs11Error(CKR_CRYPTOKI_NOT_INITIALIZED, 'close', 'connection closed'));
    }
  }

  /** Stops listening; calls still waiting reject with `error`. */
  dispose(error: Pkcs11Error): void {
    this.#closed = true;
    this.#endpoint.removeEventListener('message', this.#listener);
    for (const pending of this.#pending.values()) pending.reject(new Pkcs11Error(error.code, error.method, detailOf(error)));
    this.#pending.clear();
  }

  #send(fn: FunctionName | ControlName, args: unknown[]): Promise<unknown> {
    if (this.#closed) {
      return Promise.reject(new Pkcs11Error(CKR_CRYPTOKI_NOT_INITIALIZED, fn, 'connection closed'));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const request: Request = { id, fn, args: args.map((a) => compact(a)) };
      try {
        this.#endpoint.postMessage(request, []);
      } catch {
        // Not structured-cloneable (a function, a CryptoKey-like proxy…): the caller's argument is bad.
        this.#pending.delete(id);
        reject(new Pkcs11Error(CKR_ARGUMENTS_BAD, fn, 'arguments cannot be sent to the worker'));
      }
    });
  }

  #receive(data: unknown): void {
    if (typeof data !== 'object' || data === null) return;
    const reply = data as Reply;
    if (typeof reply.id !== 'number') return;
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (reply.ok === true) {
      pending.resolve(reply.value);
    } else {
      pending.reject(rebuildError(reply.error));
    }
  }
}

/** The worker's serialized error as a Pkcs11Error (CKR_GENERAL_ERROR if it is malformed). */
export function rebuildError(error: unknown): Pkcs11Error {
  try {
    return Pkcs11Error.fromJSON(error);
  } catch (e) {
    return isPkcs11Error(e) ? e : new Pkcs11Error(CKR_DEVICE_ERROR, 'message', 'malformed reply');
  }
}

function detailOf(error: Pkcs11Error): string | undefined {
  const i = error.message.indexOf(': ');
  return i < 0 ? undefined : error.message.slice(i + 2);
}

/**
 * Structured clone copies a view's whole buffer: a 16-byte subarray of a 1 GiB buffer would send
 * 1 GiB. Send only the viewed bytes (down to where mechanism parameters keep their byte strings).
 */
function compact(value: unknown, depth = 0): unknown {
  if (value instanceof Uint8Array) {
    return value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : value.slice();
  }
  if (depth >= 3 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const items = value.map((v) => compact(v, depth + 1));
    return items.some((v, i) => v !== value[i]) ? items : value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  let out: Record<string, unknown> | undefined;
  for (const [key, v] of Object.entries(value)) {
    const c = compact(v, depth + 1);
    if (c !== v) {
      out ??= { ...(value as Record<string, unknown>) };
      out[key] = c;
    }
  }
  return out ?? value;
}
