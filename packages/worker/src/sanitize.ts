/**
 * Boundary checks the engine cannot make itself: what a structured clone may carry that a direct
 * caller could not. The engine validates meaning (types of handles, templates, mechanisms); this
 * module only rebuilds the arguments from plain data — arrays, plain objects, Uint8Arrays and
 * primitives — within size limits, and refuses anything else with CKR_ARGUMENTS_BAD.
 */
import { CKR_ARGUMENTS_BAD, CKR_FUNCTION_NOT_SUPPORTED, isFunctionName, Pkcs11Error } from '@vhsm/pkcs11';
import { MAX_BATCH } from './protocol.js';
import type { BatchCall } from './protocol.js';

export const LIMITS = {
  /** No C_ function takes more. */
  args: 8,
  /** A nested template (CKA_WRAP_TEMPLATE) inside a template inside the argument list. */
  depth: 8,
  /** Values in one message: array elements, object fields, bytes strings. */
  nodes: 4096,
  /** Characters of one string (PINs, labels, URIs are far shorter). */
  stringLength: 65_536,
  /** Bytes of all byte strings of one message. */
  bytes: 256 * 1024 * 1024,
} as const;

/** Keys that would change an object's prototype or shadow its constructor when assigned. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

interface Budget {
  nodes: number;
  bytes: number;
}

/** Rebuilds `args` from plain data or throws a Pkcs11Error (CKR_ARGUMENTS_BAD) naming the field. */
export function sanitizeArgs(args: unknown, method: string): unknown[] {
  return argList(args, 'args', { nodes: 0, bytes: 0 }, failWith(method));
}

/**
 * A batch's `[[fn, args], …]`: at most MAX_BATCH calls, each `fn` on the C_ allow-list
 * (CKR_FUNCTION_NOT_SUPPORTED otherwise), the arguments of all calls within one message's limits.
 */
export function sanitizeBatch(calls: unknown, method: string): BatchCall[] {
  const fail = failWith(method);
  if (!Array.isArray(calls)) fail('args', 'expected an array of [fn, args]');
  const list = calls as unknown[];
  if (list.length === 0 || list.length > MAX_BATCH) fail('args', `1 to ${MAX_BATCH} calls`);
  const budget: Budget = { nodes: 0, bytes: 0 };
  const out: BatchCall[] = [];
  for (let i = 0; i < list.length; i++) {
    const call = Object.hasOwn(list, i) ? list[i] : undefined;
    if (!Array.isArray(call) || call.length !== 2) fail(`args[${i}]`, 'expected [fn, args]');
    const fn: unknown = (call as unknown[])[0];
    if (!isFunctionName(fn)) throw new Pkcs11Error(CKR_FUNCTION_NOT_SUPPORTED, method, `args[${i}][0]: not a Cryptoki function`);
    out.push([fn, argList((call as unknown[])[1], `args[${i}][1]`, budget, fail)]);
  }
  return out;
}

type Fail = (path: string, why: string) => never;

function failWith(method: string): Fail {
  return (path, why) => {
    throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, `${path}: ${why}`);
  };
}

function argList(args: unknown, path: string, budget: Budget, fail: Fail): unknown[] {
  if (!Array.isArray(args)) fail(path, 'expected an array');
  const list = args as unknown[];
  if (list.length > LIMITS.args) fail(path, `at most ${LIMITS.args} arguments`);
  const out: unknown[] = [];
  for (let i = 0; i < list.length; i++) out.push(copy(list[i], `${path}[${i}]`, 1, budget, fail));
  return out;
}

function copy(value: unknown, path: string, depth: number, budget: Budget, fail: Fail): unknown {
  if (++budget.nodes > LIMITS.nodes) fail(path, `more than ${LIMITS.nodes} values in one message`);
  switch (typeof value) {
    case 'undefined':
    case 'boolean':
    case 'number':
      return value;
    case 'string':
      if (value.length > LIMITS.stringLength) fail(path, `string longer than ${LIMITS.stringLength} characters`);
      return value;
    case 'object':
      break;
    default:
      return fail(path, `unsupported type ${typeof value}`);
  }
  if (value === null) return null;
  if (depth > LIMITS.depth) fail(path, `nested deeper than ${LIMITS.depth}`);
  if (value instanceof Uint8Array) {
    budget.bytes += value.byteLength;
    if (budget.bytes > LIMITS.bytes) fail(path, `more than ${LIMITS.bytes} bytes in one message`);
    // A view on shared memory could change while the engine works on it: take a private copy.
    return value.buffer instanceof ArrayBuffer ? value : new Uint8Array(value);
  }
  if (Array.isArray(value)) {
    // Checked before iterating: a cloned sparse array may claim 2^32-1 elements.
    if (value.length > LIMITS.nodes) fail(path, `more than ${LIMITS.nodes} elements`);
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      if (!Object.hasOwn(value, i)) fail(`${path}[${i}]`, 'missing element');
      out.push(copy(value[i], `${path}[${i}]`, depth + 1, budget, fail));
    }
    return out;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) {
    return fail(path, `unsupported object ${Object.prototype.toString.call(value)}`);
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) fail(path, `forbidden key ${key}`);
    out[key] = copy((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1, budget, fail);
  }
  return out;
}
