/** Random number generation (PKCS#11 v3.0 §5.19). */
import { webcrypto } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  CKR_ARGUMENTS_BAD, CKR_RANDOM_SEED_NOT_SUPPORTED, CKR_SESSION_HANDLE_INVALID,
} from '@vhsm/token';
import { RO, expectRv, readyToken } from './helpers.js';

describe('C_GenerateRandom', () => {
  test('returns exactly the bytes asked for, from 0 to 1 MiB', async () => {
    const { p11, session } = await readyToken();
    for (const n of [0, 1, 16, 65537, 1 << 20]) expect((await p11.C_GenerateRandom(session, n)).length).toBe(n);
    await expectRv(p11.C_GenerateRandom(session, (1 << 20) + 1), CKR_ARGUMENTS_BAD);
    await expectRv(p11.C_GenerateRandom(session, -1), CKR_ARGUMENTS_BAD);
    await expectRv(p11.C_GenerateRandom(session, 1.5), CKR_ARGUMENTS_BAD);
  });

  test('outputs differ and look uniform', async () => {
    const { p11, session } = await readyToken();
    const a = await p11.C_GenerateRandom(session, 32);
    const b = await p11.C_GenerateRandom(session, 32);
    expect(a).not.toEqual(b);
    // 64 KiB: every byte value appears, none far from its expected count of 256 (chi-square, 255 dof).
    const sample = await p11.C_GenerateRandom(session, 65536);
    const counts = Array.from({ length: 256 }, () => 0);
    for (const x of sample) counts[x] = (counts[x] as number) + 1;
    const chi = counts.reduce((sum, c) => sum + (c - 256) ** 2 / 256, 0);
    expect(Math.min(...counts)).toBeGreaterThan(0);
    expect(chi).toBeLessThan(400);
  });

  test('needs no login and works in a read-only session; sessions must exist', async () => {
    const { p11, slot } = await readyToken();
    const ro = await p11.C_OpenSession(slot, RO);
    expect((await p11.C_GenerateRandom(ro, 8)).length).toBe(8);
    await expectRv(p11.C_GenerateRandom(ro + 100, 8), CKR_SESSION_HANDLE_INVALID);
  });

  test('comes from the injected Crypto', async () => {
    const fixed = {
      subtle: webcrypto.subtle,
      getRandomValues: <T extends ArrayBufferView | null>(array: T) => {
        if (array) new Uint8Array(array.buffer, array.byteOffset, array.byteLength).fill(0xab);
        return array;
      },
    } as unknown as Crypto;
    // Everything else (PBKDF2, sealing) still runs on the same WebCrypto.
    const { p11, session } = await readyToken({ crypto: fixed });
    expect(await p11.C_GenerateRandom(session, 4)).toEqual(new Uint8Array([0xab, 0xab, 0xab, 0xab]));
  });
});

describe('C_SeedRandom', () => {
  test('the platform CSPRNG cannot be seeded', async () => {
    const { p11, session } = await readyToken();
    await expectRv(p11.C_SeedRandom(session, new Uint8Array([1, 2, 3])), CKR_RANDOM_SEED_NOT_SUPPORTED);
    await expectRv(p11.C_SeedRandom(session, 'seed' as never), CKR_ARGUMENTS_BAD);
  });
});
