// pkcs11-spy in the browser: one log of every C_ call made by the page, from any token it talks to.
// The worker connection feeds it from the client's own trace; in-page tokens (the attack lab's) are
// wrapped in a recording proxy.
import {
  CKA_COEFFICIENT, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_PRIME_1, CKA_PRIME_2, CKA_PRIVATE_EXPONENT, CKA_VALUE,
  CKR_OK, ckrName, isPkcs11Error, CKR_GENERAL_ERROR,
} from '@vhsm/pkcs11';
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

export const REDACTED = '<redacted>';

/** Argument positions that hold PINs. */
const PIN_ARGS: Readonly<Record<string, readonly number[]>> = {
  C_Login: [2], C_LoginUser: [2], C_InitToken: [1], C_InitPIN: [1], C_SetPIN: [1, 2],
};
/** Attributes whose value is key material. */
const SECRET_ATTRIBUTES: ReadonlySet<number> = new Set([
  CKA_VALUE, CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT,
]);
const SECRET_FIELDS: ReadonlySet<string> = new Set(['password']);
/** Bytes of an argument shown before the ellipsis. Results show lengths only: a decrypt may return key bytes. */
const PREVIEW = 16;

/** Arguments as shown in the trace: PINs and key material replaced, byte strings abbreviated. */
export function redactArgs(fn: string, args: readonly unknown[]): unknown[] {
  const pins = PIN_ARGS[fn] ?? [];
  return args.map((arg, i) => (pins.includes(i) && arg !== undefined ? REDACTED : show(arg, 0, true)));
}

/** A result as shown in the trace: byte strings by length only, key-material attributes hidden. */
export function redactResult(value: unknown): unknown {
  return show(value, 0, false);
}

function show(value: unknown, depth: number, preview: boolean): unknown {
  if (value instanceof Uint8Array) {
    if (!preview || value.length === 0) return `<${value.length} bytes>`;
    const head = Array.from(value.subarray(0, PREVIEW), (b) => b.toString(16).padStart(2, '0')).join('');
    return `<${value.length} bytes ${head}${value.length > PREVIEW ? '…' : ''}>`;
  }
  if (depth > 8 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => show(v, depth + 1, preview));
  const record = value as Record<string, unknown>;
  const secretAttribute = typeof record['type'] === 'number' && SECRET_ATTRIBUTES.has(record['type']);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(record)) {
    out[key] = (secretAttribute && key === 'value' && v !== undefined) || SECRET_FIELDS.has(key) ? REDACTED : show(v, depth + 1, preview);
  }
  return out;
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
