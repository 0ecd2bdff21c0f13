/**
 * One connection = one PKCS#11 application: its own Cryptoki (C_Initialize, sessions, login,
 * handles) over the engine every connection of this worker shares. Handles are per application by
 * construction, so a connection can only name its own sessions and objects.
 *
 * Requests are pipelined: the page may send many before the first reply. Calls on one session run
 * in arrival order (C_SignInit before C_Sign), calls on different sessions run concurrently, and
 * application-wide calls (C_Initialize, C_OpenSession, C_Login, …) wait for everything before them
 * and hold back everything after them.
 */
import {
  CKR_ARGUMENTS_BAD, CKR_DEVICE_MEMORY, CKR_FUNCTION_NOT_SUPPORTED,
  CKR_GENERAL_ERROR, isFunctionName, isPkcs11Error, Pkcs11Error,
} from '@vhsm/pkcs11';
import type { FunctionName, SerializedPkcs11Error } from '@vhsm/pkcs11';
import { Cryptoki } from '@vhsm/token';
import type { Engine } from '@vhsm/token';
import {
  BATCH, CLIENT_LOCK_PREFIX, CLOSE, compact, FRESH_OUTPUT_FUNCTIONS, HELLO, PROTOCOL_VERSION, transferable,
} from './protocol.js';
import type { BatchCall, Endpoint, Reply, Request } from './protocol.js';
import { sanitizeArgs, sanitizeBatch } from './sanitize.js';

/** Functions whose first argument is not a session, or that change every session of the application. */
const APPLICATION_WIDE: ReadonlySet<string> = new Set<FunctionName>([
  'C_Initialize', 'C_Finalize', 'C_GetInfo', 'C_GetSlotList', 'C_GetSlotInfo', 'C_GetTokenInfo',
  'C_GetMechanismList', 'C_GetMechanismInfo', 'C_InitToken', 'C_OpenSession', 'C_CloseAllSessions',
  'C_WaitForSlotEvent', 'C_GetInterfaceList', 'C_GetInterface', 'C_Login', 'C_LoginUser', 'C_Logout',
]);

/** Functions that write token state (objects, PIN records): exclusive under cross-tab coordination. */
export const WRITE_FUNCTIONS: ReadonlySet<string> = new Set<FunctionName>([
  'C_InitToken', 'C_InitPIN', 'C_SetPIN', 'C_Login', 'C_LoginUser', 'C_CreateObject', 'C_CopyObject',
  'C_DestroyObject', 'C_SetAttributeValue', 'C_GenerateKey', 'C_GenerateKeyPair', 'C_UnwrapKey',
  'C_DeriveKey',
]);

/** Runs one call under whatever cross-tab coordination the host needs (Web Locks in dedicated mode). */
export type Coordinator = <T>(fn: FunctionName, write: boolean, work: () => Promise<T>) => Promise<T>;

export interface ConnectionOptions {
  /** The engine all connections share; a promise while the store opens. */
  engine: Engine | Promise<Engine>;
  coordinate?: Coordinator;
  /** Requests in flight per connection before new ones are refused with CKR_DEVICE_MEMORY. */
  maxInFlight?: number;
  /** Web Locks, to notice a page that is gone (default `globalThis.navigator?.locks`). */
  locks?: LockManager | undefined;
  onClose?: (connection: Connection) => void;
}

const DEFAULT_MAX_IN_FLIGHT = 1024;
/**
 * Runs `work` in a later task: Prioritized Task Scheduling where it exists (browsers, workers
 * included), since setTimeout may be clamped; setTimeout elsewhere (Node).
 */
const nextTask: (work: () => void) => void = (() => {
  const scheduler = (globalThis as { scheduler?: { postTask?(work: () => void): Promise<void> } }).scheduler;
  if (typeof scheduler?.postTask === 'function') return (work) => void scheduler.postTask!(work);
  return (work) => void setTimeout(work, 0);
})();

/** A reply and the buffers it transfers. */
type Outgoing = [reply: Reply, transfer: Transferable[]];
const NOOP = (): void => undefined;
/** Orders of a request beside a session handle (handles are positive). */
const APPLICATION = -1;
const NO_SESSION = -2;

/** The session every call names, APPLICATION if any call is application-wide or they differ. */
function orderOf(calls: readonly BatchCall[]): number {
  let order = NO_SESSION;
  for (const [fn, args] of calls) {
    if (APPLICATION_WIDE.has(fn)) return APPLICATION;
    const session = args[0];
    const key = typeof session === 'number' && session >= 0 ? session : NO_SESSION;
    if (calls.length === 1) return key;
    if (key === NO_SESSION || (order !== NO_SESSION && order !== key)) return APPLICATION;
    order = key;
  }
  return order;
}

export class Connection {
  readonly #port: Endpoint;
  readonly #cryptoki: Promise<Cryptoki>;
  /** The Cryptoki once it exists: calls then skip a wait on the promise. */
  #ready: Cryptoki | undefined;
  readonly #coordinate: Coordinator | undefined;
  readonly #maxInFlight: number;
  readonly #locks: LockManager | undefined;
  readonly #onClose: ((connection: Connection) => void) | undefined;
  /** Settles when every call received so far has settled. */
  #barrier: Promise<void> = Promise.resolve();
  /** The last call received per session handle. */
  readonly #sessionTails = new Map<number, Promise<void>>();
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;
  /** Replies waiting for the next frame, and the buffers they transfer. */
  #outbox: Outgoing[] = [];
  #flushScheduled = false;
  readonly #flush = (): void => {
    this.#flushScheduled = false;
    this.#flushNow();
  };
  readonly #listener = (event: MessageEvent): void => this.#receiveFrame(event.data);

  constructor(port: Endpoint, options: ConnectionOptions) {
    this.#port = port;
    this.#cryptoki = Promise.resolve(options.engine).then((engine) => (this.#ready = new Cryptoki({ engine })));
    // An engine that failed to start answers every call with its error; do not also report it here.
    this.#cryptoki.catch(NOOP);
    this.#coordinate = options.coordinate;
    this.#maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.#locks = 'locks' in options ? options.locks : globalThis.navigator?.locks;
    this.#onClose = options.onClose;
    port.addEventListener('message', this.#listener);
    port.start?.();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Ends the application (its sessions close, its login ends) and stops listening. */
  async close(): Promise<void> {
    return this.#end(undefined);
  }

  /** `farewell` is the reply to the page's own close request, sent before the port closes. */
  async #end(farewell: Reply | undefined): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#port.removeEventListener('message', this.#listener);
    await Promise.allSettled(this.#inFlight);
    try {
      await (await this.#cryptoki).C_Finalize();
    } catch {
      // Not initialized, or the engine never started: nothing to end.
    }
    this.#flushNow();
    if (farewell) this.#send(farewell, []);
    this.#port.close?.();
    this.#onClose?.(this);
  }

  /** A frame is one request, or several sent together (the client coalesces what it sends in one task). */
  #receiveFrame(data: unknown): void {
    if (this.#closed) return;
    if (!Array.isArray(data)) {
      this.#receive(data);
      return;
    }
    if (data.length > this.#maxInFlight) {
      this.#post({ id: null, ok: false, error: serializeError(new Pkcs11Error(CKR_ARGUMENTS_BAD, 'message', `more than ${this.#maxInFlight} requests in one message`), 'message') }, []);
      return;
    }
    // A frame's elements are requests; a nested array is not (it gets its CKR_ARGUMENTS_BAD).
    for (let i = 0; i < data.length; i++) this.#receive(Object.hasOwn(data, i) ? data[i] : undefined);
  }

  #receive(data: unknown): void {
    let id: number | null = null;
    let method = 'message';
    try {
      if (typeof data !== 'object' || data === null || Array.isArray(data)) {
        throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, 'expected { id, fn, args }');
      }
      const message = data as Partial<Record<keyof Request, unknown>>;
      const rawId = Object.hasOwn(message, 'id') ? message.id : undefined;
      if (typeof rawId !== 'number' || !Number.isSafeInteger(rawId) || rawId < 0) {
        throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, 'id: expected a non-negative integer');
      }
      id = rawId;
      const fn = Object.hasOwn(message, 'fn') ? message.fn : undefined;
      const rawArgs = Object.hasOwn(message, 'args') ? message.args : undefined;
      if (fn === HELLO || fn === CLOSE) {
        method = fn;
        this.#control(id, fn, sanitizeArgs(rawArgs ?? [], fn));
        return;
      }
      let calls: BatchCall[];
      let batch = false;
      if (fn === BATCH) {
        method = fn;
        calls = sanitizeBatch(rawArgs, fn);
        batch = true;
      } else {
        if (!isFunctionName(fn)) {
          throw new Pkcs11Error(CKR_FUNCTION_NOT_SUPPORTED, method, 'fn: not a Cryptoki function');
        }
        method = fn;
        calls = [[fn, sanitizeArgs(rawArgs, fn)]];
      }
      if (this.#inFlight.size >= this.#maxInFlight) {
        throw new Pkcs11Error(CKR_DEVICE_MEMORY, method, `more than ${this.#maxInFlight} calls in flight`);
      }
      this.#schedule(id, calls, batch);
    } catch (e) {
      this.#post({ id, ok: false, error: serializeError(e, method) }, []);
    }
  }

  /**
   * Orders a request against the others: by its session when every call names the same one, as an
   * application-wide call otherwise (a barrier: after everything before, before everything after).
   */
  #schedule(id: number, calls: BatchCall[], batch: boolean): void {
    const order = orderOf(calls);
    const call = (): Promise<void> => this.#call(id, calls, batch);
    let run: Promise<void>;
    if (order === NO_SESSION) {
      // No usable session handle: the engine will refuse it; nothing to order it against.
      run = this.#barrier.then(call);
    } else if (order === APPLICATION) {
      run = Promise.allSettled(this.#inFlight).then(call);
      this.#barrier = run;
    } else {
      const tail = this.#sessionTails.get(order);
      run = (tail ? Promise.all([this.#barrier, tail]) : this.#barrier).then(call);
      this.#sessionTails.set(order, run);
    }
    this.#inFlight.add(run);
    // #call never rejects, so `then` is enough to clean up.
    void run.then(() => {
      this.#inFlight.delete(run);
      if (order >= 0 && this.#sessionTails.get(order) === run) this.#sessionTails.delete(order);
    });
  }

  /** Runs the calls one after the other; never rejects: every outcome becomes a reply. */
  async #call(id: number, calls: BatchCall[], batch: boolean): Promise<void> {
    let index = 0;
    try {
      const cryptoki = this.#ready ?? await this.#cryptoki;
      const results: unknown[] = [];
      const transfer: Transferable[] = [];
      const invoke = async (): Promise<void> => {
        for (; index < calls.length; index++) {
          const [fn, args] = calls[index] as BatchCall;
          const value = compact(await (cryptoki[fn] as (...a: unknown[]) => Promise<unknown>).apply(cryptoki, args));
          if (FRESH_OUTPUT_FUNCTIONS.has(fn)) {
            const buffer = transferable(value);
            if (buffer) transfer.push(buffer);
          }
          results.push(value);
        }
      };
      if (this.#coordinate) {
        const [first] = calls[0] as BatchCall;
        await this.#coordinate(first, calls.some(([fn]) => WRITE_FUNCTIONS.has(fn)), invoke);
      } else {
        await invoke();
      }
      this.#post({ id, ok: true, value: batch ? results : results[0] }, transfer);
    } catch (e) {
      const call = calls[index];
      const error = serializeError(e, call ? call[0] : BATCH);
      this.#post(batch ? { id, ok: false, error, index } : { id, ok: false, error }, []);
    }
  }

  #control(id: number, fn: typeof HELLO | typeof CLOSE, args: unknown[]): void {
    if (fn === CLOSE) {
      void this.#end({ id, ok: true, value: undefined });
      return;
    }
    const lock = args[0];
    if (lock !== undefined) {
      if (typeof lock !== 'string' || !lock.startsWith(CLIENT_LOCK_PREFIX) || lock.length > 128) {
        throw new Pkcs11Error(CKR_ARGUMENTS_BAD, fn, `args[0]: expected a lock name starting with ${CLIENT_LOCK_PREFIX}`);
      }
      // Granted only once the page that holds it is gone (or never held it): then end its application.
      void this.#locks?.request(lock, () => this.close()).catch(NOOP);
    }
    this.#post({ id, ok: true, value: { protocol: PROTOCOL_VERSION } }, []);
  }

  /**
   * Queues a reply. Each message costs far more than its few bytes (in Chromium a reply's
   * postMessage took ~20 µs of the worker's time), so while other calls are still running the
   * reply waits one task for them and they leave in one frame; alone, it leaves at once.
   */
  #post(reply: Reply, transfer: Transferable[]): void {
    if (this.#closed) return;
    this.#outbox.push([reply, transfer]);
    // A call's own run is still counted in #inFlight while it posts its reply.
    if (this.#inFlight.size > 1) {
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        nextTask(this.#flush);
      }
      return;
    }
    this.#flushNow();
  }

  #flushNow(): void {
    const outbox = this.#outbox;
    if (outbox.length === 0) return;
    this.#outbox = [];
    if (outbox.length === 1) {
      this.#send(...(outbox[0] as Outgoing));
      return;
    }
    const replies: Reply[] = [];
    const transfer: Transferable[] = [];
    for (const [reply, buffers] of outbox) {
      replies.push(reply);
      for (const b of buffers) transfer.push(b);
    }
    try {
      this.#port.postMessage(replies, transfer);
    } catch {
      // One reply could not be cloned: send them one by one so only that one fails.
      for (const [reply, buffers] of outbox) this.#send(reply, buffers);
    }
  }

  #send(reply: Reply, transfer: Transferable[]): void {
    try {
      this.#port.postMessage(reply, transfer);
    } catch (e) {
      // A result that cannot be cloned is our bug; the page still gets an answer.
      if (reply.ok) this.#port.postMessage({ id: reply.id, ok: false, error: serializeError(e, 'message') } satisfies Reply, []);
    }
  }
}

/** What crosses the boundary for a failure: the CK_RV and the function, never internal details. */
export function serializeError(e: unknown, method: string): SerializedPkcs11Error {
  if (isPkcs11Error(e)) return { name: 'Pkcs11Error', code: e.code, method: e.method, message: e.message };
  return new Pkcs11Error(CKR_GENERAL_ERROR, method, 'internal error').toJSON();
}
