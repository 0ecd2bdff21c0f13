/**
 * Argument checks at the Cryptoki boundary. Everything a caller passes is untrusted (it may have
 * crossed a worker boundary): wrong shapes answer CKR_ARGUMENTS_BAD, never a TypeError.
 */
import { CKR_ARGUMENTS_BAD, CKR_MECHANISM_INVALID } from '@vhsm/pkcs11';
import type { Mechanism } from '@vhsm/pkcs11';
import { ckr } from './errors.js';

/** 1 GiB: larger inputs are refused before any work is done. */
export const MAX_DATA_BYTES = 1 << 30;

export function handleArg(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw ckr(CKR_ARGUMENTS_BAD, `${name}: expected a handle number`);
  }
  return value;
}

export function ulongArg(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw ckr(CKR_ARGUMENTS_BAD, `${name}: expected an integer 0..2^32-1`);
  }
  return value;
}

export function bytesArg(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw ckr(CKR_ARGUMENTS_BAD, `${name}: expected a Uint8Array`);
  if (value.length > MAX_DATA_BYTES) throw ckr(CKR_ARGUMENTS_BAD, `${name}: larger than 1 GiB`);
  return value;
}

export function stringArg(value: unknown, name: string): string {
  if (typeof value !== 'string') throw ckr(CKR_ARGUMENTS_BAD, `${name}: expected a string`);
  return value;
}

export function mechanismArg(value: unknown): Mechanism {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw ckr(CKR_ARGUMENTS_BAD, 'mechanism: expected { mechanism, parameter? }');
  }
  const type: unknown = Object.hasOwn(value, 'mechanism') ? (value as Mechanism).mechanism : undefined;
  if (typeof type !== 'number' || !Number.isInteger(type) || type < 0 || type > 0xffffffff) {
    throw ckr(CKR_MECHANISM_INVALID, 'mechanism.mechanism: expected a CKM_ number');
  }
  const parameter: unknown = Object.hasOwn(value, 'parameter') ? (value as Mechanism).parameter : undefined;
  return parameter === undefined ? { mechanism: type } : { mechanism: type, parameter: parameter as NonNullable<Mechanism['parameter']> };
}
