/**
 * What the test page offers to Playwright (window.vhsm) and what its module worker understands.
 * Bytes cross the Playwright boundary as { $hex } objects, so tests compare them as text.
 */
export interface Hex {
  $hex: string;
}

export interface RemoteError {
  code?: number;
  message: string;
}

export interface StartOptions {
  pbkdf2Iterations?: number;
  maxPinTries?: number;
}

export type WorkerRequest =
  | { id: number; op: 'open'; options: StartOptions }
  | { id: number; op: 'call'; method: string; args: unknown[] }
  | { id: number; op: 'burst'; pin: string }
  | { id: number; op: 'fill'; pin: string; count: number }
  | { id: number; op: 'persist' };

export type WorkerReply =
  | { id: number; result: unknown }
  | { id: number; error: RemoteError }
  | { progress: number };

/** One IndexedDB database as read from the page: every record of every object store. */
export interface DumpedDatabase {
  name: string;
  version: number;
  stores: Record<string, { keys: unknown[]; values: unknown[] }>;
}

export interface VhsmPage {
  /** Start a module worker running Cryptoki over the IndexedDB store (C_Initialize done). */
  start(options?: StartOptions): Promise<void>;
  /** A C_ function in the worker; a Pkcs11Error comes back as { error: { code, message } }. */
  call(method: string, ...args: unknown[]): Promise<{ result: unknown } | { error: RemoteError }>;
  /** Start a burst of writes in the worker; `progress` counts the finished rounds. */
  burst(pin: string): void;
  progress: number;
  /** Create `count` private AES token keys in the worker (for the bench); resolves to the ms it took. */
  fill(pin: string, count: number): Promise<number>;
  stop(): void;
  dump(): Promise<DumpedDatabase[]>;
  persist(): Promise<string>;
  /** navigator.storage.estimate().usage: what this origin occupies, as the browser counts it. */
  usage(): Promise<number>;
  persistFromWorker(): Promise<unknown>;
}

declare global {
  interface Window {
    vhsm: VhsmPage;
  }
}

export function toWire(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $hex: hex(value) };
  if (value instanceof ArrayBuffer) return { $hex: hex(new Uint8Array(value)) };
  if (typeof CryptoKey !== 'undefined' && value instanceof CryptoKey) {
    return { $cryptoKey: { algorithm: value.algorithm, extractable: value.extractable, usages: value.usages } };
  }
  if (Array.isArray(value)) return value.map(toWire);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v)]));
  return value;
}

export function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value && typeof value === 'object') {
    if ('$hex' in value) return unhex((value as Hex).$hex);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromWire(v)]));
  }
  return value;
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function unhex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
}
