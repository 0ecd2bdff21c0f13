/**
 * The worker path in Chromium: connect() to the packaged SharedWorker, the facade against the
 * page's own crypto.subtle, two tabs on one token, reload, forged messages, handle isolation.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.js';

// CK_RVs (PKCS#11 v3.0 header values; the spec runs in Node without building the packages).
const CKR_ARGUMENTS_BAD = 0x7;
const CKR_FUNCTION_NOT_SUPPORTED = 0x54;
const CKR_KEY_HANDLE_INVALID = 0x60;
const CKR_PIN_INCORRECT = 0xa0;
const CKR_SESSION_HANDLE_INVALID = 0xb3;
const CKR_CRYPTOKI_NOT_INITIALIZED = 0x190;

const vhsm = (page: Page) => ({
  connect: (policy?: 'spec') => page.evaluate(([p]) => window.vhsmTest.connect(p), [policy] as const),
  initToken: () => page.evaluate(() => window.vhsmTest.initToken()),
  login: () => page.evaluate(() => window.vhsmTest.login()),
});

test('facade outputs match the page\'s own crypto.subtle for every algorithm', async ({ tabs }) => {
  const page = await tabs.open();
  // The 'spec' policy: WebCrypto's deriveBits and imported wrapping keys are refused by 'strict'.
  await vhsm(page).connect('spec');
  await vhsm(page).initToken();
  await vhsm(page).login();
  const results = await page.evaluate(() => window.vhsmTest.facadeChecks());
  expect(results.length).toBeGreaterThanOrEqual(29);
  expect(results.filter((r) => r.error !== null)).toEqual([]);
});

test('two tabs run 1 000 operations each on one token: no lost update, exact PIN counter', async ({ tabs }) => {
  test.setTimeout(240_000);
  const a = await tabs.open();
  const b = await tabs.open();
  await vhsm(a).connect();
  await vhsm(b).connect();
  await vhsm(a).initToken();
  // 4 + 4 wrong PINs raced from two tabs: 8 failures of 10 → count low, not yet the final try.
  const [codesA, codesB] = await Promise.all([a.evaluate(() => window.vhsmTest.wrongLogins(4)), b.evaluate(() => window.vhsmTest.wrongLogins(4))]);
  expect([...codesA, ...codesB].every((c) => c === CKR_PIN_INCORRECT)).toBe(true);
  expect(await a.evaluate(() => window.vhsmTest.pinFlags())).toEqual({ low: true, finalTry: false, locked: false });
  await b.evaluate(() => window.vhsmTest.wrongLogins(1));
  expect(await a.evaluate(() => window.vhsmTest.pinFlags())).toEqual({ low: true, finalTry: true, locked: false });
  // One at a time: an attempt in flight counts until it succeeds, so a second one on the final try is refused.
  const sa = await vhsm(a).login();
  const sb = await vhsm(b).login();
  expect(await b.evaluate(() => window.vhsmTest.pinFlags())).toEqual({ low: false, finalTry: false, locked: false });
  const made = await Promise.all([
    a.evaluate(([s]) => window.vhsmTest.createObjects(s, 'a', 1000), [sa] as const),
    b.evaluate(([s]) => window.vhsmTest.createObjects(s, 'b', 1000), [sb] as const),
  ]);
  expect(made).toEqual([1000, 1000]);
  const labels = await a.evaluate(([s]) => window.vhsmTest.dataLabels(s), [sa] as const);
  expect(labels.length).toBe(2000);
  expect(new Set(labels).size).toBe(2000);
  expect(await b.evaluate(([s]) => window.vhsmTest.dataLabels(s).then((l) => l.length), [sb] as const)).toBe(2000);
});

test('a reload keeps the stored keys', async ({ tabs }) => {
  const page = await tabs.open();
  await vhsm(page).connect();
  await vhsm(page).initToken();
  await vhsm(page).login();
  const stored = await page.evaluate(() => window.vhsmTest.storeKey());
  await page.reload();
  await page.waitForFunction(() => 'vhsmTest' in window);
  await vhsm(page).connect();
  await vhsm(page).login();
  expect(await page.evaluate(([id, ct]) => window.vhsmTest.decryptWithStored(id, ct), [stored.id, stored.ciphertext] as const)).toBe('kept');
});

test('forged raw postMessages get a CK_RV and the worker keeps serving', async ({ tabs }) => {
  const page = await tabs.open();
  const { replies, after } = await page.evaluate(() => window.vhsmTest.forge());
  expect(replies).toHaveLength(15);
  for (const reply of replies) {
    expect(reply.ok).toBe(false);
    expect(reply.name).toBe('Pkcs11Error');
  }
  const byId = new Map(replies.map((r) => [r.id, r.code]));
  expect(byId.get(1)).toBe(CKR_FUNCTION_NOT_SUPPORTED);
  expect(byId.get(2)).toBe(CKR_FUNCTION_NOT_SUPPORTED);
  for (const id of [3, 4, 5, 6, 7]) expect(byId.get(id), `id ${id}`).toBe(CKR_ARGUMENTS_BAD);
  expect(byId.get(8)).toBe(CKR_CRYPTOKI_NOT_INITIALIZED);
  expect(byId.get(9)).toBe(CKR_FUNCTION_NOT_SUPPORTED);
  // 'C_Initialize', 42, null, and the three elements of the frame [1, 2, 3].
  expect(replies.filter((r) => r.id === null).map((r) => r.code)).toEqual(Array.from({ length: 6 }, () => CKR_ARGUMENTS_BAD));
  expect(after).toMatchObject({ id: 100, ok: true });
  // And the packaged worker still serves this page through connect().
  await vhsm(page).connect();
  expect(await page.evaluate(() => window.vhsmTest.pinFlags())).toMatchObject({ locked: false });
});

test('one tab cannot use another tab\'s handles', async ({ tabs }) => {
  const a = await tabs.open();
  const b = await tabs.open();
  await vhsm(a).connect();
  await vhsm(b).connect();
  await vhsm(a).initToken();
  // The facade's non-extractable keys are private objects: a's user logs in first.
  await vhsm(a).login();
  const { session, key } = await a.evaluate(() => window.vhsmTest.sessionKey());
  const result = await b.evaluate(([s, k]) => window.vhsmTest.useForeignHandles(s, k), [session, key] as const);
  expect(result).toEqual({ foreignSession: CKR_SESSION_HANDLE_INVALID, foreignKey: CKR_KEY_HANDLE_INVALID, ownWorks: 0 });
});

test('the trace shows calls with the PIN redacted', async ({ tabs }) => {
  const page = await tabs.open();
  await vhsm(page).connect();
  await vhsm(page).initToken();
  const records = await page.evaluate(() => window.vhsmTest.traceSample());
  expect(records.map((r) => (r as { fn: string }).fn)).toEqual(['C_OpenSession', 'C_Login']);
  expect(records[1]).toMatchObject({ fn: 'C_Login', rv: 'CKR_OK', code: 0, args: [expect.any(Number), 1, '<redacted>'] });
  expect(JSON.stringify(records)).not.toContain('user-pin-e2e-1');
});

test('dedicated mode: two tabs, each with its own worker, share the token through IndexedDB', async ({ tabs }) => {
  const a = await tabs.open();
  const b = await tabs.open();
  await a.evaluate(() => window.vhsmTest.connectDedicated());
  await vhsm(a).initToken();
  const sa = await vhsm(a).login();
  expect(await a.evaluate(([s]) => window.vhsmTest.createObjects(s, 'a', 20), [sa] as const)).toBe(20);
  await b.evaluate(() => window.vhsmTest.connectDedicated());
  const sb = await vhsm(b).login();
  expect(await b.evaluate(([s]) => window.vhsmTest.createObjects(s, 'b', 20), [sb] as const)).toBe(20);
  expect((await a.evaluate(([s]) => window.vhsmTest.dataLabels(s), [sa] as const)).length).toBe(40);
  await a.evaluate(() => window.vhsmTest.close());
  await b.evaluate(() => window.vhsmTest.close());
});
