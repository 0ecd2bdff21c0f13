/**
 * Opt-in record of every C_ call, like OpenSC's pkcs11-spy: function, arguments (PINs, key
 * material and passwords redacted), CK_RV name and duration. Byte strings show their length and a
 * short hex preview only.
 */
import {
  CKA_COEFFICIENT, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_PRIME_1, CKA_PRIME_2, CKA_PRIVATE_EXPONENT,
  CKA_VALUE, ckrName,
} from '@vhsm/pkcs11';

export interface TraceRecord {
  /** The C_ function. */
  fn: string;
  /** Arguments as shown to a person: secrets replaced by "<redacted>", byte strings abbreviated. */
  args: unknown[];
  /** CKR_OK or the CK_RV name of the failure. */
  rv: string;
  /** The CK_RV number. */
  code: number;
  /** Wall time of the round trip, in milliseconds. */
  duration: number;
  /** performance.now() (or Date.now()) when the call started. */
  start: number;
}

export interface Trace {
  readonly enabled: boolean;
  enable(): void;
  disable(): void;
  /** Records so far (oldest first, at most `limit`). */
  readonly records: readonly TraceRecord[];
  clear(): void;
  /** Called with each new record; returns the unsubscribe function. */
  subscribe(listener: (record: TraceRecord) => void): () => void;
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

/** Mechanism parameter fields that are secrets (CKM_PKCS5_PBKD2's password). */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['password']);

const PREVIEW_BYTES = 16;

export function redactArgs(fn: string, args: readonly unknown[]): unknown[] {
  const pins = PIN_ARGS[fn] ?? [];
  return args.map((arg, i) => (pins.includes(i) && arg !== undefined ? REDACTED : show(arg, 0, true)));
}

/**
 * A result as a trace may show it: byte strings by length only (a decryption or an unwrapped
 * blob may be key bytes), key-material attributes hidden.
 */
export function redactResult(value: unknown): unknown {
  return show(value, 0, false);
}

function show(value: unknown, depth: number, preview: boolean): unknown {
  if (value instanceof Uint8Array) {
    if (!preview) return `<${value.length} bytes>`;
    const hex = Array.from(value.subarray(0, PREVIEW_BYTES), (b) => b.toString(16).padStart(2, '0')).join('');
    return `<${value.length} bytes${value.length ? ` ${hex}${value.length > PREVIEW_BYTES ? '…' : ''}` : ''}>`;
  }
  if (depth > 8 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => show(v, depth + 1, preview));
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  // A template entry { type, value }: hide the value of key-material attributes.
  const secretAttribute = typeof record['type'] === 'number' && SECRET_ATTRIBUTES.has(record['type']) && 'value' in record;
  for (const [key, v] of Object.entries(record)) {
    out[key] = (secretAttribute && key === 'value') || SECRET_FIELDS.has(key) ? REDACTED : show(v, depth + 1, preview);
  }
  return out;
}

export class CallTrace implements Trace {
  #enabled: boolean;
  readonly #records: TraceRecord[] = [];
  readonly #listeners = new Set<(record: TraceRecord) => void>();
  readonly #limit: number;

  constructor(enabled = false, limit = 10_000) {
    this.#enabled = enabled;
    this.#limit = limit;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  enable(): void {
    this.#enabled = true;
  }

  disable(): void {
    this.#enabled = false;
  }

  get records(): readonly TraceRecord[] {
    return this.#records;
  }

  clear(): void {
    this.#records.length = 0;
  }

  subscribe(listener: (record: TraceRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Records one finished call (only when enabled). */
  record(fn: string, args: readonly unknown[], code: number, start: number, end: number): void {
    if (!this.#enabled) return;
    const record: TraceRecord = { fn, args: redactArgs(fn, args), rv: ckrName(code), code, duration: end - start, start };
    this.#records.push(record);
    if (this.#records.length > this.#limit) this.#records.shift();
    for (const listener of this.#listeners) listener(record);
  }
}
