/** Assertion helpers shared by the symmetric providers (every failure names its field), and a multi-part buffer. */
import { CKR_MECHANISM_PARAM_INVALID } from '@vhsm/pkcs11';
import { concat, own } from '../../bytes.js';
import { CkrError, ckr } from '../../errors.js';
import type { CipherOperation } from '../types.js';

export const AES_BLOCK = 16;

/** A plain object parameter (not null, not an array); `field` names it in the error. */
export function aobject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `${field}: expected an object`);
  }
  return value as Record<string, unknown>;
}

/** A Uint8Array, optionally of one of `lengths` or within [min, max]. */
export function abytes(
  value: unknown,
  field: string,
  constraint?: { lengths?: readonly number[]; min?: number; max?: number },
): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `${field}: expected a Uint8Array`);
  }
  const n = value.length;
  if (constraint?.lengths && !constraint.lengths.includes(n)) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `${field}: expected ${constraint.lengths.join(' or ')} bytes, got ${n}`);
  }
  if (constraint?.min !== undefined && n < constraint.min) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `${field}: expected at least ${constraint.min} bytes, got ${n}`);
  }
  if (constraint?.max !== undefined && n > constraint.max) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `${field}: expected at most ${constraint.max} bytes, got ${n}`);
  }
  return value;
}

/** A non-negative safe integer. */
export function anumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `${field}: expected a non-negative integer`);
  }
  return value;
}

export function aboolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw ckr(CKR_MECHANISM_PARAM_INVALID, `${field}: expected a boolean`);
  return value;
}

/** For mechanisms without a parameter: absent, null or an empty byte string. */
export function anone(value: unknown, field: string): undefined {
  if (value === undefined || value === null || (value instanceof Uint8Array && value.length === 0)) return undefined;
  throw ckr(CKR_MECHANISM_PARAM_INVALID, `${field}: this mechanism takes no parameter`);
}

/**
 * Runs a WebCrypto call and turns anything it throws into `code` (a CkrError passes through), so no
 * DOMException reaches the engine. The detail names the operation, never data.
 */
export async function mapFailure<T>(code: number, detail: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof CkrError) throw e;
    throw ckr(code, detail);
  }
}

/** Collects the chunks of a multi-part operation that WebCrypto can only do in one shot. */
export class Buffered {
  private chunks: Uint8Array<ArrayBuffer>[] = [];
  push(data: Uint8Array): void {
    this.chunks.push(own(data));
  }
  take(): Uint8Array<ArrayBuffer> {
    // One chunk (a single-part call) is already a private copy: no second copy of the whole input.
    const all = this.chunks.length === 1 ? (this.chunks[0] as Uint8Array<ArrayBuffer>) : concat(this.chunks);
    this.chunks = [];
    return all;
  }
}

/** A cipher operation WebCrypto does in one shot: updates are gathered, `run` gets all of it at final. */
export function oneShot(run: (data: Uint8Array<ArrayBuffer>) => Promise<Uint8Array>): CipherOperation {
  const input = new Buffered();
  return {
    update: async (data) => {
      input.push(data);
      return new Uint8Array(0);
    },
    final: () => run(input.take()),
    // A view on shared memory could change while WebCrypto reads it: that one is copied.
    once: (data) => run(data.buffer instanceof ArrayBuffer ? (data as Uint8Array<ArrayBuffer>) : own(data)),
  };
}
