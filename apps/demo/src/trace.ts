// pkcs11-spy in the browser: one log of every C_ call made by the page, from any token it talks to.
// The worker connection feeds it from the client's own trace; in-page tokens (the attack lab's) are
// wrapped in a recording proxy.
import { redactArgs, redactResult } from '@vhsm/client';
import { CKR_GENERAL_ERROR, CKR_OK, ckrName, isPkcs11Error } from '@vhsm/pkcs11';
import type { CryptokiApiV3 } from '@vhsm/pkcs11';

export interface TraceEntry {
  seq: number;
  /** Which token answered: "worker", "lab:spec", "lab:strict". */
  source: string;
  fn: string;
  args: unknown[];
  /** What came back, shown without secrets (byte strings by length only). */
  result?: unknown;
  rv: string;
  code: number;
  /** Milliseconds. */
  duration: number;
  /** Milliseconds since the page loaded. */
  start: number;
}

type Listener = (entry: TraceEntry) => void;

export class TraceLog {
  readonly entries: TraceEntry[] = [];
  readonly #listeners = new Set<Listener>();
  readonly #limit: number;
  #seq = 0;

  constructor(limit = 5000) {
    this.#limit = limit;
  }

  add(entry: Omit<TraceEntry, 'seq'>): void {
    const full = { ...entry, seq: ++this.#seq };
    this.entries.push(full);
    if (this.entries.length > this.#limit) this.entries.shift();
    for (const listener of this.#listeners) listener(full);
  }

  clear(): void {
    this.entries.length = 0;
    for (const listener of this.#listeners) listener({ seq: 0, source: '', fn: '', args: [], rv: '', code: 0, duration: 0, start: 0 });
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** The page-wide trace. */
export const traceLog = new TraceLog();

/** Wraps `api` so each C_ call is recorded in `log` under `source`. */
export function traced(api: CryptokiApiV3, source: string, log: TraceLog = traceLog): CryptokiApiV3 {
  return new Proxy(api, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !property.startsWith('C_') || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const start = performance.now();
        const shownArgs = redactArgs(property, args);
        try {
          const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          log.add({ source, fn: property, args: shownArgs, result: redactResult(result), rv: ckrName(CKR_OK), code: CKR_OK, duration: performance.now() - start, start });
          return result;
        } catch (error) {
          const code = isPkcs11Error(error) ? error.code : CKR_GENERAL_ERROR;
          log.add({ source, fn: property, args: shownArgs, rv: ckrName(code), code, duration: performance.now() - start, start });
          throw error;
        }
      };
    },
  });
}
