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
  CLIENT_LOCK_PREFIX, CLOSE, FRESH_OUTPUT_FUNCTIONS, HELLO, PROTOCOL_VERSION, transferable,
} from './protocol.js';
import type { Endpoint, Reply, Request } from './protocol.js';
import { sanitizeArgs } from './sanitize.js';

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
const NOOP = (): void => undefined;

export class Connection {
  readonly #port: Endpoint;
  readonly #cryptoki: Promise<Cryptoki>;
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
  readonly #listener = (event: MessageEvent): void => this.#receive(event.data);

  constructor(port: Endpoint, options: ConnectionOptions) {
    this.#port = port;
    this.#cryptoki = Promise.resolve(options.engine).then((engine) => new Cryptoki({ engine }));
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
    if (farewell) this.#postRaw(farewell);
    this.#port.close?.();
    this.#onClose?.(this);
  }

  #receive(data: unknown): void {
    if (this.#closed) return;
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
      if (fn === HELLO || fn === CLOSE) {
        method = fn;
        this.#control(id, fn, sanitizeArgs(Object.hasOwn(message, 'args') ? message.args : [], fn));
        return;
      }
      if (!isFunctionName(fn)) {
        throw new Pkcs11Error(CKR_FUNCTION_NOT_SUPPORTED, method, 'fn: not a Cryptoki function');
      }
      method = fn;
      const args = sanitizeArgs(Object.hasOwn(message, 'args') ? message.args : undefined, fn);
      if (this.#inFlight.size >= this.#maxInFlight) {
        throw new Pkcs11Error(CKR_DEVICE_MEMORY, fn, `more than ${this.#maxInFlight} calls in flight`);
      }
      this.#schedule(id, fn, args);
    } catch (e) {
      this.#post({ id, ok: false, error: serializeError(e, method) }, []);
    }
  }

  #schedule(id: number, fn: FunctionName, args: unknown[]): void {
    const before: Promise<unknown>[] = [this.#barrier];
    const session = APPLICATION_WIDE.has(fn) ? undefined : args[0];
    const sessionKey = typeof session === 'number' ? session : undefined;
    let run: Promise<void>;
    if (sessionKey === undefined && !APPLICATION_WIDE.has(fn)) {
      // No usable session handle: the engine will refuse it; nothing to order it against.
      run = this.#barrier.then(() => this.#call(id, fn, args));
    } else if (sessionKey === undefined) {
      run = Promise.allSettled(this.#inFlight).then(() => this.#call(id, fn, args));
      this.#barrier = run;
    } else {
      const tail = this.#sessionTails.get(sessionKey);
      if (tail) before.push(tail);
      run = Promise.all(before).then(() => this.#call(id, fn, args));
      this.#sessionTails.set(sessionKey, run);
    }
    this.#inFlight.add(run);
    void run.finally(() => {
      this.#inFlight.delete(run);
      if (sessionKey !== undefined && this.#sessionTails.get(sessionKey) === run) this.#sessionTails.delete(sessionKey);
    });
  }

  /** Never rejects: every outcome becomes a reply. */
  async #call(id: number, fn: FunctionName, args: unknown[]): Promise<void> {
    try {
      const cryptoki = await this.#cryptoki;
      const method = cryptoki[fn] as (...a: unknown[]) => Promise<unknown>;
      const invoke = (): Promise<unknown> => method.apply(cryptoki, args);
      const value = this.#coordinate ? await this.#coordinate(fn, WRITE_FUNCTIONS.has(fn), invoke) : await invoke();
      const transfer: Transferable[] = [];
      if (FRESH_OUTPUT_FUNCTIONS.has(fn)) {
        const buffer = transferable(value);
        if (buffer) transfer.push(buffer);
      }
      this.#post({ id, ok: true, value }, transfer);
    } catch (e) {
      this.#post({ id, ok: false, error: serializeError(e, fn) }, []);
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

  #post(reply: Reply, transfer: Transferable[]): void {
    if (!this.#closed) this.#postRaw(reply, transfer);
  }

  #postRaw(reply: Reply, transfer: Transferable[] = []): void {
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
