/**
 * Figures for docs/storage.md (not assertions on time): with N private AES keys on the token and the
 * default PBKDF2 count (600 000), how long a fresh worker takes to open the token, log in, find every
 * object (unsealing their attributes) and use a key; and how many bytes a key occupies.
 *
 *   pnpm --filter @vhsm/e2e bench:persistence            (N = 1000 and 10000)
 *   BENCH_COUNTS=500 pnpm --filter @vhsm/e2e bench:persistence
 */
import type { Page } from '@playwright/test';
import {
  CKA_LABEL, CKF_RW_SESSION, CKF_SERIAL_SESSION, CKM_AES_GCM, CKU_SO, CKU_USER,
} from '@vhsm/token';
import { expect, test } from './fixtures.js';
import { call, start } from './helpers.js';

const SO_PIN = 'so-pin-bench-1';
const USER_PIN = 'user-pin-bench-1';
const RW = CKF_SERIAL_SESSION | CKF_RW_SESSION;
const COUNTS = (process.env.BENCH_COUNTS ?? '1000,10000').split(',').map(Number);
const RUNS = 3;

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
}

/** Bytes a record holds: byte strings by length, text as UTF-8, numbers as 8, booleans as 1. */
function recordBytes(value: unknown): number {
  if (value && typeof value === 'object') {
    if ('$hex' in value) return (value as { $hex: string }).$hex.length / 2;
    if ('$cryptoKey' in value) return 32;
    return Object.entries(value).reduce((n, [k, v]) => n + (Array.isArray(value) ? 0 : k.length) + recordBytes(v), 0);
  }
  if (typeof value === 'string') return new TextEncoder().encode(value).length;
  if (typeof value === 'number') return 8;
  if (typeof value === 'boolean') return 1;
  return 0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function loginOnce(page: Page, count: number) {
  await page.reload();
  const [, open] = await timed(() => start(page));
  const session = await call<number>(page, 'C_OpenSession', 0, RW);
  const [, login] = await timed(() => call(page, 'C_Login', session, CKU_USER, USER_PIN));
  const [found, find] = await timed(async () => {
    await call(page, 'C_FindObjectsInit', session, []);
    const handles = await call<number[]>(page, 'C_FindObjects', session, count + 10);
    await call(page, 'C_FindObjectsFinal', session);
    return handles;
  });
  expect(found).toHaveLength(count);
  await call(page, 'C_FindObjectsInit', session, [{ type: CKA_LABEL, value: 'bench-0' }]);
  const [key] = await call<number[]>(page, 'C_FindObjects', session, 1);
  await call(page, 'C_FindObjectsFinal', session);
  const [, use] = await timed(async () => {
    await call(page, 'C_EncryptInit', session, { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } }, key);
    await call(page, 'C_Encrypt', session, new Uint8Array(32));
  });
  return { open, login, find, use };
}

for (const count of COUNTS) {
  test(`login with ${count} private objects`, async ({ profile }, testInfo) => {
    const page = await profile.page();
    await start(page);
    await call(page, 'C_InitToken', 0, SO_PIN, 'bench');
    const so = await call<number>(page, 'C_OpenSession', 0, RW);
    await call(page, 'C_Login', so, CKU_SO, SO_PIN);
    await call(page, 'C_InitPIN', so, USER_PIN);
    await call(page, 'C_CloseSession', so);
    const usageBefore = await page.evaluate(() => window.vhsm.usage());
    const fillMs = await page.evaluate(([pin, n]) => window.vhsm.fill(pin as string, n as number), [USER_PIN, count] as const);
    const usageAfter = await page.evaluate(() => window.vhsm.usage());
    const dumped = await page.evaluate(() => window.vhsm.dump());
    const objects = dumped[0]?.stores.objects?.values ?? [];
    expect(objects).toHaveLength(count);
    const logical = objects.reduce((n: number, r) => n + recordBytes(r), 0) / count;

    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await loginOnce(page, count));
    const figures = {
      objects: count,
      'create ms/key': +(fillMs / count).toFixed(2),
      'open ms (C_Initialize, loads records)': Math.round(median(runs.map((r) => r.open))),
      'C_Login ms (PBKDF2 600000)': Math.round(median(runs.map((r) => r.login))),
      'first find ms (unseals all attributes)': Math.round(median(runs.map((r) => r.find))),
      'first use ms (unwraps one key)': Math.round(median(runs.map((r) => r.use))),
      'record bytes/key': Math.round(logical),
      'storage.estimate bytes/key': Math.round((usageAfter - usageBefore) / count),
    };
    console.log(JSON.stringify(figures));
    await testInfo.attach('figures', { body: JSON.stringify(figures, null, 2), contentType: 'application/json' });
  });
}
