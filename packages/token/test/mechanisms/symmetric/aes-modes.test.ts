import { createCipheriv } from 'node:crypto';
import {
  CKA_CLASS,
  CKA_EC_PARAMS,
  CKK_AES,
  CKK_EC,
  CKK_GENERIC_SECRET,
  CKO_PRIVATE_KEY,
  CKR_DATA_LEN_RANGE,
  CKR_ENCRYPTED_DATA_LEN_RANGE,
  CKR_KEY_SIZE_RANGE,
  CKR_MECHANISM_PARAM_INVALID,
  CKR_TEMPLATE_INCONSISTENT,
  CKR_WRAPPED_KEY_INVALID,
} from '@vhsm/pkcs11';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { aesCbc } from '../../../src/mechanisms/symmetric/aes-cbc.js';
import { aesCtr, advanceCounter, checkCtrParams } from '../../../src/mechanisms/symmetric/aes-ctr.js';
import { aesEcb } from '../../../src/mechanisms/symmetric/aes-ecb.js';
import { hex, implementations, keyAccess, materialBytes, request, run, rvOf, split, toHex } from './fixture.js';

// SP 800-38A appendix F, AES-128: F.1.1 ECB, F.2.1 CBC, F.5.1 CTR.
const KEY = hex('2b7e151628aed2a6abf7158809cf4f3c');
const P = hex(
  '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710',
);
const ECB = '3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4';
const CBC_IV = hex('000102030405060708090a0b0c0d0e0f');
const CBC = '7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b273bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7';
const CTR_CB = hex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
const CTR = '874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee';

describe('CTR parameters and counter arithmetic (no crypto)', () => {
  test.each([
    [undefined],
    [CTR_CB],
    [{ counterBits: 0, cb: CTR_CB }],
    [{ counterBits: 129, cb: CTR_CB }],
    [{ counterBits: 32, cb: CTR_CB.subarray(0, 15) }],
    [{ counterBits: '32', cb: CTR_CB }],
  ])('refuses %o', async (parameter) => {
    expect(await rvOf(() => checkCtrParams(parameter))).toBe(CKR_MECHANISM_PARAM_INVALID);
  });
  test('only the low counterBits bits move, wrapping', () => {
    expect(toHex(advanceCounter(hex('000000000000000000000000000000ff'), 8, 1n))).toBe('00000000000000000000000000000000');
    expect(toHex(advanceCounter(hex('000000000000000000000000000000ff'), 9, 1n))).toBe('00000000000000000000000000000100');
    expect(toHex(advanceCounter(hex('ffffffffffffffffffffffffffffffff'), 128, 2n))).toBe('00000000000000000000000000000001');
    expect(toHex(advanceCounter(hex('aaaaaaaaaaaaaaaaaaaaaaaaffffffff'), 32, 3n))).toBe('aaaaaaaaaaaaaaaaaaaaaaaa00000002');
  });
});

describe.each(implementations)('AES modes on %s WebCrypto', (_name, crypto) => {
  const key = keyAccess(crypto, KEY, CKK_AES);

  test('probes true', async () => {
    for (const p of [aesCtr, aesCbc, aesEcb]) expect(await p.probe?.(crypto)).toBe(true);
  });

  test('ECB: SP 800-38A F.1.1, one-shot and multi-part', async () => {
    expect(toHex(await run(await aesEcb.encrypt!(key, undefined, crypto), P))).toBe(ECB);
    expect(toHex(await run(await aesEcb.encrypt!(key, undefined, crypto), ...split(P, 3, 16, 40)))).toBe(ECB);
    expect(toHex(await run(await aesEcb.decrypt!(key, undefined, crypto), hex(ECB)))).toBe(toHex(P));
    expect(toHex(await run(await aesEcb.decrypt!(key, undefined, crypto), ...split(hex(ECB), 17, 18, 63)))).toBe(toHex(P));
    expect(key.requests.every((r) => !r.extractable)).toBe(true);
  });

  test('CBC: SP 800-38A F.2.1, one-shot and multi-part emitting whole blocks', async () => {
    const iv = aesCbc.check(CBC_IV);
    expect(toHex(await run(await aesCbc.encrypt!(key, iv, crypto), P))).toBe(CBC);
    const enc = await aesCbc.encrypt!(key, iv, crypto);
    expect((await enc.update(P.subarray(0, 20))).length).toBe(16);
    expect((await enc.update(P.subarray(20))).length).toBe(48);
    expect((await enc.final()).length).toBe(0);
    expect(toHex(await run(await aesCbc.decrypt!(key, iv, crypto), hex(CBC)))).toBe(toHex(P));
    expect(toHex(await run(await aesCbc.decrypt!(key, iv, crypto), ...split(hex(CBC), 1, 16, 47)))).toBe(toHex(P));
  });

  test('CBC and ECB refuse partial blocks', async () => {
    const iv = aesCbc.check(CBC_IV);
    expect(await rvOf(run(await aesCbc.encrypt!(key, iv, crypto), P.subarray(0, 20)))).toBe(CKR_DATA_LEN_RANGE);
    expect(await rvOf(run(await aesCbc.decrypt!(key, iv, crypto), P.subarray(0, 20)))).toBe(CKR_ENCRYPTED_DATA_LEN_RANGE);
    expect(await rvOf(run(await aesEcb.encrypt!(key, undefined, crypto), P.subarray(0, 1)))).toBe(CKR_DATA_LEN_RANGE);
    expect(await rvOf(run(await aesEcb.decrypt!(key, undefined, crypto), P.subarray(0, 31)))).toBe(
      CKR_ENCRYPTED_DATA_LEN_RANGE,
    );
    expect(await rvOf(() => aesEcb.check(CBC_IV))).toBe(CKR_MECHANISM_PARAM_INVALID);
  });

  test('CTR: SP 800-38A F.5.1, one-shot and multi-part, with a partial last block', async () => {
    const p = aesCtr.check({ counterBits: 128, cb: CTR_CB });
    expect(toHex(await run(await aesCtr.encrypt!(key, p, crypto), P))).toBe(CTR);
    expect(toHex(await run(await aesCtr.encrypt!(key, p, crypto), ...split(P, 5, 21, 32, 33)))).toBe(CTR);
    expect(toHex(await run(await aesCtr.decrypt!(key, p, crypto), ...split(hex(CTR), 60)))).toBe(toHex(P));
    const partial = await run(await aesCtr.encrypt!(key, p, crypto), P.subarray(0, 50));
    expect(toHex(partial)).toBe(CTR.slice(0, 100));
  });

  test('CTR counters wrap in their low counterBits bits, whatever the implementation does', async () => {
    const cb = hex('000102030405060708090a0b0c0d0eff');
    const p = aesCtr.check({ counterBits: 8, cb });
    const data = crypto.getRandomValues(new Uint8Array(16 * 200));
    // Keystream from node:crypto ECB over explicitly wrapped counter blocks.
    const ecb = createCipheriv('aes-128-ecb', KEY, null);
    ecb.setAutoPadding(false);
    const expected = new Uint8Array(data.length);
    for (let i = 0; i < 200; i++) {
      const block = cb.slice();
      block[15] = (0xff + i) & 0xff;
      const ks = ecb.update(block);
      for (let j = 0; j < 16; j++) expected[16 * i + j] = (data[16 * i + j] ?? 0) ^ (ks[j] ?? 0);
    }
    expect(toHex(await run(await aesCtr.encrypt!(key, p, crypto), ...split(data, 7, 1000, 2049)))).toBe(toHex(expected));
    expect(toHex(await run(await aesCtr.encrypt!(key, p, crypto), data))).toBe(toHex(expected));
    // 2^8 blocks are fine; one more would reuse the first counter.
    const op = await aesCtr.encrypt!(key, p, crypto);
    await op.update(new Uint8Array(16 * 256));
    expect(await rvOf(op.update(new Uint8Array(16)))).toBe(CKR_DATA_LEN_RANGE);
    const op2 = await aesCtr.encrypt!(key, p, crypto);
    await op2.update(new Uint8Array(16 * 256));
    expect(await rvOf(op2.update(new Uint8Array(1)).then(() => op2.final()))).toBe(CKR_DATA_LEN_RANGE);
  });

  test('CBC, ECB and CTR agree with node:crypto on random data and splits (property)', async () => {
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const k = keyAccess(crypto, raw, CKK_AES);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 8 }),
        fc.array(fc.nat(128), { maxLength: 4 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        async (nBlocks, cuts, iv) => {
          const data = crypto.getRandomValues(new Uint8Array(nBlocks * 16));
          const parts = split(data, ...cuts.map((c) => Math.min(c, data.length)).sort((a, b) => a - b));
          const node = (mode: string, ivArg: Uint8Array | null) => {
            const c = createCipheriv(mode, raw, ivArg);
            c.setAutoPadding(false);
            return toHex(Buffer.concat([c.update(data), c.final()]));
          };
          expect(toHex(await run(await aesCbc.encrypt!(k, aesCbc.check(iv), crypto), ...parts))).toBe(node('aes-256-cbc', iv));
          expect(toHex(await run(await aesEcb.encrypt!(k, undefined, crypto), ...parts))).toBe(node('aes-256-ecb', null));
          expect(toHex(await run(await aesCtr.encrypt!(k, aesCtr.check({ counterBits: 128, cb: iv }), crypto), ...parts))).toBe(
            node('aes-256-ctr', iv),
          );
          const ct = hex(node('aes-256-cbc', iv));
          expect(toHex(await run(await aesCbc.decrypt!(k, aesCbc.check(iv), crypto), ...split(ct, ...cuts.map((c) => Math.min(c, ct.length)).sort((a, b) => a - b))))).toBe(toHex(data));
        },
      ),
      { numRuns: 15 },
    );
  });

  test('CBC wraps whole-block keys exactly, refuses others', async () => {
    const kek = keyAccess(crypto, KEY, CKK_AES);
    const iv = aesCbc.check(CBC_IV);
    const secret = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
    const wrapped = await aesCbc.wrap!(kek, keyAccess(crypto, secret, CKK_AES), iv, crypto);
    expect(toHex(wrapped)).toBe(toHex(await run(await aesCbc.encrypt!(kek, iv, crypto), secret)));
    const m = await aesCbc.unwrap!(kek, wrapped, request(CKK_AES), iv, crypto);
    expect(toHex(await materialBytes(crypto, m))).toBe(toHex(secret));
    // 24 bytes would need PKCS#11's zero padding.
    expect(await rvOf(aesCbc.wrap!(kek, keyAccess(crypto, secret.subarray(0, 24), CKK_AES), iv, crypto))).toBe(CKR_KEY_SIZE_RANGE);
    expect(await rvOf(aesCbc.wrap!(kek, keyAccess(crypto, secret.subarray(0, 15), CKK_GENERIC_SECRET), iv, crypto))).toBe(CKR_KEY_SIZE_RANGE);
    expect(await rvOf(aesCbc.unwrap!(kek, wrapped.subarray(0, 20), request(CKK_AES), iv, crypto))).toBe(CKR_WRAPPED_KEY_INVALID);
    expect(await rvOf(aesCbc.unwrap!(kek, wrapped.subarray(0, 16), request(CKK_AES, { [CKA_CLASS]: CKO_PRIVATE_KEY }), iv, crypto))).toBe(CKR_TEMPLATE_INCONSISTENT);
    expect(await rvOf(aesCbc.unwrap!(kek, wrapped.subarray(0, 16).fill(0), request(CKK_EC, { [CKA_CLASS]: CKO_PRIVATE_KEY, [CKA_EC_PARAMS]: hex('06082a8648ce3d030107') }), iv, crypto))).toBe(CKR_WRAPPED_KEY_INVALID);
  });

  test('CTR wraps and unwraps a secret key', async () => {
    const kek = keyAccess(crypto, KEY, CKK_AES);
    const p = aesCtr.check({ counterBits: 32, cb: CTR_CB });
    const secret = hex('00112233445566778899');
    const wrapped = await aesCtr.wrap!(kek, keyAccess(crypto, secret, CKK_GENERIC_SECRET), p, crypto);
    expect(toHex(wrapped)).toBe(toHex(await run(await aesCtr.encrypt!(kek, p, crypto), secret)));
    const m = await aesCtr.unwrap!(kek, wrapped, request(CKK_GENERIC_SECRET), p, crypto);
    expect(toHex(await materialBytes(crypto, m))).toBe(toHex(secret));
    // A counter that would wrap inside the key is refused rather than left to the implementation.
    const wrapping = aesCtr.check({ counterBits: 4, cb: hex('0000000000000000000000000000000f') });
    const long = keyAccess(crypto, new Uint8Array(17), CKK_GENERIC_SECRET);
    expect(await rvOf(aesCtr.wrap!(kek, long, wrapping, crypto))).toBe(CKR_MECHANISM_PARAM_INVALID);
    expect(await rvOf(aesCtr.unwrap!(kek, new Uint8Array(17), request(CKK_GENERIC_SECRET), wrapping, crypto))).toBe(
      CKR_MECHANISM_PARAM_INVALID,
    );
  });
});

test('ECB, CBC and CTR agree byte for byte across the two implementations', async () => {
  const [[, a], [, b]] = implementations as [[string, Crypto], [string, Crypto]];
  const data = a.getRandomValues(new Uint8Array(96));
  const ka = keyAccess(a, KEY, CKK_AES);
  const kb = keyAccess(b, KEY, CKK_AES);
  const ctr = aesCtr.check({ counterBits: 16, cb: CTR_CB });
  const iv = aesCbc.check(CBC_IV);
  expect(toHex(await run(await aesEcb.encrypt!(ka, undefined, a), data))).toBe(toHex(await run(await aesEcb.encrypt!(kb, undefined, b), data)));
  expect(toHex(await run(await aesCbc.encrypt!(ka, iv, a), data))).toBe(toHex(await run(await aesCbc.encrypt!(kb, iv, b), data)));
  expect(toHex(await run(await aesCtr.encrypt!(ka, ctr, a), data))).toBe(toHex(await run(await aesCtr.encrypt!(kb, ctr, b), data)));
});
