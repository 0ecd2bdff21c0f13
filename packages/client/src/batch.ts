/**
 * batch(): several C_ calls in one message to the worker and one reply back, run in order, so
 * Init + operation (or any short sequence on one session) costs one round trip instead of one per
 * call. On a Cryptoki that is not remote (a Cryptoki in the same thread) the calls simply run one
 * after the other, with the same results and the same failure.
 */
import type { CryptokiApiV3, FunctionName, Pkcs11Error } from '@vhsm/pkcs11';
import type { BatchCall } from '@vhsm/worker/protocol';
import { remoteOf } from './remote.js';

/** One call: the function name, then its arguments, e.g. `['C_SignInit', session, mechanism, key]`. */
export type Pkcs11Call = { [F in FunctionName]: readonly [F, ...Parameters<CryptokiApiV3[F]>] }[FunctionName];

/** The results of `T`'s calls, in order. */
export type Pkcs11Results<T extends readonly Pkcs11Call[]> = {
  -readonly [K in keyof T]: T[K] extends readonly [infer F extends FunctionName, ...unknown[]] ? Awaited<ReturnType<CryptokiApiV3[F]>> : never;
};

export interface BatchOptions {
  /**
   * ArrayBuffers of the arguments to hand over to the worker instead of copying them (they are
   * detached on this side). Only for buffers the caller will not touch again.
   */
  transfer?: Transferable[];
}

/** A batch failure: the first failing call's Pkcs11Error, with `index` naming that call. */
export type BatchError = Pkcs11Error & { readonly index: number };

/**
 * Runs `calls` in order and resolves with their results; the first failure rejects (as a
 * `BatchError`) and the calls after it do not run.
 */
export async function batch<const T extends readonly Pkcs11Call[]>(pkcs11: CryptokiApiV3, calls: T, options: BatchOptions = {}): Promise<Pkcs11Results<T>> {
  const remote = remoteOf(pkcs11);
  if (remote) {
    const wire = calls.map((call): BatchCall => [call[0], call.slice(1)]);
    return (await remote.batch(wire, options.transfer)) as Pkcs11Results<T>;
  }
  const results: unknown[] = [];
  for (let index = 0; index < calls.length; index++) {
    const [fn, ...args] = calls[index] as Pkcs11Call;
    try {
      results.push(await (pkcs11[fn] as (...a: unknown[]) => Promise<unknown>).apply(pkcs11, args));
    } catch (e) {
      if (typeof e === 'object' && e !== null) Object.defineProperty(e, 'index', { value: index });
      throw e;
    }
  }
  return results as Pkcs11Results<T>;
}
