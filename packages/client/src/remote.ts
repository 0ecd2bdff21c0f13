/**
 * The page side of the wire protocol: a CryptokiApiV3 whose every function sends one request and
 * resolves with its reply. Requests are pipelined (no waiting for earlier replies), and those made in
 * one task leave together in one message; failures are rebuilt as Pkcs11Error with the worker's
 * code, method and message.
 */
import {
  CKR_ARGUMENTS_BAD, CKR_CRYPTOKI_NOT_INITIALIZED, CKR_DEVICE_ERROR, CKR_OK, FUNCTION_NAMES, isPkcs11Error, Pkcs11Error,
} from '@vhsm/pkcs11';
import type { CryptokiApiV3, FunctionName } from '@vhsm/pkcs11';
import { BATCH, CLOSE, compact, HELLO } from '@vhsm/worker/protocol';
import type { BatchCall, ControlName, Endpoint, HelloResult, Reply, Request } from '@vhsm/worker/protocol';
import type { CallTrace } from './trace.js';

/** A request and the buffers it transfers. */
type Outgoing = [request: Request, transfer: Transferable[]];

interface Pending {
  resolve(value: unknown): void;
  reject(error: Pkcs11Error): void;
}

const now = (): number => globalThis.performance?.now() ?? Date.now();
const NO_TRANSFER: Transferable[] = [];

/** The Remote behind each remote Cryptoki, so batch() can send its calls as one message. */
const REMOTES = new WeakMap<object, Remote>();

export function remoteOf(pkcs11: CryptokiApiV3): Remote | undefined {
  return REMOTES.get(pkcs11);
}

export class Remote {
  readonly pkcs11: CryptokiApiV3;
  readonly #endpoint: Endpoint;
  readonly #pending = new Map<number, Pending>();
  readonly #trace: CallTrace | undefined;
  #nextId = 1;
  #closed = false;
  /** Requests sent in this task, and the buffers they transfer. */
  #outbox: Outgoing[] = [];
  readonly #flush = (): void => this.#flushNow();
  readonly #listener = (event: MessageEvent): void => this.#receiveFrame(event.data);

  constructor(endpoint: Endpoint, trace?: CallTrace) {
    this.#endpoint = endpoint;
    this.#trace = trace;
    endpoint.addEventListener('message', this.#listener);
    endpoint.start?.();
    const api: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const fn of FUNCTION_NAMES) api[fn] = (...args: unknown[]) => this.call(fn, args);
    this.pkcs11 = api as unknown as CryptokiApiV3;
    REMOTES.set(this.pkcs11, this);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** One C_ call; `transfer` hands buffers of `args` over to the worker (they are detached here). */
  call(fn: FunctionName, args: unknown[], transfer: Transferable[] = NO_TRANSFER): Promise<unknown> {
    if (!this.#trace?.enabled) return this.#send(fn, args, transfer);
    const start = now();
    return this.#send(fn, args, transfer).then(
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

  /**
   * Several C_ calls in one message and one reply, run in order in the worker; resolves with their
   * results, or rejects with the first failure (the calls after it do not run).
   */
  batch(calls: readonly BatchCall[], transfer: Transferable[] = NO_TRANSFER): Promise<unknown[]> {
    const promise = this.#send(BATCH, calls.map(([fn, args]) => [fn, compactArgs(args)]), transfer, true) as Promise<unknown[]>;
    if (!this.#trace?.enabled) return promise;
    const start = now();
    const record = (upTo: number, failure?: Pkcs11Error): void => {
      const end = now();
      calls.forEach(([fn, args], i) => {
        if (i < upTo) this.#trace?.record(fn, args, CKR_OK, start, end);
        else if (i === upTo && failure) this.#trace?.record(fn, args, failure.code, start, end);
      });
    };
    return promise.then(
      (values) => {
        record(calls.length);
        return values;
      },
      (error: Pkcs11Error & { index?: number }) => {
        record(error.index ?? 0, error);
        throw error;
      },
    );
  }

  hello(lockName?: string): Promise<HelloResult> {
    return this.#send(HELLO, lockName === undefined ? [] : [lockName], NO_TRANSFER) as Promise<HelloResult>;
  }

  /** Ends the application in the worker (its sessions close), then stops listening. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#send(CLOSE, [], NO_TRANSFER);
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

  #send(fn: FunctionName | ControlName, args: unknown[], transfer: Transferable[], compacted = false): Promise<unknown> {
    if (this.#closed) {
      return Promise.reject(new Pkcs11Error(CKR_CRYPTOKI_NOT_INITIALIZED, fn, 'connection closed'));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#outbox.push([{ id, fn, args: compacted ? args : compactArgs(args) }, transfer]);
      // Everything sent in this task leaves in one message, after the task's synchronous work.
      if (this.#outbox.length === 1) queueMicrotask(this.#flush);
    });
  }

  #flushNow(): void {
    const outbox = this.#outbox;
    this.#outbox = [];
    if (outbox.length === 1) {
      this.#post(...(outbox[0] as Outgoing));
      return;
    }
    const requests: Request[] = [];
    const transfer: Transferable[] = [];
    for (const [request, buffers] of outbox) {
      requests.push(request);
      for (const b of buffers) transfer.push(b);
    }
    try {
      this.#endpoint.postMessage(requests, transfer);
    } catch {
      // One request could not be cloned: send them one by one so only that one fails.
      for (const [request, buffers] of outbox) this.#post(request, buffers);
    }
  }

  #post(request: Request, transfer: Transferable[]): void {
    try {
      this.#endpoint.postMessage(request, transfer);
    } catch {
      // Not structured-cloneable (a function, a CryptoKey-like proxy…): the caller's argument is bad.
      const pending = this.#pending.get(request.id);
      this.#pending.delete(request.id);
      pending?.reject(new Pkcs11Error(CKR_ARGUMENTS_BAD, request.fn, 'arguments cannot be sent to the worker'));
    }
  }

  /** A frame is one reply or several (the worker coalesces replies that are ready together). */
  #receiveFrame(data: unknown): void {
    if (!Array.isArray(data)) {
      this.#receive(data);
      return;
    }
    for (const reply of data) this.#receive(reply);
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
      const error = rebuildError(reply.error);
      // Which call of a batch failed: the trace and batch() callers need it.
      if (typeof reply.index === 'number') Object.defineProperty(error, 'index', { value: reply.index });
      pending.reject(error);
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

/** The arguments with every byte string reduced to its viewed bytes; the same array if none changes. */
function compactArgs(args: unknown[]): unknown[] {
  return compact(args) as unknown[];
}
