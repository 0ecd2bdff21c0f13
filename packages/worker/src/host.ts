/**
 * Worker hosts. A SharedWorker serves every tab of an origin from one engine, one application per
 * connected port. A dedicated worker serves its one page; without a SharedWorker several dedicated
 * workers may share one persistent token, so their calls are coordinated through Web Locks: writers
 * exclusive, everything else shared, so two writers never run on one token.
 */
import type { TokenStore } from '@vhsm/token';
import { Cryptoki, MemoryStore } from '@vhsm/token';
import type { Engine, EngineOptions } from '@vhsm/token';
import { Connection } from './connection.js';
import type { Coordinator } from './connection.js';
import type { Endpoint } from './protocol.js';

export interface HostOptions extends Omit<EngineOptions, 'store'> {
  /** The token store, or a function that opens it (default: in memory). */
  store?: TokenStore | (() => TokenStore | Promise<TokenStore>);
  /** Requests in flight per connection before new ones are refused. */
  maxInFlight?: number;
  /** Web Locks (default `navigator.locks`): page liveness, and coordination of dedicated workers. */
  locks?: LockManager | undefined;
}

/** The Web Lock dedicated workers of one origin take around each call. */
export const TOKEN_LOCK = 'vhsm-token';

/** Starts the engine once the store is open; errors surface as each call's Pkcs11Error. */
export async function startEngine(options: HostOptions = {}): Promise<Engine> {
  const { store, maxInFlight: _maxInFlight, locks: _locks, ...engineOptions } = options;
  const opened = typeof store === 'function' ? await store() : store ?? new MemoryStore();
  // Through Cryptoki, so invalid options reject with a Pkcs11Error like any call would.
  return new Cryptoki({ ...engineOptions, store: opened }).engine;
}

export function webLockCoordinator(locks: LockManager, name = TOKEN_LOCK): Coordinator {
  return (_fn, write, work) => locks.request(name, { mode: write ? 'exclusive' : 'shared' }, work);
}

/** A host for any number of endpoints over one engine. */
export class Host {
  readonly engine: Promise<Engine>;
  readonly connections = new Set<Connection>();
  readonly #options: HostOptions;
  readonly #coordinate: Coordinator | undefined;

  constructor(options: HostOptions = {}, coordinate?: Coordinator) {
    this.#options = options;
    this.#coordinate = coordinate;
    this.engine = startEngine(options);
    this.engine.catch(() => undefined);
  }

  /** Serves one application on `port`. */
  serve(port: Endpoint): Connection {
    const connection = new Connection(port, {
      engine: this.engine,
      ...(this.#coordinate ? { coordinate: this.#coordinate } : {}),
      ...(this.#options.maxInFlight !== undefined ? { maxInFlight: this.#options.maxInFlight } : {}),
      ...('locks' in this.#options ? { locks: this.#options.locks } : {}),
      onClose: (c) => this.connections.delete(c),
    });
    this.connections.add(connection);
    return connection;
  }
}

interface ConnectEvent {
  ports: readonly MessagePort[];
}

/** Call from a SharedWorker's script: every `connect` becomes one application. */
export function hostSharedWorker(options: HostOptions = {}): Host {
  const host = new Host(options);
  globalThis.addEventListener('connect', (event) => {
    const port = (event as unknown as ConnectEvent).ports[0];
    if (port) host.serve(port);
  });
  return host;
}

/** Call from a dedicated worker's script: the page is the one application. */
export function hostDedicatedWorker(options: HostOptions = {}): Host {
  const locks = 'locks' in options ? options.locks : globalThis.navigator?.locks;
  const host = new Host(options, locks ? webLockCoordinator(locks) : undefined);
  host.serve(globalThis as unknown as Endpoint);
  return host;
}
