/**
 * CKM_AES_CTR on WebCrypto AES-CTR: encrypt/decrypt (multi-part emits whole blocks, advancing the
 * counter block itself) and wrap/unwrap. The counter may not wrap around onto values already used.
 */
import {
  CKF_DECRYPT,
  CKF_ENCRYPT,
  CKF_UNWRAP,
  CKF_WRAP,
  CKM_AES_CTR,
  CKR_DATA_LEN_RANGE,
  CKR_FUNCTION_FAILED,
  CKR_MECHANISM_PARAM_INVALID,
} from '@vhsm/pkcs11';
import { concat, own } from '../../bytes.js';
import { ckr } from '../../errors.js';
import type { CipherOperation, KeyAccess, MechanismProvider } from '../types.js';
import { AES_KEY_TYPES, AES_MAX_BYTES, AES_MIN_BYTES, requestedClass } from './aes.js';
import { unwrapAs, wrappableKey } from './keys.js';
import { AES_BLOCK, abytes, anumber, aobject, mapFailure } from './util.js';

export interface CtrCheckedParams {
  counterBits: number;
  cb: Uint8Array<ArrayBuffer>;
}

export function checkCtrParams(parameter: unknown): CtrCheckedParams {
  const p = aobject(parameter, 'CK_AES_CTR_PARAMS');
  const counterBits = anumber(p['counterBits'], 'counterBits');
  if (counterBits < 1 || counterBits > 128) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `counterBits: expected 1..128, got ${counterBits}`);
  }
  return { counterBits, cb: own(abytes(p['cb'], 'cb', { lengths: [AES_BLOCK] })) };
}

function toBig(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function fromBig(v: bigint): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(AES_BLOCK);
  for (let i = AES_BLOCK - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** The counter block `blocks` steps on: only the low `bits` bits count, wrapping modulo 2^bits. */
export function advanceCounter(cb: Uint8Array, bits: number, blocks: bigint): Uint8Array<ArrayBuffer> {
  const mask = (1n << BigInt(bits)) - 1n;
  const v = toBig(cb);
  return fromBig((v & ~mask) | (((v & mask) + blocks) & mask));
}

async function ctrOperation(key: KeyAccess, p: CtrCheckedParams, crypto: Crypto): Promise<CipherOperation> {
  const k = await key.cryptoKey({ name: 'AES-CTR' }, ['encrypt']);
  const capacity = 1n << BigInt(p.counterBits);
  let counter = p.cb;
  let used = 0n;
  let pending: Uint8Array = new Uint8Array(0);
  // One WebCrypto call per stretch that does not wrap the counter: some implementations
  // (@peculiar/webcrypto) carry into the fixed high bits instead of wrapping.
  const stretch = async (data: Uint8Array): Promise<Uint8Array> => {
    const out = await mapFailure(CKR_FUNCTION_FAILED, 'AES-CTR failed', () =>
      crypto.subtle.encrypt({ name: 'AES-CTR', counter, length: p.counterBits }, k, own(data)),
    );
    const blocks = BigInt(Math.ceil(data.length / AES_BLOCK));
    used += blocks;
    counter = advanceCounter(counter, p.counterBits, blocks);
    return new Uint8Array(out);
  };
  const apply = async (data: Uint8Array): Promise<Uint8Array> => {
    const blocks = BigInt(Math.ceil(data.length / AES_BLOCK));
    if (used + blocks > capacity) {
      throw ckr(CKR_DATA_LEN_RANGE, `data: more than 2^${p.counterBits} blocks would reuse counter values`);
    }
    const parts: Uint8Array[] = [];
    let offset = 0;
    while (offset < data.length) {
      const untilWrap = capacity - (toBig(counter) & (capacity - 1n));
      const room = untilWrap * BigInt(AES_BLOCK);
      const take = room < BigInt(data.length - offset) ? Number(room) : data.length - offset;
      parts.push(await stretch(data.subarray(offset, offset + take)));
      offset += take;
    }
    return concat(parts);
  };
  return {
    async update(data) {
      const all = concat([pending, data]);
      const whole = all.length - (all.length % AES_BLOCK);
      const out = await apply(all.subarray(0, whole));
      pending = all.slice(whole);
      return out;
    },
    async final() {
      const out = await apply(pending);
      pending = new Uint8Array(0);
      return out;
    },
  };
}

/**
 * Wrapping is one WebCrypto call, so the counter must not wrap inside it (implementations disagree
 * on wrapping); such a counter block is refused, as the caller can choose another.
 */
function checkNoWrap(p: CtrCheckedParams, length: number): void {
  const capacity = 1n << BigInt(p.counterBits);
  const room = capacity - (toBig(p.cb) & (capacity - 1n));
  if (BigInt(Math.ceil(length / AES_BLOCK)) > room) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, 'cb: the counter would wrap within the wrapped key');
  }
}

export const aesCtr: MechanismProvider<CtrCheckedParams> = {
  mechanism: CKM_AES_CTR,
  info: { minKeySize: AES_MIN_BYTES, maxKeySize: AES_MAX_BYTES, flags: CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP },
  keyTypes: AES_KEY_TYPES,
  async probe(crypto) {
    const key = await crypto.subtle.generateKey({ name: 'AES-CTR', length: 128 }, false, ['encrypt']);
    await crypto.subtle.encrypt({ name: 'AES-CTR', counter: new Uint8Array(16), length: 64 }, key, new Uint8Array(1));
    return true;
  },
  check: checkCtrParams,
  encrypt: ctrOperation,
  // CTR decryption is the same keystream XOR.
  decrypt: ctrOperation,
  async wrap(wrappingKey, key, p, crypto) {
    const wk = await wrappingKey.cryptoKey({ name: 'AES-CTR' }, ['wrapKey']);
    const target = await wrappableKey(key);
    const wrapped = new Uint8Array(
      await mapFailure(CKR_FUNCTION_FAILED, 'AES-CTR wrapping failed', () =>
        crypto.subtle.wrapKey(target.format, target.key, wk, { name: 'AES-CTR', counter: p.cb, length: p.counterBits }),
      ),
    );
    checkNoWrap(p, wrapped.length);
    return wrapped;
  },
  async unwrap(unwrappingKey, wrapped, request, p, crypto) {
    checkNoWrap(p, wrapped.length);
    const uk = await unwrappingKey.cryptoKey({ name: 'AES-CTR' }, ['unwrapKey']);
    const params: AesCtrParams = { name: 'AES-CTR', counter: p.cb, length: p.counterBits };
    return unwrapAs(request, requestedClass(request), (format, algorithm, usages) =>
      crypto.subtle.unwrapKey(format, own(wrapped), uk, params, algorithm, true, usages),
    );
  },
};
