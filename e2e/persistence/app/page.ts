/** The test page: starts the worker, relays C_ calls, dumps this origin's IndexedDB. */
import { requestPersistentStorage } from '@vhsm/store-idb';
import { fromWire, toWire } from './protocol.js';
import type { DumpedDatabase, RemoteError, StartOptions, VhsmPage, WorkerReply, WorkerRequest } from './protocol.js';

type Pending = { resolve: (reply: { result: unknown } | { error: RemoteError }) => void };
type Outgoing = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, Pending>();

function send(message: Outgoing): Promise<{ result: unknown } | { error: RemoteError }> {
  if (!worker) throw new Error('no worker: call start() first');
  const id = nextId++;
  const reply = new Promise<{ result: unknown } | { error: RemoteError }>((resolve) => pending.set(id, { resolve }));
  worker.postMessage({ ...message, id });
  return reply;
}

function open(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(name);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function all<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

const vhsm: VhsmPage = {
  progress: 0,

  async start(options: StartOptions = {}) {
    worker?.terminate();
    worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      const reply = event.data;
      if ('progress' in reply) {
        vhsm.progress = reply.progress;
        return;
      }
      const waiting = pending.get(reply.id);
      pending.delete(reply.id);
      waiting?.resolve('error' in reply ? { error: reply.error } : { result: toWire(reply.result) });
    };
    worker.onerror = (event) => console.error(`worker error: ${event.message}`);
    const started = await send({ op: 'open', options });
    if ('error' in started) throw new Error(`start: ${started.error.message}`);
  },

  async call(method: string, ...args: unknown[]) {
    return send({ op: 'call', method, args: fromWire(args) as unknown[] });
  },

  burst(pin: string) {
    vhsm.progress = 0;
    void send({ op: 'burst', pin }).then((reply) => {
      if ('error' in reply) console.error(`burst: ${reply.error.message}`);
    });
  },

  async fill(pin: string, count: number) {
    const reply = await send({ op: 'fill', pin, count });
    if ('error' in reply) throw new Error(`fill: ${reply.error.message}`);
    return reply.result as number;
  },

  stop() {
    worker?.terminate();
    worker = undefined;
    pending.clear();
  },

  async dump() {
    const out: DumpedDatabase[] = [];
    for (const info of await indexedDB.databases()) {
      if (!info.name) continue;
      const db = await open(info.name);
      const stores: DumpedDatabase['stores'] = {};
      for (const name of db.objectStoreNames) {
        const store = db.transaction(name).objectStore(name);
        const [keys, values] = await Promise.all([all(store.getAllKeys()), all(store.getAll())]);
        stores[name] = { keys: toWire(keys) as unknown[], values: toWire(values) as unknown[] };
      }
      out.push({ name: info.name, version: db.version, stores });
      db.close();
    }
    return out;
  },

  persist: () => requestPersistentStorage(),

  async usage() {
    return (await navigator.storage.estimate()).usage ?? 0;
  },

  async persistFromWorker() {
    const reply = await send({ op: 'persist' });
    return 'error' in reply ? reply.error : reply.result;
  },
};

window.vhsm = vhsm;
