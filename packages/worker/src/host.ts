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

/**
 * How long, and for how many calls, one shared hold of the token lock may serve; and how long it
 * lingers once its calls are done, so that a page's next call (a round trip away) finds it held.
 */
export const SHARED_HOLD = { ms: 20, calls: 256, lingerMs: 2 } as const;

/**
 * Writers take the token lock exclusively, one call each. Readers share it, and since a lock request
 * is a round trip to the browser (it made dedicated mode ~4× slower than shared mode for small
 * operations), readers join one shared hold instead of asking each: the hold is released once its
 * calls drain and nothing came for SHARED_HOLD.lingerMs, and stops taking newcomers after
 * SHARED_HOLD.ms or .calls so a writer in another tab, queued behind it, is never starved.
 */
export function webLockCoordinator(locks: LockManager, name = TOKEN_LOCK): Coordinator {
  interface Hold {
    granted: Promise<void>;
    running: number;
    served: number;
    since: number;
    release(): void;
    open: boolean;
    linger: ReturnType<typeof setTimeout> | undefined;
  }
  let hold: Hold | undefined;
  const newHold = (): Hold => {
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    let granted!: () => void;
    let refused!: (e: unknown) => void;
    const h: Hold = {
      granted: new Promise<void>((resolve, reject) => {
        granted = resolve;
        refused = reject;
      }),
      running: 0, served: 0, since: 0, release, open: true, linger: undefined,
    };
    locks.request(name, { mode: 'shared' }, () => {
      h.since = Date.now();
      granted();
      return done;
    }).catch(refused);
    return h;
  };
  return async (_fn, write, work) => {
    if (write) return locks.request(name, { mode: 'exclusive' }, work);
    if (!hold?.open || hold.served >= SHARED_HOLD.calls || (hold.since > 0 && Date.now() - hold.since > SHARED_HOLD.ms)) {
      if (hold) hold.open = false;
      hold = newHold();
    }
    const h = hold;
    clearTimeout(h.linger);
    h.running++;
    h.served++;
    try {
      await h.granted;
      return await work();
    } finally {
      if (--h.running === 0) {
        const end = (): void => {
          if (h.running > 0) return;
          h.open = false;
          if (hold === h) hold = undefined;
          h.release();
        };
        if (h.open) h.linger = setTimeout(end, SHARED_HOLD.lingerMs);
        else end();
      }
    }
  };
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
